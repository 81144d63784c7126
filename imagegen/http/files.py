"""Private files: an owner's images (original, thumbnails, download, zip) and data exports.
Anyone else, signed out or signed in, gets the same 404 as a missing file.
"""

import logging
import uuid

import anyio
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from imagegen import security
from imagegen.db import session_scope
from imagegen.errors import (
    ExportNotFound,
    ImageNotFound,
    InvalidInput,
)
from imagegen.http.bodies import read_form
from imagegen.http.session import (
    cross_site_refusal,
    same_origin,
    signed_in_user_id,
)
from imagegen.models import DataExport, Image, utcnow
from imagegen.providers.compose import get_storage
from imagegen.providers.image_storage import THUMB_WIDTHS
from imagegen.services import (
    archive,
    exports,
    generation,
    library,
)
from imagegen.settings import get_settings

log = logging.getLogger(__name__)


def _owned_image(request: Request, image_id: str) -> "Image | None":
    """The signed-in user's image, or None (not signed in, no such image, or someone else's)."""
    user_id = signed_in_user_id(request)
    if user_id is None:
        return None
    with session_scope() as db:
        try:
            return generation.get_image(session=db, user_id=user_id, image_id=image_id)
        except ImageNotFound:
            return None


NOT_FOUND = Response("Not found", status_code=404, media_type="text/plain")


async def image_file(request: Request) -> Response:
    """GET /api/images/file/{user}/{image}.png[?w=N]: local files, only to their owner (404 else)."""
    key = request.path_params["key"]
    image_id = key.rsplit("/", 1)[-1].removesuffix(".png")

    def serve() -> Response:
        image = _owned_image(request, image_id)
        storage = get_storage()
        if image is None or image.storage_key != key:
            return NOT_FOUND
        if storage.direct_url(stored_url=image.image_url or "") is not None:
            return NOT_FOUND  # a CDN serves its files itself
        width = thumb_width(request.query_params.get("w", ""), image.width)
        headers = private_cache(request, image, f"{key}?w={width}")
        if headers is None:
            return Response(status_code=304, headers=_validators(image, f"{key}?w={width}"))
        try:
            if width:
                data, media = storage.thumbnail(key=key, width=width), "image/webp"
            else:
                data, media = storage.read(key=key), "image/png"
        except (FileNotFoundError, ValueError):
            return NOT_FOUND
        return Response(data, media_type=media, headers=headers)

    return await anyio.to_thread.run_sync(serve)


async def image_download(request: Request) -> Response:
    """GET /api/images/{id}/download: the owner's image as an attachment (404 for anyone else)."""
    image_id = request.path_params["image_id"]

    def serve() -> Response:
        image = _owned_image(request, image_id)
        if image is None or image.status != "completed" or not image.storage_key:
            return NOT_FOUND
        filename = f"imagegen-{image.id}.png"
        headers = private_cache(request, image, f"{image.storage_key}?download")
        if headers is None:
            return Response(
                status_code=304, headers=_validators(image, f"{image.storage_key}?download")
            )
        storage = get_storage()
        direct = storage.direct_url(stored_url=image.image_url or "", attachment=True)
        if direct is not None:  # a CDN: let it send the bytes as an attachment
            return RedirectResponse(direct, status_code=302)
        try:
            data = storage.read(key=image.storage_key)
        except (FileNotFoundError, ValueError):
            return NOT_FOUND
        return Response(
            data,
            media_type="image/png",
            headers={**headers, "content-disposition": f'attachment; filename="{filename}"'},
        )

    return await anyio.to_thread.run_sync(serve)


MAX_ZIP_FORM_BYTES = 64 * 1024  # room for 1,000 image ids


def _zip_images(user_id: uuid.UUID, raw_ids: list[str]) -> list[Image] | None:
    """The user's images to zip, in the order asked; None when any id is not theirs."""
    with session_scope() as db:
        try:
            images = library.owned_images(session=db, user_id=user_id, image_ids=raw_ids)
        except (ImageNotFound, InvalidInput):
            return None
        for image in images:
            db.expunge(image)
        return images


