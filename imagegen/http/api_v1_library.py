"""The REST API of the personal library, under /api/v1 with the same API keys and rules as
the app: favorites, delete (and restore while the undo window lasts), zip download,
collections with share links, and data exports. Only the key owner's ids exist: anyone
else's answer 404 exactly like ids that were never made. Bodies are typed (a wrong field is
a 400 in OpenAI's error shape, never a 500).
"""

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import (
    CollectionNotFound,
    ExportInProgress,
    ExportNotFound,
    ImagegenError,
    ImageNotFound,
)
from imagegen.http import urls
from imagegen.http.api_v1 import (
    INVALID_KEY,
    Caller,
    _caller,
    _invalid,
    _read_json,
    error,
    image_object,
)
from imagegen.models import Collection, DataExport, Image
from imagegen.realtime import publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import collections, exports, library
from imagegen.settings import get_settings


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class IdsBody(_Strict):
    """A batch of the caller's image ids."""

    ids: list[str] = Field(min_length=1, max_length=library.MAX_BATCH)


class FavoriteBody(IdsBody):
    """Put hearts on (or take them off) a batch of images."""

    favorite: bool = True


class CollectionBody(_Strict):
    """A collection's name."""

    name: str = Field(max_length=200)


def _refusal(exc: ImagegenError) -> JSONResponse:
    if isinstance(exc, (ImageNotFound, CollectionNotFound, ExportNotFound)):
        return error(404, str(exc), "invalid_request_error", "not_found")
    if isinstance(exc, ExportInProgress):
        return error(409, str(exc), "invalid_request_error", "export_in_progress")
    return error(400, str(exc), "invalid_request_error")


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def collection_object(collection: Collection, count: int | None = None) -> dict[str, Any]:
    """How the API shows a collection."""
    return {
        "id": str(collection.id),
        "object": "collection",
        "name": collection.name,
        "image_count": count,
        "created": int(collection.created_at.timestamp()),
        "share_url": urls.absolute_backend(routes.collection_share_path(collection.share_token))
        if collection.share_token
        else None,
    }


def export_object(export: DataExport) -> dict[str, Any]:
    """How the API shows a data export."""
    ready = exports.downloadable(export)
    return {
        "id": str(export.id),
        "object": "export",
        "status": "expired" if export.status == "ready" and not ready else export.status,
        "created": int(export.created_at.timestamp()),
        "expires": int(export.expires_at.timestamp()) if export.expires_at else None,
        "size_bytes": export.size_bytes,
        "image_count": export.image_count,
        "download_url": urls.absolute_backend(routes.export_download_url(export.id))
        if ready
        else None,
    }


def _images_list(images: list[Image]) -> dict[str, Any]:
    return {"object": "list", "data": [image_object(image) for image in images]}


async def _handle(
    request: Request,
    work: Callable[[Caller, Any], tuple[int, Any]],
    body_model: type[BaseModel] | None = None,
) -> Response:
    """Authenticate, read the typed body, run `work` in a thread; errors in OpenAI's shape."""
    caller = await anyio.to_thread.run_sync(_caller, request)
    if caller is None:
        return INVALID_KEY
    body: BaseModel | None = None
    if body_model is not None:
        raw = await _read_json(request)
        if raw is None:
            return error(
                400, "The body must be a JSON object (at most 64 KB).", "invalid_request_error"
            )
        try:
            body = body_model.model_validate(raw)
        except ValidationError as exc:
            problem = _invalid(exc)
            return error(400, str(problem), "invalid_request_error", param=problem.param)
    try:
        status, payload = await anyio.to_thread.run_sync(work, caller, body)
    except ImagegenError as exc:
        return _refusal(exc)
    if isinstance(payload, Response):
        return payload
    return JSONResponse(payload, status_code=status)


def _param(request: Request, name: str) -> str:
    return str(request.path_params[name])


def _detached(db: Any, *rows: Any) -> None:
    for row in rows:
        db.expunge(row)


# -- images -------------------------------------------------------------------------------


def _favorite_many(caller: Caller, body: FavoriteBody) -> tuple[int, Any]:
    with session_scope() as db:
        images = library.set_favorite(
            session=db, user_id=caller.id, image_ids=body.ids, favorite=body.favorite
        )
        payload = _images_list(images)
    _announce(caller, [uuid.UUID(item["id"]) for item in payload["data"]])
    return 200, payload


