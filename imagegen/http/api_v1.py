"""The REST API, compatible with OpenAI's images API so its clients work unchanged:
`POST /api/v1/images/generations` (wait for the images, or `"async": true` for their ids at
once), `POST /api/v1/images/{id}/variations` (queued variations of one of your images),
`GET /api/v1/images/{id}`, `GET /api/v1/images`. Authenticated with a user's API key
(`Authorization: Bearer ig_…`); credits, limits and the queue are exactly the UI's.

A FastAPI app: request and response bodies are pydantic models, so validation and the
OpenAPI document (/api/v1/openapi.json) come from the same types. Every refusal, a malformed
body included, is answered in OpenAI's error shape (never FastAPI's 422).
"""

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio
import redis
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.responses import JSONResponse

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import (
    ContentFlagged,
    ImagegenError,
    ImageNotFound,
    InvalidInput,
    ModerationUnavailable,
    OutOfCredits,
    TooManyAttempts,
    TooManyInProgress,
)
from imagegen.http import urls
from imagegen.http.bodies import read_body
from imagegen.http.session import bearer_token
from imagegen.models import TERMINAL_STATUSES, Image
from imagegen.providers.compose import get_moderator, get_storage
from imagegen.realtime import publish_images_changed
from imagegen.redis_client import get_redis
from imagegen.services import api_keys, fair_queue, generation, submissions
from imagegen.services.jobs import get_jobs
from imagegen.settings import get_settings

MAX_BODY_BYTES = 64 * 1024
# OpenAI's quality names of older models, mapped onto ours.
QUALITY_ALIASES = {"auto": "medium", "standard": "medium", "hd": "high"}
OPENAI_STYLES = ("vivid", "natural")  # dall-e-3's; accepted and ignored
T = TypeVar("T")
NOT_AN_OBJECT = "The body must be a JSON object (at most 64 KB)."


# -- errors in OpenAI's shape ---------------------------------------------------------------


class ErrorDetail(BaseModel):
    """What went wrong."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    """OpenAI's error shape."""

    error: ErrorDetail


def error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    """OpenAI's error shape."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        status_code=status,
    )


class Refused(Exception):
    """Raised by a handler: answer with this error response."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


INVALID_KEY = error(
    401,
    "Incorrect API key provided. Create one on your account page.",
    "invalid_request_error",
    "invalid_api_key",
)
NOT_FOUND = error(404, "No such image.", "invalid_request_error", "not_found")

