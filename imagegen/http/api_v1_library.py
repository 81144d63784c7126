"""The REST API of the personal library, under /api/v1 with the same API keys and rules as
the app: favorites, delete (and restore while the undo window lasts), zip download,
collections with share links, and data exports. Only the key owner's ids exist: anyone
else's answer 404 exactly like ids that were never made. Bodies are typed pydantic models
(a wrong field is a 400 in OpenAI's error shape, never a 500 or a 422).
"""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse

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
    Caller,
    CallerDep,
    ImageObject,
    error,
    errors,
    image_object,
    in_thread,
    router,
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


def refusal(exc: ImagegenError) -> JSONResponse:
    """The library's refusals: ids not yours are 404, an export already running 409."""
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


class ImagesPage(BaseModel):
    """Images, in the order asked."""

    object: Literal["list"] = "list"
    data: list[ImageObject]
    has_more: bool | None = None


class Deleted(BaseModel):
    """What a delete did, and until when it can be undone."""

    object: Literal["list"] = "list"
    deleted: list[str]
    restorable_until: int


class CollectionObject(BaseModel):
    """A named set of your images."""

    id: str
    object: Literal["collection"] = "collection"
    name: str
    image_count: int | None
    created: int
    share_url: str | None


class CollectionList(BaseModel):
    """Your collections by name."""

    object: Literal["list"] = "list"
    data: list[CollectionObject]


class CollectionDeleted(BaseModel):
    """A deleted collection (its images stay)."""

    id: str
    object: Literal["collection"] = "collection"
    deleted: bool


class ExportObject(BaseModel):
    """A data export: its status, and the download URL once ready."""

    id: str
    object: Literal["export"] = "export"
    status: Literal["pending", "ready", "failed", "expired"]
    created: int
    expires: int | None
    size_bytes: int | None
    image_count: int | None
    download_url: str | None