def _announce(caller: Caller, image_ids: list[uuid.UUID]) -> None:
    """Tell the caller's open tabs (favorites, deletes and restores show up live)."""
    for image_id in image_ids:
        publish_image_changed(get_redis(), user_id=caller.id, image_id=image_id)


async def favorite_images(request: Request) -> Response:
    """POST /api/v1/images/favorite {ids, favorite}: hearts on (or off) several images."""
    return await _handle(request, _favorite_many, FavoriteBody)


async def favorite_image(request: Request) -> Response:
    """PUT (heart on) or DELETE (heart off) /api/v1/images/{image_id}/favorite."""
    favorite = request.method == "PUT"
    body = FavoriteBody(ids=[_param(request, "image_id")], favorite=favorite)

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        status, payload = _favorite_many(caller, body)
        return status, payload["data"][0]

    return await _handle(request, work)


def _delete(caller: Caller, ids: list[str]) -> tuple[int, Any]:
    window = get_settings().undo_delete_seconds
    with session_scope() as db:
        images = library.delete_images(session=db, user_id=caller.id, image_ids=ids)
        deleted = [image.id for image in images]
        until = max(image.deleted_at for image in images if image.deleted_at)
    _announce(caller, deleted)
    return 200, {
        "object": "list",
        "deleted": [str(image_id) for image_id in deleted],
        "restorable_until": int((until + timedelta(seconds=window)).timestamp()),
    }


async def delete_images(request: Request) -> Response:
    """POST /api/v1/images/delete {ids}: delete several images (all or none)."""
    return await _handle(request, lambda caller, body: _delete(caller, body.ids), IdsBody)


async def delete_image(request: Request) -> Response:
    """DELETE /api/v1/images/{image_id}."""
    image_id = _param(request, "image_id")
    return await _handle(request, lambda caller, _body: _delete(caller, [image_id]))


def _restore(caller: Caller, body: IdsBody) -> tuple[int, Any]:
    window = timedelta(seconds=get_settings().undo_delete_seconds)
    with session_scope() as db:
        images = library.restore_images(
            session=db, user_id=caller.id, image_ids=body.ids, window=window
        )
        payload = _images_list(images)
    _announce(caller, [image.id for image in images])
    return 200, payload


async def restore_images(request: Request) -> Response:
    """POST /api/v1/images/restore {ids}: undo a delete while the undo window lasts."""
    return await _handle(request, _restore, IdsBody)


async def download_images(request: Request) -> Response:
    """POST /api/v1/images/download {ids}: the images as a zip, streamed."""
    from imagegen.http.files import zip_response

    def work(caller: Caller, body: IdsBody) -> tuple[int, Any]:
        with session_scope() as db:
            images = library.owned_images(session=db, user_id=caller.id, image_ids=body.ids)
            _detached(db, *images)
        return 200, zip_response(images)

    return await _handle(request, work, IdsBody)


# -- collections ----------------------------------------------------------------------------


async def list_collections(request: Request) -> Response:
    """GET /api/v1/collections: the caller's collections by name."""

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        with session_scope() as db:
            found = collections.list_collections(session=db, user_id=caller.id)
            data = [collection_object(s.collection, s.count) for s in found]
        return 200, {"object": "list", "data": data}

    return await _handle(request, work)


def _summary(caller: Caller, collection_id: str) -> dict[str, Any]:
    with session_scope() as db:
        found = collections.get_collection(
            session=db, user_id=caller.id, collection_id=collection_id
        )
        count = next(
            s.count
            for s in collections.list_collections(session=db, user_id=caller.id)
            if s.collection.id == found.id
        )
        return collection_object(found, count)


async def create_collection(request: Request) -> Response:
    """POST /api/v1/collections {name}."""

    def work(caller: Caller, body: CollectionBody) -> tuple[int, Any]:
        with session_scope() as db:
            made = collections.create_collection(session=db, user_id=caller.id, name=body.name)
            return 201, collection_object(made, 0)

    return await _handle(request, work, CollectionBody)


async def get_collection(request: Request) -> Response:
    """GET /api/v1/collections/{collection_id}."""
    collection_id = _param(request, "collection_id")
    return await _handle(request, lambda caller, _body: (200, _summary(caller, collection_id)))


async def rename_collection(request: Request) -> Response:
    """PATCH /api/v1/collections/{collection_id} {name}."""
    collection_id = _param(request, "collection_id")

    def work(caller: Caller, body: CollectionBody) -> tuple[int, Any]:
        with session_scope() as db:
            collections.rename_collection(
                session=db, user_id=caller.id, collection_id=collection_id, name=body.name
            )
        return 200, _summary(caller, collection_id)

    return await _handle(request, work, CollectionBody)