_ERROR_TEXTS = {
    400: "Invalid request (OpenAI's error shape).",
    401: "Missing, wrong or revoked API key.",
    402: "Out of credits (nothing was charged).",
    404: "No such image, collection or export (or not yours).",
    409: "An export is already being prepared.",
    413: "The body is over 64 KB.",
    429: "Too many requests per minute, or too many images in progress.",
    500: "Every image of the request failed; the credits were refunded.",
    503: "The database or Redis is briefly unavailable.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route."""
    return {code: {"model": ErrorBody, "description": _ERROR_TEXTS[code]} for code in codes}


# Query parameters' rules, in the words a 400 uses.
QUERY_RULES = {
    "limit": "1 to 100",
    "offset": "0 or more",
    "favorites": "true or false",
    "order": "asc or desc",
}


class InvalidField(InvalidInput):
    """A field of the body is missing or wrong; `param` names it (OpenAI's `param`)."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


def _first_problem(problems: list[Any]) -> InvalidField:
    """The first problem of a request, in words that name the field."""
    first = problems[0]
    loc = [part for part in first["loc"] if part not in ("body", "query", "path")]
    param = str(loc[0]) if loc else None
    if param is None:
        return InvalidField(NOT_AN_OBJECT, None)
    if first["loc"][0] == "query" and param in QUERY_RULES:
        return InvalidField(f"`{param}` must be {QUERY_RULES[param]}.", param)
    if first["type"] == "missing":
        return InvalidField(f"`{param}` is required.", param)
    if first["type"] == "extra_forbidden":
        return InvalidField(f"`{param}` is not a field of this request.", param)
    expected = str(first["msg"]).removeprefix("Input should be ").rstrip(".")
    return InvalidField(f"`{param}` should be {expected}.", param)


def _invalid(exc: ValidationError) -> InvalidField:
    return _first_problem(list(exc.errors()))


async def _validation_failed(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problem = _first_problem(list(exc.errors()))
    return error(400, str(problem), "invalid_request_error", param=problem.param)


async def _refused(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


def refusal(exc: ImagegenError) -> JSONResponse:
    """Our refusals in OpenAI's shape and status codes."""
    if isinstance(exc, OutOfCredits):
        return error(402, str(exc), "insufficient_quota", "insufficient_credits")
    if isinstance(exc, TooManyInProgress):
        return error(429, str(exc), "rate_limit_error", "too_many_in_progress")
    if isinstance(exc, TooManyAttempts):
        return error(429, str(exc), "rate_limit_error", "rate_limit_exceeded")
    if isinstance(exc, ImageNotFound):
        return NOT_FOUND
    if isinstance(exc, ContentFlagged):
        return error(400, str(exc), "invalid_request_error", "content_policy_violation", "prompt")
    if isinstance(exc, ModerationUnavailable):
        return error(503, str(exc), "server_error", "moderation_unavailable")
    return error(400, str(exc), "invalid_request_error", param=getattr(exc, "param", None))


# -- the caller ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who an API key belongs to."""

    id: uuid.UUID
    plan: str


def _caller(request: Request) -> Caller | None:
    key = bearer_token(request)
    if key is None:
        return None
    with session_scope() as db:
        user = api_keys.authenticate(session=db, plaintext=key)
        return Caller(user.id, user.plan) if user else None


_bearer = HTTPBearer(
    auto_error=False, scheme_name="apiKey", description="An API key from the account page (ig_…)."
)


def current_caller(request: Request, _key: Annotated[Any, Depends(_bearer)]) -> Caller:
    """The key's owner (checked by `KeyedRoute` before anything else is read)."""
    caller: Caller = request.state.caller
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


class KeyedRoute(APIRoute):
    """Every /api/v1 route: the API key first (401 in OpenAI's shape), then the body read
    with its limit enforced while reading (413), and parsed as JSON whatever its content type.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        has_body = self.body_field is not None

        async def keyed(request: Request) -> Response:
            caller = await anyio.to_thread.run_sync(_caller, request)
            if caller is None:
                return INVALID_KEY
            request.state.caller = caller
            if has_body:
                raw = await read_body(request, MAX_BODY_BYTES) or b"{}"
                try:
                    parsed = json.loads(raw)
                except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deep
                    return error(400, NOT_AN_OBJECT, "invalid_request_error")
                if not isinstance(parsed, dict):
                    return error(400, NOT_AN_OBJECT, "invalid_request_error")
                request._body, request._json = raw, parsed
                _as_json(request)
            return await handler(request)

        return keyed


def _as_json(request: Request) -> None:
    """FastAPI parses only JSON content types; the API reads every body as JSON."""
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
    request.scope["headers"] = [*headers, (b"content-type", b"application/json")]


def router() -> APIRouter:
    """A router of /api/v1 routes."""
    return APIRouter(route_class=KeyedRoute, responses=errors(401, 503))


async def in_thread(
    work: Callable[[], T], refuse: Callable[[ImagegenError], JSONResponse] | None = None
) -> T:
    """Run blocking work off the event loop; our refusals become OpenAI-shaped answers."""
    try:
        return await anyio.to_thread.run_sync(work)
    except ImagegenError as exc:
        raise Refused((refuse or refusal)(exc)) from None


# -- models ------------------------------------------------------------------------------------

ImageStatusName = Literal["queued", "generating", "completed", "failed", "cancelled"]


class ImageObject(BaseModel):
    """How the API shows one image."""

    id: str
    object: Literal["image"] = "image"
    status: ImageStatusName
    prompt: str
    size: str
    quality: str
    style: str | None
    created: int
    completed: int | None
    url: str | None
    error: str | None
    queue_position: int | None = Field(
        description="While queued: the place in line under the fair queue's policy "
        "(1 = next); null otherwise.",
        ge=1,
    )
    eta_seconds: int | None = Field(
        description="While queued: estimated seconds until the image is ready, from recent "
        "job durations; null otherwise.",
        ge=1,
    )
    favorite: bool


class ImageList(BaseModel):
    """A page of images."""

    object: Literal["list"] = "list"
    data: list[ImageObject]
    has_more: bool | None = None
    last_id: str | None = None


class GeneratedImage(BaseModel):
    """One finished image of a generation, as OpenAI shows it."""

    id: str
    url: str | None = None
    b64_json: str | None = None
    revised_prompt: str | None = None


class Generated(BaseModel):
    """The images of a generation that finished within the wait."""

    created: int
    data: list[GeneratedImage]


class QueuedImage(BaseModel):
    """An image still being made."""

    id: str
    status: str


class Accepted(BaseModel):
    """`async`, or not finished within the wait: the images keep going."""

    created: int
    data: list[QueuedImage | ImageObject]


class GenerationBody(BaseModel):
    """The body of POST /images/generations: OpenAI's fields, strictly typed (a list where a
    string belongs is a 400, never a crash); fields we do not know are ignored, as OpenAI's
    newer parameters may be sent by its clients.
    """

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    prompt: str = Field(max_length=generation.MAX_PROMPT)
    n: int | None = Field(default=None, description="1 to 4 images.")
    size: str | None = Field(default=None, description=", ".join(generation.SIZES) + " or auto.")
    quality: str | None = Field(default=None, description="low, medium, high (auto, standard, hd).")
    style: str | None = Field(
        default=None,
        description="One of " + ", ".join(generation.STYLES) + "; vivid and natural are "
        "accepted and ignored.",
    )
    model: str | None = Field(default=None, description="Accepted and ignored.")
    response_format: Literal["url", "b64_json"] | None = None
    run_async: bool = Field(default=False, alias="async")

    @field_validator("n", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """3.0 is the integer 3 in JSON."""
        return int(value) if isinstance(value, float) and value.is_integer() else value


class VariationBody(BaseModel):
    """The body of POST /images/{id}/variations."""

    model_config = ConfigDict(strict=True, extra="ignore")

    n: int | None = Field(default=None, description="1 to 4 images (1 when left out).")

    @field_validator("n", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """3.0 is the integer 3 in JSON."""
        return int(value) if isinstance(value, float) and value.is_integer() else value


# -- helpers -----------------------------------------------------------------------------------


def absolute_url(image: Image) -> str | None:
    """Where an API client fetches the image (local files need the same Bearer key)."""
    if not image.image_url:
        return None
    if image.image_url.startswith("/"):
        return urls.absolute_backend(image.image_url)
    return image.image_url


def _queue_spot(image: Image) -> fair_queue.Spot | None:
    """A queued image's place in line and estimate (None when not queued, or unknown)."""
    if image.status != "queued":
        return None
    try:
        spots = fair_queue.spots_for_user(
            get_redis(), user_id=image.user_id, settings=get_settings()
        )
    except redis.RedisError:
        return None
    return spots.get(str(image.id))