ZIP = {"content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}


def _detached(db: Any, *rows: Any) -> None:
    for row in rows:
        db.expunge(row)


def _announce(caller: Caller, image_ids: list[uuid.UUID]) -> None:
    """Tell the caller's open tabs (favorites, deletes and restores show up live)."""
    for image_id in image_ids:
        publish_image_changed(get_redis(), user_id=caller.id, image_id=image_id)


async def _run(work: Any) -> Any:
    return await in_thread(work, refusal)


library_routes = router()
route = library_routes


# -- images -------------------------------------------------------------------------------


def _favorite_many(caller: Caller, ids: list[str], favorite: bool) -> dict[str, Any]:
    with session_scope() as db:
        images = library.set_favorite(
            session=db, user_id=caller.id, image_ids=ids, favorite=favorite
        )
        payload = _images_list(images)
    _announce(caller, [uuid.UUID(item["id"]) for item in payload["data"]])
    return payload


@route.post(routes.API_V1_FAVORITE, response_model=ImagesPage, responses=errors(400, 404, 413))
async def favorite_images(body: FavoriteBody, caller: CallerDep) -> Any:
    """Hearts on (or off) several images."""
    return await _run(lambda: _favorite_many(caller, body.ids, body.favorite))


@route.put(routes.API_V1_IMAGE_FAVORITE, response_model=ImageObject, responses=errors(404))
async def favorite_image(image_id: str, caller: CallerDep) -> Any:
    """Heart on."""
    return (await _run(lambda: _favorite_many(caller, [image_id], True)))["data"][0]


@route.delete(routes.API_V1_IMAGE_FAVORITE, response_model=ImageObject, responses=errors(404))
async def unfavorite_image(image_id: str, caller: CallerDep) -> Any:
    """Heart off."""
    return (await _run(lambda: _favorite_many(caller, [image_id], False)))["data"][0]


def _delete(caller: Caller, ids: list[str]) -> dict[str, Any]:
    window = get_settings().undo_delete_seconds
    with session_scope() as db:
        images = library.delete_images(session=db, user_id=caller.id, image_ids=ids)
        deleted = [image.id for image in images]
        until = max(image.deleted_at for image in images if image.deleted_at)
    _announce(caller, deleted)
    return {
        "object": "list",
        "deleted": [str(image_id) for image_id in deleted],
        "restorable_until": int((until + timedelta(seconds=window)).timestamp()),
    }


@route.post(routes.API_V1_DELETE, response_model=Deleted, responses=errors(400, 404, 413))
async def delete_images(body: IdsBody, caller: CallerDep) -> Any:
    """Delete several images (all or none)."""
    return await _run(lambda: _delete(caller, body.ids))


@route.delete(routes.API_V1_IMAGE, response_model=Deleted, responses=errors(404))
async def delete_image(image_id: str, caller: CallerDep) -> Any:
    """Delete one image."""
    return await _run(lambda: _delete(caller, [image_id]))


def _restore(caller: Caller, ids: list[str]) -> dict[str, Any]:
    window = timedelta(seconds=get_settings().undo_delete_seconds)
    with session_scope() as db:
        images = library.restore_images(session=db, user_id=caller.id, image_ids=ids, window=window)
        payload = _images_list(images)
    _announce(caller, [image.id for image in images])
    return payload


@route.post(routes.API_V1_RESTORE, response_model=ImagesPage, responses=errors(400, 404, 413))
async def restore_images(body: IdsBody, caller: CallerDep) -> Any:
    """Undo a delete while the undo window lasts."""
    return await _run(lambda: _restore(caller, body.ids))


@route.post(
    routes.API_V1_DOWNLOAD,
    response_class=Response,
    responses={200: ZIP, **errors(400, 404, 413)},
)
async def download_images(body: IdsBody, caller: CallerDep) -> Response:
    """The images as a zip, streamed."""
    from imagegen.http.files import zip_response

    def find() -> list[Image]:
        with session_scope() as db:
            images = library.owned_images(session=db, user_id=caller.id, image_ids=body.ids)
            _detached(db, *images)
        return images

    return zip_response(await _run(find))


# -- collections ----------------------------------------------------------------------------


@route.get(routes.API_V1_COLLECTIONS, response_model=CollectionList)
async def list_collections(caller: CallerDep) -> Any:
    """Your collections by name."""

    def work() -> dict[str, Any]:
        with session_scope() as db:
            found = collections.list_collections(session=db, user_id=caller.id)
            data = [collection_object(s.collection, s.count) for s in found]
        return {"object": "list", "data": data}

    return await _run(work)


async def _change(
    caller: Caller, collection_id: str, service: Callable[..., object], **arguments: Any
) -> dict[str, Any]:
    """Run a collection service on one of the caller's collections (its own transaction),
    then answer the collection as it is now.
    """

    def work() -> dict[str, Any]:
        with session_scope() as db:
            service(session=db, user_id=caller.id, collection_id=collection_id, **arguments)
        return _summary(caller, collection_id)

    result: dict[str, Any] = await _run(work)
    return result


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


@route.post(
    routes.API_V1_COLLECTIONS,
    response_model=CollectionObject,
    status_code=201,
    responses=errors(400, 413),
)
async def create_collection(body: CollectionBody, caller: CallerDep) -> Any:
    """A new, empty collection."""

    def work() -> dict[str, Any]:
        with session_scope() as db:
            made = collections.create_collection(session=db, user_id=caller.id, name=body.name)
            return collection_object(made, 0)

    return await _run(work)


@route.get(routes.API_V1_COLLECTION, response_model=CollectionObject, responses=errors(404))
async def get_collection(collection_id: str, caller: CallerDep) -> Any:
    """One of your collections."""
    return await _run(lambda: _summary(caller, collection_id))


@route.patch(
    routes.API_V1_COLLECTION, response_model=CollectionObject, responses=errors(400, 404, 413)
)
async def rename_collection(collection_id: str, body: CollectionBody, caller: CallerDep) -> Any:
    """A new name."""
    return await _change(caller, collection_id, collections.rename_collection, name=body.name)


@route.delete(routes.API_V1_COLLECTION, response_model=CollectionDeleted, responses=errors(404))
async def delete_collection(collection_id: str, caller: CallerDep) -> Any:
    """Delete a collection (its images stay)."""

    def work() -> dict[str, Any]:
        with session_scope() as db:
            collections.delete_collection(
                session=db, user_id=caller.id, collection_id=collection_id
            )
        return {"id": collection_id, "object": "collection", "deleted": True}

    return await _run(work)


@route.get(routes.API_V1_COLLECTION_IMAGES, response_model=ImagesPage, responses=errors(400, 404))
async def collection_images(
    collection_id: str,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    """The images of a collection, a page at a time."""

    def work() -> dict[str, Any]:
        with session_scope() as db:
            found = collections.collection_images(
                session=db,
                user_id=caller.id,
                collection_id=collection_id,
                limit=limit + 1,
                offset=offset,
            )
            shown = found[:limit]
            return {**_images_list(shown), "has_more": len(found) > limit}

    return await _run(work)


@route.post(
    routes.API_V1_COLLECTION_IMAGES,
    response_model=CollectionObject,
    responses=errors(400, 404, 413),
)
async def add_collection_images(collection_id: str, body: IdsBody, caller: CallerDep) -> Any:
    """Add images to a collection."""
    return await _change(caller, collection_id, collections.add_images, image_ids=body.ids)


@route.post(
    routes.API_V1_COLLECTION_IMAGES_REMOVE,
    response_model=CollectionObject,
    responses=errors(400, 404, 413),
)
async def remove_collection_images(collection_id: str, body: IdsBody, caller: CallerDep) -> Any:
    """Take images out of a collection (they stay in your library)."""
    return await _change(caller, collection_id, collections.remove_images, image_ids=body.ids)


@route.put(routes.API_V1_COLLECTION_SHARE, response_model=CollectionObject, responses=errors(404))
async def share_collection(collection_id: str, caller: CallerDep) -> Any:
    """Make a public link (`share_url`)."""
    return await _change(caller, collection_id, collections.share_collection)


@route.delete(
    routes.API_V1_COLLECTION_SHARE, response_model=CollectionObject, responses=errors(404)
)
async def stop_sharing_collection(collection_id: str, caller: CallerDep) -> Any:
    """Stop the public link."""
    return await _change(caller, collection_id, collections.stop_sharing_collection)


# -- exports --------------------------------------------------------------------------------


@route.post(
    routes.API_V1_EXPORTS, response_model=ExportObject, status_code=202, responses=errors(409)
)
async def create_export(caller: CallerDep) -> Any:
    """Start preparing an archive of all your data."""
    from workers.export_data import enqueue_export  # the broker, only when used

    def work() -> dict[str, Any]:
        with session_scope() as db:
            export = exports.request_export(session=db, user_id=caller.id, enqueue=enqueue_export)
        return export_object(export)

    return await _run(work)


def _owned_export(caller: Caller, export_id: str) -> DataExport:
    with session_scope() as db:
        export = exports.get_export(session=db, user_id=caller.id, export_id=export_id)
        _detached(db, export)
        return export


@route.get(routes.API_V1_EXPORT, response_model=ExportObject, responses=errors(404))
async def get_export(export_id: str, caller: CallerDep) -> Any:
    """Its status, and the download URL once ready."""
    return await _run(lambda: export_object(_owned_export(caller, export_id)))


@route.get(
    routes.API_V1_EXPORT_DOWNLOAD,
    response_class=Response,
    responses={200: ZIP, **errors(404)},
)
async def download_export(export_id: str, caller: CallerDep) -> Response:
    """The archive (404 until ready, and after)."""
    from imagegen.http.files import export_file_response

    def work() -> Response:
        export = _owned_export(caller, export_id)
        if not exports.downloadable(export):
            raise ExportNotFound()
        response = export_file_response(export)
        if response.status_code == 404:
            raise ExportNotFound()
        return response

    answer: Response = await _run(work)
    return answer