async def delete_collection(request: Request) -> Response:
    """DELETE /api/v1/collections/{collection_id} (its images stay)."""
    collection_id = _param(request, "collection_id")

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        with session_scope() as db:
            collections.delete_collection(
                session=db, user_id=caller.id, collection_id=collection_id
            )
        return 200, {"id": collection_id, "object": "collection", "deleted": True}

    return await _handle(request, work)


async def collection_images(request: Request) -> Response:
    """GET /api/v1/collections/{collection_id}/images?limit=&offset=."""
    collection_id = _param(request, "collection_id")
    raw_limit = request.query_params.get("limit", "20")
    raw_offset = request.query_params.get("offset", "0")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return error(400, "`limit` must be 1 to 100.", "invalid_request_error", param="limit")
    if not raw_offset.isdigit() or int(raw_offset) > 1_000_000:
        return error(400, "`offset` must be 0 or more.", "invalid_request_error", param="offset")
    limit, offset = int(raw_limit), int(raw_offset)

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        with session_scope() as db:
            found = collections.collection_images(
                session=db,
                user_id=caller.id,
                collection_id=collection_id,
                limit=limit + 1,
                offset=offset,
            )
            shown = found[:limit]
            return 200, {**_images_list(shown), "has_more": len(found) > limit}

    return await _handle(request, work)


async def change_collection_images(request: Request) -> Response:
    """POST /api/v1/collections/{collection_id}/images {ids} (add), or …/images/remove."""
    collection_id = _param(request, "collection_id")
    change = (
        collections.remove_images
        if request.url.path.endswith("/remove")
        else collections.add_images
    )

    def work(caller: Caller, body: IdsBody) -> tuple[int, Any]:
        with session_scope() as db:
            change(session=db, user_id=caller.id, collection_id=collection_id, image_ids=body.ids)
        return 200, _summary(caller, collection_id)

    return await _handle(request, work, IdsBody)


async def share_collection(request: Request) -> Response:
    """PUT (share) or DELETE (stop sharing) /api/v1/collections/{collection_id}/share."""
    collection_id = _param(request, "collection_id")
    action = (
        collections.share_collection
        if request.method == "PUT"
        else collections.stop_sharing_collection
    )

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        with session_scope() as db:
            action(session=db, user_id=caller.id, collection_id=collection_id)
        return 200, _summary(caller, collection_id)

    return await _handle(request, work)


# -- exports --------------------------------------------------------------------------------


async def create_export(request: Request) -> Response:
    """POST /api/v1/exports: start preparing an archive of all the caller's data."""
    from workers.export_data import enqueue_export  # the broker, only when used

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        with session_scope() as db:
            export = exports.request_export(session=db, user_id=caller.id, enqueue=enqueue_export)
        return 202, export_object(export)

    return await _handle(request, work)


def _owned_export(caller: Caller, export_id: str) -> DataExport:
    with session_scope() as db:
        export = exports.get_export(session=db, user_id=caller.id, export_id=export_id)
        _detached(db, export)
        return export


async def get_export(request: Request) -> Response:
    """GET /api/v1/exports/{export_id}: its status, and the download URL once ready."""
    export_id = _param(request, "export_id")
    return await _handle(
        request, lambda caller, _body: (200, export_object(_owned_export(caller, export_id)))
    )


async def download_export(request: Request) -> Response:
    """GET /api/v1/exports/{export_id}/download: the archive (404 until ready, and after)."""
    from imagegen.http.files import NOT_FOUND, export_file_response

    export_id = _param(request, "export_id")

    def work(caller: Caller, _body: None) -> tuple[int, Any]:
        export = _owned_export(caller, export_id)
        response = export_file_response(export) if exports.downloadable(export) else NOT_FOUND
        if response is NOT_FOUND:
            raise ExportNotFound()
        return 200, response

    return await _handle(request, work)


Handler = Callable[[Request], Awaitable[Response]]


def route(path: str, **handlers: Handler) -> Route:
    """One route per path whatever its methods, so a 405's Allow header lists them all."""

    async def dispatch(request: Request) -> Response:
        # HEAD is answered like GET (Starlette adds it wherever GET is allowed).
        return await handlers["GET" if request.method == "HEAD" else request.method](request)

    return Route(path, dispatch, methods=list(handlers))