def image_object(image: Image) -> dict[str, Any]:
    """How the API shows one image."""
    spot = _queue_spot(image)
    return {
        "id": str(image.id),
        "object": "image",
        "status": image.status,
        "prompt": image.prompt,
        "size": image.size,
        "quality": image.quality,
        "style": image.style,
        "created": int(image.created_at.timestamp()),
        "completed": int(image.completed_at.timestamp()) if image.completed_at else None,
        "url": absolute_url(image) if image.status == "completed" else None,
        "error": image.error,
        "queue_position": spot.position if spot else None,
        "eta_seconds": spot.eta_seconds if spot else None,
        "favorite": image.favorite,
    }


def _image_bytes(image: Image) -> bytes:
    return get_storage().read(key=image.storage_key or "")


def _parse_generation(body: GenerationBody) -> tuple[generation.GenerationRequest, str, bool]:
    """(request, response_format, async) from an OpenAI images request.

    Raises:
        InvalidInput: a field has an unsupported value.
    """
    size = "1024x1024" if body.size in (None, "auto") else body.size
    quality = "medium" if body.quality is None else body.quality
    quality = QUALITY_ALIASES.get(quality, quality)
    style = None if body.style in OPENAI_STYLES else body.style
    response_format = "url" if body.response_format is None else body.response_format
    request = generation.validate_request(
        prompt=body.prompt,
        size=size,
        quality=quality,
        count=1 if body.n is None else body.n,
        style=style,
    )
    return request, response_format, body.run_async


