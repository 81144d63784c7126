"""An OpenAI-compatible images API: `POST /v1/images/generations` returns real PNGs as b64_json;
`POST /v1/images/edits` (gpt-image models) and `POST /v1/images/variations` (dall-e-2) take the
source image as multipart form data, as OpenAI does, and answer with a picture made from it;
`POST /v1/moderations` flags inputs that contain a word of `flag_words` (as violence).

Switches for the next calls: "ok", "429", "500", "content_policy", "hang", "garbage".
"""

import asyncio
import base64
import io
import time
from collections import deque

from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.standins.server import ThreadedServer


def png(size: str, colour: tuple[int, int, int] = (40, 90, 200)) -> bytes:
    width, height = (int(n) for n in size.split("x"))
    img = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(img).ellipse(
        (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(250, 200, 60)
    )
    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _error(
    status: int, message: str, code: str | None, kind: str, headers: dict | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


class OpenAIStandIn:
    """The stand-in; `script(...)` queues behaviours, `requests` records what arrived."""

    def __init__(self, hang_seconds: float = 30.0) -> None:
        self.behaviours: deque[str] = deque()
        self.requests: list[dict] = []
        self.hang_seconds = hang_seconds
        self._stopping = False
        self.flag_words: set[str] = {"forbidden"}
        self.moderation_requests: list[dict] = []
        self.moderation_down = False
        app = Starlette(
            routes=[
                Route("/v1/images/generations", self._generate, methods=["POST"]),
                Route("/v1/images/edits", self._edit, methods=["POST"]),
                Route("/v1/images/variations", self._variation, methods=["POST"]),
                Route("/v1/moderations", self._moderate, methods=["POST"]),
            ]
        )
        self._server = ThreadedServer(app)

    def script(self, *behaviours: str) -> None:
        """Queue behaviours for the next calls (then back to "ok")."""
        self.behaviours.extend(behaviours)

    @property
    def base_url(self) -> str:
        return f"{self._server.base_url}/v1"

    async def _moderate(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.moderation_requests.append({"json": body, "headers": dict(request.headers)})
        if self.moderation_down:
            return _error(500, "The server had an error.", None, "server_error")
        text = body["input"] if isinstance(body["input"], str) else " ".join(body["input"])
        flagged = any(word in text.lower() for word in self.flag_words)
        names = [
            "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
            "illicit/violent", "self-harm", "self-harm/instructions", "self-harm/intent",
            "sexual", "sexual/minors", "violence", "violence/graphic",
        ]  # fmt: skip
        categories = {name: flagged and name.startswith("violence") for name in names}
        return JSONResponse(
            {
                "id": "modr-standin",
                "model": body.get("model", "omni-moderation-latest"),
                "results": [
                    {
                        "flagged": flagged,
                        "categories": categories,
                        "category_scores": {
                            n: 0.9 if hit else 0.01 for n, hit in categories.items()
                        },
                        "category_applied_input_types": {n: ["text"] for n in names},
                    }
                ],
            }
        )

    async def _multipart(self, request: Request, kind: str) -> tuple[dict, dict[str, bytes]]:
        """Record a multipart request: its plain fields and its files (name -> bytes)."""
        form = await request.form()
        fields: dict = {}
        files: dict[str, bytes] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                fields[name] = value
            else:
                files[name] = await value.read()
        self.requests.append(
            {"path": kind, "form": fields, "files": files, "headers": dict(request.headers)}
        )
        return fields, files

    def _from_source(self, source: bytes, size: str) -> bytes:
        """The source image at the requested size, with the stand-in's mark in the middle."""
        width, height = (int(n) for n in size.split("x"))
        with Image.open(io.BytesIO(source)) as img:
            img = img.convert("RGB").resize((width, height))
        ImageDraw.Draw(img).ellipse(
            (width // 3, height // 3, 2 * width // 3, 2 * height // 3), fill=(250, 200, 60)
        )
        out = io.BytesIO()
        img.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    @staticmethod
    def _png_or_none(data: bytes | None) -> tuple[int, int] | None:
        if not data:
            return None
        try:
            with Image.open(io.BytesIO(data)) as img:
                return img.size if img.format == "PNG" else None
        except OSError:
            return None

    def _answer(self, data: bytes) -> JSONResponse:
        return JSONResponse(
            {"created": int(time.time()), "data": [{"b64_json": base64.b64encode(data).decode()}]}
        )

    async def _edit(self, request: Request) -> JSONResponse:
        fields, files = await self._multipart(request, "edits")
        source = files.get("image") or files.get("image[]")
        if self._png_or_none(source) is None:
            return _error(
                400, "Invalid image file or mode for image 1.", "invalid_image_file",
                "invalid_request_error",
            )  # fmt: skip
        if not fields.get("prompt"):
            return _error(
                400, "Missing required parameter: 'prompt'.", "missing_required_parameter",
                "invalid_request_error",
            )  # fmt: skip
        if not str(fields.get("model", "")).startswith("gpt-image"):
            return _error(
                400, f"Invalid value: '{fields.get('model')}'. Value must be 'gpt-image-1'.",
                "invalid_value", "invalid_request_error",
            )  # fmt: skip
        behaviour = self.behaviours.popleft() if self.behaviours else "ok"
        if behaviour == "content_policy":
            return _error(
                400, "Your request was rejected by the safety system.",
                "content_policy_violation", "invalid_request_error",
            )  # fmt: skip
        assert source is not None
        return self._answer(self._from_source(source, fields.get("size", "1024x1024")))

    async def _variation(self, request: Request) -> JSONResponse:
        fields, files = await self._multipart(request, "variations")
        dims = self._png_or_none(files.get("image"))
        if dims is None or dims[0] != dims[1]:
            return _error(
                400, "Uploaded image must be a PNG and square.", "invalid_image_format",
                "invalid_request_error",
            )  # fmt: skip
        size = fields.get("size", "1024x1024")
        if fields.get("model", "dall-e-2") != "dall-e-2" or size not in (
            "256x256", "512x512", "1024x1024",
        ):  # fmt: skip
            return _error(
                400, "Invalid value for 'size' or 'model' in a variation request.",
                "invalid_value", "invalid_request_error",
            )  # fmt: skip
        return self._answer(self._from_source(files["image"], size))

    async def _generate(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"json": body, "headers": dict(request.headers)})
        behaviour = self.behaviours.popleft() if self.behaviours else "ok"
        if behaviour == "429":
            return _error(
                429,
                "Rate limit reached for images.",
                "rate_limit_exceeded",
                "requests",
                {"retry-after": "1"},
            )
        if behaviour == "500":
            return _error(
                500, "The server had an error while processing your request.", None, "server_error"
            )
        if behaviour == "content_policy":
            return _error(
                400,
                "Your request was rejected by the safety system.",
                "content_policy_violation",
                "invalid_request_error",
            )
        if behaviour == "hang":
            deadline = time.monotonic() + self.hang_seconds
            while time.monotonic() < deadline and not self._stopping:
                await asyncio.sleep(0.05)
        data = (
            b"\x89PNG but not really"
            if behaviour == "garbage"
            else png(body.get("size", "1024x1024"))
        )
        return JSONResponse(
            {
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(data).decode()}],
                "usage": {"total_tokens": 100, "input_tokens": 10, "output_tokens": 90},
            }
        )

    def __enter__(self) -> "OpenAIStandIn":
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping = True
        self._server.stop()
