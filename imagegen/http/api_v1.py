"""The REST API, compatible with OpenAI's images API so its clients work unchanged:
`POST /api/v1/images/generations` (wait for the images, or `"async": true` for their ids at
once), `GET /api/v1/images/{id}`, `GET /api/v1/images`. Authenticated with a user's API key
(`Authorization: Bearer ig_…`); credits, limits and the queue are exactly the UI's.
"""

import asyncio
import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio
import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

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
from imagegen.models import Image, User
from imagegen.providers.compose import get_moderator, get_storage
from imagegen.realtime import publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import api_keys, fair_queue, generation, intake
from imagegen.settings import get_settings

MAX_BODY_BYTES = 64 * 1024
TERMINAL = ("completed", "failed", "cancelled")
# OpenAI's quality names of older models, mapped onto ours.
QUALITY_ALIASES = {"auto": "medium", "standard": "medium", "hd": "high"}
OPENAI_STYLES = ("vivid", "natural")  # dall-e-3's; accepted and ignored


def error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    """OpenAI's error shape."""
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        status_code=status,
    )


INVALID_KEY = error(
    401,
    "Incorrect API key provided. Create one on your account page.",
    "invalid_request_error",
    "invalid_api_key",
)
NOT_FOUND = error(404, "No such image.", "invalid_request_error", "not_found")


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


def _refusal(exc: ImagegenError) -> JSONResponse:
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


class InvalidField(InvalidInput):
    """A field of the body is missing or wrong; `param` names it (OpenAI's `param`)."""

    def __init__(self, message: str, param: str | None) -> None:
        super().__init__(message)
        self.param = param


class GenerationBody(BaseModel):
    """The body of POST /images/generations: OpenAI's fields, strictly typed (a list where a
    string belongs is a 400, never a crash); fields we do not know are ignored, as OpenAI's
    newer parameters may be sent by its clients.
    """

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    prompt: str
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    model: str | None = None  # accepted and ignored
    response_format: str | None = None
    run_async: bool = Field(default=False, alias="async")

    @field_validator("n", mode="before")
    @classmethod
    def _whole_number(cls, value: Any) -> Any:
        """3.0 is the integer 3 in JSON."""
        return int(value) if isinstance(value, float) and value.is_integer() else value


def _invalid(exc: ValidationError) -> InvalidField:
    """The first problem of a body, in words that name the field."""
    first = exc.errors()[0]
    param = str(first["loc"][0]) if first["loc"] else None
    if first["type"] == "missing":
        return InvalidField(f"`{param}` is required.", param)
    expected = first["msg"].removeprefix("Input should be ").rstrip(".")
    return InvalidField(f"`{param}` should be {expected}.", param)


def _parse_generation(raw: dict[str, Any]) -> tuple[generation.GenerationRequest, str, bool]:
    """(request, response_format, async) from an OpenAI images request.

    Raises:
        InvalidInput: a field has the wrong type or an unsupported value.
    """
    try:
        body = GenerationBody.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(exc) from None
    size = "1024x1024" if body.size in (None, "auto") else body.size
    quality = "medium" if body.quality is None else body.quality
    quality = QUALITY_ALIASES.get(quality, quality)
    style = None if body.style in OPENAI_STYLES else body.style
    response_format = "url" if body.response_format is None else body.response_format
    if response_format not in ("url", "b64_json"):
        raise InvalidField("`response_format` must be url or b64_json.", "response_format")
    request = generation.validate_request(
        prompt=body.prompt,
        size=size,
        quality=quality,
        count=1 if body.n is None else body.n,
        style=style,
    )
    return request, response_format, body.run_async


def _submit(caller: Caller, request: generation.GenerationRequest) -> list[uuid.UUID]:
    from workers.generate_image import enqueue_generation  # the broker, only when used

    settings = get_settings()
    intake.admit(
        request,
        user_id=caller.id,
        plan=caller.plan,
        settings=settings,
        client=get_redis(),
        moderator=get_moderator(),
    )
    with session_scope() as db:
        user = db.get(User, caller.id)
        if user is None:
            raise ImageNotFound()
        images = generation.submit_generation(
            session=db, user=user, request=request, settings=settings, enqueue=enqueue_generation
        )
        ids = [image.id for image in images]
    for image_id in ids:  # shown at once in the user's open tabs
        publish_image_changed(get_redis(), user_id=caller.id, image_id=image_id)
    return ids