def _submit(
    caller: Caller,
    request: generation.GenerationRequest,
    source_image_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    submitted = submissions.submit(
        request=request,
        user_id=caller.id,
        plan=caller.plan,
        settings=get_settings(),
        client=get_redis(),
        moderator=get_moderator(),
        jobs=get_jobs(),
        check_session=False,  # the API key was checked
        source_image_id=source_image_id,
    )
    if submitted is None:
        raise ImageNotFound()
    ids = [image.id for image in submitted.images]
    # Shown at once in the user's open tabs, through the relay.
    publish_images_changed(get_redis(), user_id=caller.id, image_ids=ids)
    return ids


def _images(caller: Caller, ids: list[uuid.UUID]) -> list[Image]:
    with session_scope() as db:
        found = generation.get_images(session=db, user_id=caller.id, image_ids=ids)
        for image in found:
            db.expunge(image)
    order = {image_id: n for n, image_id in enumerate(ids)}
    return sorted(found, key=lambda image: order[image.id])


# -- routes ------------------------------------------------------------------------------------

image_routes = router()


@image_routes.post(
    routes.API_V1_GENERATIONS,
    response_model=Generated,
    responses={
        202: {"model": Accepted, "description": "Queued (`async`), or still running."},
        **errors(400, 402, 413, 429, 500),
    },
    summary="Create images",
)
async def create_images(body: GenerationBody, caller: CallerDep) -> Response:
    """Make up to four images from a prompt; waits for them unless `async` is true."""
    try:
        parsed, response_format, run_async = _parse_generation(body)
    except ImagegenError as exc:
        return refusal(exc)
    ids = await in_thread(lambda: _submit(caller, parsed))
    created = int(time.time())
    if run_async:
        return JSONResponse(
            {"created": created, "data": [{"id": str(i), "status": "queued"} for i in ids]},
            status_code=202,
        )
    deadline = time.monotonic() + get_settings().api_wait_seconds
    found: list[Image] = []
    while time.monotonic() < deadline:
        found = await anyio.to_thread.run_sync(_images, caller, ids)
        if all(image.status in TERMINAL_STATUSES for image in found):
            break
        await asyncio.sleep(0.2)
    else:  # still running: answer like "async", the images keep going
        return JSONResponse(
            {"created": created, "data": [image_object(image) for image in found]},
            status_code=202,
        )
    done = [image for image in found if image.status == "completed"]
    if not done:
        reason = found[0].error or "The image could not be made."
        if "safety" in reason.lower() or "policy" in reason.lower():
            return error(400, reason, "invalid_request_error", "content_policy_violation")
        return error(
            500, reason + " Your credits were refunded.", "server_error", "generation_failed"
        )
    data = []
    for image in done:
        item: dict[str, Any] = {"id": str(image.id), "revised_prompt": None}
        if response_format == "b64_json":
            raw = await anyio.to_thread.run_sync(_image_bytes, image)
            item["b64_json"] = base64.b64encode(raw).decode()
        else:
            item["url"] = absolute_url(image)
        data.append(item)
    return JSONResponse({"created": created, "data": data})


@image_routes.post(
    routes.API_V1_IMAGE_VARIATIONS,
    status_code=202,
    response_model=Accepted,
    responses=errors(400, 402, 404, 413, 429),
    summary="Create variations of an image",
)
async def create_variations(image_id: str, body: VariationBody, caller: CallerDep) -> Response:
    """Queue `n` new images drawn from one of your completed images, with its prompt and
    settings (through the model's image edit endpoint where it has one). They cost what a
    generation with those settings costs; follow them with `GET /images/{id}`.
    """

    def queue() -> list[uuid.UUID]:
        with session_scope() as db:
            source = generation.variation_source(session=db, user_id=caller.id, image_id=image_id)
            request = generation.variation_request(source, 1 if body.n is None else body.n)
            source_id = source.id
        return _submit(caller, request, source_id)

    ids = await in_thread(queue)
    return JSONResponse(
        {
            "created": int(time.time()),
            "data": [{"id": str(i), "status": "queued"} for i in ids],
        },
        status_code=202,
    )


@image_routes.get(
    routes.API_V1_IMAGE, response_model=ImageObject, responses=errors(404), summary="Get an image"
)
async def get_image(image_id: str, caller: CallerDep) -> Any:
    """One of your images."""

    def find() -> Image | None:
        with session_scope() as db:
            try:
                image = generation.get_image(session=db, user_id=caller.id, image_id=image_id)
            except ImageNotFound:
                return None
            db.expunge(image)
            return image

    image = await anyio.to_thread.run_sync(find)
    return image_object(image) if image else NOT_FOUND


@image_routes.get(
    routes.API_V1_IMAGES, response_model=ImageList, responses=errors(400), summary="List images"
)
async def list_images(
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(description="The last id of the previous page.")] = None,
    favorites: Literal["true", "false"] = "false",
    order: Literal["asc", "desc"] = "desc",
    search: Annotated[str, Query(description="Words of the prompt (200 characters).")] = "",
) -> Any:
    """Your images, newest first unless `order=asc`."""
    search = search[:200]

    def page() -> list[Image]:
        with session_scope() as db:
            before = None
            if after:
                try:
                    cursor = generation.get_image(session=db, user_id=caller.id, image_id=after)
                except ImageNotFound:
                    return []  # not one of yours: nothing comes after it
                before = (cursor.created_at, cursor.id)
            found = generation.list_images(
                session=db,
                user_id=caller.id,
                limit=limit + 1,
                before=before,
                search=search,
                favorites=favorites == "true",
                oldest_first=order == "asc",
            )
            for image in found:
                db.expunge(image)
            return found

    found = await anyio.to_thread.run_sync(page)
    shown = found[:limit]
    return {
        "object": "list",
        "data": [image_object(image) for image in shown],
        "has_more": len(found) > limit,
        "last_id": str(shown[-1].id) if shown else None,
    }


def _document(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The generated document, paths relative to /api/v1; without the 422 FastAPI documents
    on every route with parameters (ours answer 400 instead).
    """

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            # Paths relative to the API's base, as OpenAI documents its own (clients take
            # `<site>/api/v1` as their base URL).
            schema["servers"] = [{"url": routes.API_V1}]
            schema["paths"] = {
                path.removeprefix(routes.API_V1): item
                for path, item in schema.get("paths", {}).items()
            }
            for item in schema["paths"].values():
                for operation in item.values():
                    operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi


def build_v1() -> FastAPI:
    """The /api/v1 app: the images routes and the library's, with the generated document."""
    from imagegen.http import api_v1_library

    app = FastAPI(
        title="imagegen API",
        version="1",
        description="OpenAI-compatible image generation. Point an OpenAI client at "
        "`<site>/api/v1` with an API key from the account page.",
        openapi_url=routes.API_V1_OPENAPI,
        docs_url=None,
        redoc_url=None,
        exception_handlers={
            RequestValidationError: _validation_failed,
            Refused: _refused,
        },
    )
    app.include_router(image_routes)
    app.include_router(api_v1_library.library_routes)
    app.openapi = _document(app)  # type: ignore[method-assign]
    return app