def zip_response(images: list[Image]) -> StreamingResponse:
    """The images as a zip, streamed as it is written (memory stays flat however many)."""
    stamp = f"{utcnow():%Y-%m-%d_%H%M}"
    return StreamingResponse(
        archive.stream_zip(archive.image_entries(images, get_storage())),
        media_type="application/zip",
        headers={
            "content-disposition": f'attachment; filename="imagegen-{stamp}.zip"',
            "cache-control": "no-store",
        },
    )


async def images_zip(request: Request) -> Response:
    """POST /api/images/zip (form field `ids`, comma-separated): the signed-in user's images
    as one zip download; 404 when any id is not theirs.
    """
    if not same_origin(request):
        return cross_site_refusal()
    form = await read_form(request, MAX_ZIP_FORM_BYTES)
    raw_ids = [part.strip() for part in form.get("ids", "").split(",") if part.strip()]

    def find() -> list[Image] | None:
        user_id = signed_in_user_id(request)
        return None if user_id is None else _zip_images(user_id, raw_ids)

    images = await anyio.to_thread.run_sync(find)
    return NOT_FOUND if not images else zip_response(images)


EXPORT_HEADERS = {"cache-control": "private, no-store", "referrer-policy": "no-referrer"}


def export_file_response(export: DataExport) -> Response:
    """The archive of a ready export as a download (streamed from disk)."""
    path = exports.export_folder(get_settings().data_dir) / (export.file_name or "")
    if not path.is_file():
        return NOT_FOUND
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"imagegen-export-{export.created_at:%Y-%m-%d}.zip",
        headers=EXPORT_HEADERS,
    )


async def export_download(request: Request) -> Response:
    """GET /api/exports/{export_id}/download: the owner's ready export (404 for anyone else,
    and once the link has expired).
    """

    def find() -> DataExport | None:
        user_id = signed_in_user_id(request)
        if user_id is None:
            return None
        with session_scope() as db:
            try:
                export = exports.get_export(
                    session=db, user_id=user_id, export_id=request.path_params["export_id"]
                )
            except ExportNotFound:
                return None
            return export if exports.downloadable(export) else None

    export = await anyio.to_thread.run_sync(find)
    return NOT_FOUND if export is None else export_file_response(export)


async def export_download_by_token(request: Request) -> Response:
    """GET /api/exports/download?token=…: the emailed link of an export, for 24 hours."""
    token = request.query_params.get("token", "")

    def find() -> DataExport | None:
        with session_scope() as db:
            return exports.export_by_token(session=db, token=token)

    export = await anyio.to_thread.run_sync(find)
    return NOT_FOUND if export is None else export_file_response(export)


# The browser keeps a private image but asks again before each use (a cheap 304 while it is
# still the owner's): once the image is deleted or the user signs out, it is gone for them.
PRIVATE_CACHE = {"cache-control": "private, no-cache", "x-content-type-options": "nosniff"}


def thumb_width(raw: str, image_width: int | None) -> int | None:
    """The thumbnail width to serve for `?w=`: the allowed width nearest the one asked for,
    None (the original) when none was asked or it is not smaller than the image.
    """
    if not raw.isdigit() or len(raw) > 6:
        return None
    width = min(THUMB_WIDTHS, key=lambda allowed: (abs(allowed - int(raw)), allowed))
    return width if width < (image_width or 4096) else None


def _validators(image: Image, variant: str) -> dict[str, str]:
    """ETag and Last-Modified of one stored variant (stored files never change)."""
    etag = '"' + security.hash_token(f"{image.id}|{variant}")[:32] + '"'
    stamp = image.completed_at or image.created_at
    return {
        **PRIVATE_CACHE,
        "etag": etag,
        "last-modified": stamp.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


def private_cache(request: Request, image: Image, variant: str) -> dict[str, str] | None:
    """The caching headers of a private image; None when the browser's copy is current (304)."""
    headers = _validators(image, variant)
    sent = request.headers.get("if-none-match", "")
    if headers["etag"] in (tag.strip().removeprefix("W/") for tag in sent.split(",")):
        return None
    return headers