def _images(caller: Caller, ids: list[uuid.UUID]) -> list[Image]:
    with session_scope() as db:
        found = generation.get_images(session=db, user_id=caller.id, image_ids=ids)
        for image in found:
            db.expunge(image)
    order = {image_id: n for n, image_id in enumerate(ids)}
    return sorted(found, key=lambda image: order[image.id])


async def _read_json(request: Request) -> dict[str, Any] | None:
    """The JSON object of the body, None when it is not one (over the limit: BodyTooLarge)."""
    body = await read_body(request, MAX_BODY_BYTES)
    try:
        parsed = json.loads(body or b"{}")
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        return None
    return parsed if isinstance(parsed, dict) else None


async def create_images(request: Request) -> Response:
    """POST /api/v1/images/generations."""
    caller = await anyio.to_thread.run_sync(_caller, request)
    if caller is None:
        return INVALID_KEY
    body = await _read_json(request)
    if body is None:
        return error(
            400, "The body must be a JSON object (at most 64 KB).", "invalid_request_error"
        )
    try:
        parsed, response_format, run_async = _parse_generation(body)
        ids = await anyio.to_thread.run_sync(_submit, caller, parsed)
    except ImagegenError as exc:
        return _refusal(exc)
    created = int(time.time())
    if run_async:
        return JSONResponse(
            {"created": created, "data": [{"id": str(i), "status": "queued"} for i in ids]},
            status_code=202,
        )
    deadline = time.monotonic() + get_settings().api_wait_seconds
    images: list[Image] = []
    while time.monotonic() < deadline:
        images = await anyio.to_thread.run_sync(_images, caller, ids)
        if all(image.status in TERMINAL for image in images):
            break
        await asyncio.sleep(0.2)
    else:  # still running: answer like "async", the images keep going
        return JSONResponse(
            {"created": created, "data": [image_object(image) for image in images]},
            status_code=202,
        )
    done = [image for image in images if image.status == "completed"]
    if not done:
        reason = images[0].error or "The image could not be made."
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


async def get_image(request: Request) -> Response:
    """GET /api/v1/images/{image_id}: one of the caller's images."""
    caller = await anyio.to_thread.run_sync(_caller, request)
    if caller is None:
        return INVALID_KEY

    def find() -> Image | None:
        with session_scope() as db:
            try:
                image = generation.get_image(
                    session=db, user_id=caller.id, image_id=request.path_params["image_id"]
                )
            except ImageNotFound:
                return None
            db.expunge(image)
            return image

    image = await anyio.to_thread.run_sync(find)
    return JSONResponse(image_object(image)) if image else NOT_FOUND


async def list_images(request: Request) -> Response:
    """GET /api/v1/images?limit=20&after=<id>&favorites=true&order=asc&search=cats: the
    caller's images, newest first unless `order=asc`.
    """
    caller = await anyio.to_thread.run_sync(_caller, request)
    if caller is None:
        return INVALID_KEY
    raw_limit = request.query_params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return error(400, "`limit` must be 1 to 100.", "invalid_request_error", param="limit")
    limit, after = int(raw_limit), request.query_params.get("after")
    favorites = request.query_params.get("favorites", "false")
    order = request.query_params.get("order", "desc")
    if favorites not in ("true", "false"):
        return error(
            400, "`favorites` must be true or false.", "invalid_request_error", param="favorites"
        )
    if order not in ("asc", "desc"):
        return error(400, "`order` must be asc or desc.", "invalid_request_error", param="order")
    search = request.query_params.get("search", "")[:200]

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
    return JSONResponse(
        {
            "object": "list",
            "data": [image_object(image) for image in shown],
            "has_more": len(found) > limit,
            "last_id": str(shown[-1].id) if shown else None,
        }
    )
