"""An ImageKit-compatible server: upload (`POST /api/v1/files/upload`, multipart, basic auth
with the private key), delete (`DELETE /v1/files/{id}`), and the uploaded files themselves."""

import base64
import io
import uuid
from collections import deque

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.server import ThreadedServer


class ImageKitStandIn:
    """Keeps uploads in memory; `fail_next("500")` makes the next upload fail."""

    def __init__(self, private_key: str = "private_test_key") -> None:
        self.private_key = private_key
        self.files: dict[str, dict] = {}  # fileId -> {"path", "data"}
        self.requests: list[dict] = []
        self.failures: deque[str] = deque()
        app = Starlette(
            routes=[
                Route("/api/v1/files/upload", self._upload, methods=["POST"]),
                Route("/v1/files/{file_id}", self._delete, methods=["DELETE"]),
                Route("/ik/{path:path}", self._serve, methods=["GET"]),
            ]
        )
        self._server = ThreadedServer(app)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def url_endpoint(self) -> str:
        return f"{self._server.base_url}/ik"

    def fail_next(self, *kinds: str) -> None:
        self.failures.extend(kinds)

    def _authorised(self, request: Request) -> bool:
        """HTTP basic auth whose user is the private key (ImageKit ignores the password)."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            user = base64.b64decode(encoded).decode().split(":", 1)[0]
        except ValueError:
            return False
        return scheme == "Basic" and user == self.private_key

    async def _upload(self, request: Request) -> Response:
        form = await request.form()
        self.requests.append(
            {
                "path": "upload",
                "headers": dict(request.headers),
                "fields": {k: v for k, v in form.items() if isinstance(v, str)},
            }
        )
        if not self._authorised(request):
            return JSONResponse(
                {"message": "Your request does not contain private API key."}, status_code=401
            )
        if self.failures:
            self.failures.popleft()
            return JSONResponse({"message": "Internal server error"}, status_code=500)
        upload = form["file"]
        data = await upload.read() if hasattr(upload, "read") else base64.b64decode(str(upload))
        name = str(form.get("fileName"))
        folder = str(form.get("folder") or "/").strip("/")
        path = f"{folder}/{name}" if folder else name
        file_id = uuid.uuid4().hex[:24]
        self.files[file_id] = {"path": path, "data": data}
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
        url = f"{self.url_endpoint}/{path}"
        return JSONResponse(
            {
                "fileId": file_id,
                "name": name,
                "filePath": f"/{path}",
                "url": url,
                "thumbnailUrl": f"{url}?tr=n-ik_ml_thumbnail",
                "height": height,
                "width": width,
                "size": len(data),
                "fileType": "image",
                "versionInfo": {"id": file_id, "name": "Version 1"},
            }
        )

    async def _delete(self, request: Request) -> Response:
        self.requests.append({"path": "delete", "headers": dict(request.headers)})
        if not self._authorised(request):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if self.files.pop(request.path_params["file_id"], None) is None:
            return JSONResponse({"message": "The requested file does not exist."}, status_code=404)
        return Response(status_code=204)

    async def _serve(self, request: Request) -> Response:
        path = request.path_params["path"]
        for entry in self.files.values():
            if entry["path"] == path:
                return Response(entry["data"], media_type="image/png")
        return Response(status_code=404)

    def __enter__(self) -> "ImageKitStandIn":
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
