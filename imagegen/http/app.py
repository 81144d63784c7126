"""The HTTP app Reflex mounts its own routes under (`rx.App(api_transformer=...)`): one route
table, every path from `imagegen.routes`, each handler in the module of its concern.
"""

import redis
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from imagegen import routes
from imagegen.http import (
    api_v1,
    api_v1_library,
    auth_forms,
    collection_share,
    files,
    oauth,
    ops,
    outages,
    share,
    webhooks,
)
from imagegen.http.bodies import BodyTooLarge


async def openapi_document(_: Request) -> JSONResponse:
    """GET /api/openapi.json: the OpenAPI description of these routes."""
    from imagegen.http.openapi import openapi_schema

    return JSONResponse(openapi_schema())


async def openapi_v1_document(_: Request) -> JSONResponse:
    """GET /api/v1/openapi.json: the REST API's OpenAPI description."""
    from imagegen.http.openapi import openapi_v1_schema

    return JSONResponse(openapi_v1_schema())


def _route(path: str, **handlers: api_v1_library.Handler) -> Route:
    return api_v1_library.route(path, **handlers)


def route_table() -> list[Route]:
    """Every route this app serves in front of Reflex."""
    lib = api_v1_library
    return [
        # Forms that sign in and out (303 back to a page).
        Route(routes.API_LOGIN, auth_forms.login, methods=["POST"]),
        Route(routes.API_REGISTER, auth_forms.register, methods=["POST"]),
        Route(routes.API_LOGOUT, auth_forms.logout, methods=["POST"]),
        Route(routes.API_FORGOT_PASSWORD, auth_forms.forgot_password, methods=["POST"]),
        Route(routes.API_RESET_PASSWORD, auth_forms.reset_password, methods=["POST"]),
        Route(routes.API_VERIFY_EMAIL, auth_forms.verify_email, methods=["GET"]),
        Route(routes.API_OAUTH_START, oauth.oauth_start, methods=["GET"]),
        Route(routes.API_OAUTH_CALLBACK, oauth.oauth_callback, methods=["GET"]),
        # Operations.
        Route(routes.API_HEALTH, ops.health_check, methods=["GET"]),
        Route(routes.API_METRICS, ops.metrics, methods=["GET"]),
        Route(routes.API_READY, ops.readiness, methods=["GET"]),
        Route(routes.API_OPENAPI, openapi_document, methods=["GET"]),
        Route(routes.API_POLAR_WEBHOOK, webhooks.polar_webhook, methods=["POST"]),
        # The owner's files.
        Route(routes.API_IMAGE_FILE + "/{key:path}", files.image_file, methods=["GET"]),
        Route(routes.API_IMAGE_DOWNLOAD, files.image_download, methods=["GET"]),
        Route(routes.API_IMAGES_ZIP, files.images_zip, methods=["POST"]),
        Route(routes.API_EXPORT_BY_TOKEN, files.export_download_by_token, methods=["GET"]),
        Route(routes.API_EXPORT_DOWNLOAD, files.export_download, methods=["GET"]),
        # Public share pages.
        Route(routes.SHARE_PAGE, share.shared_page, methods=["GET"]),
        Route(routes.SHARE_IMAGE, share.shared_image, methods=["GET"]),
        Route(routes.COLLECTION_PAGE, collection_share.collection_page, methods=["GET"]),
        Route(routes.COLLECTION_IMAGE, collection_share.collection_image, methods=["GET"]),
        # The REST API.
        Route(routes.API_V1_GENERATIONS, api_v1.create_images, methods=["POST"]),
        Route(routes.API_V1_IMAGES, api_v1.list_images, methods=["GET"]),
        Route(routes.API_V1_OPENAPI, openapi_v1_document, methods=["GET"]),
        _route(routes.API_V1_FAVORITE, POST=lib.favorite_images),
        _route(routes.API_V1_DELETE, POST=lib.delete_images),
        _route(routes.API_V1_RESTORE, POST=lib.restore_images),
        _route(routes.API_V1_DOWNLOAD, POST=lib.download_images),
        _route(routes.API_V1_IMAGE_FAVORITE, PUT=lib.favorite_image, DELETE=lib.favorite_image),
        _route(routes.API_V1_IMAGE, GET=api_v1.get_image, DELETE=lib.delete_image),
        _route(routes.API_V1_COLLECTIONS, GET=lib.list_collections, POST=lib.create_collection),
        _route(
            routes.API_V1_COLLECTION,
            GET=lib.get_collection,
            PATCH=lib.rename_collection,
            DELETE=lib.delete_collection,
        ),
        _route(
            routes.API_V1_COLLECTION_IMAGES,
            GET=lib.collection_images,
            POST=lib.change_collection_images,
        ),
        _route(routes.API_V1_COLLECTION_IMAGES_REMOVE, POST=lib.change_collection_images),
        _route(
            routes.API_V1_COLLECTION_SHARE, PUT=lib.share_collection, DELETE=lib.share_collection
        ),
        _route(routes.API_V1_EXPORTS, POST=lib.create_export),
        _route(routes.API_V1_EXPORT, GET=lib.get_export),
        _route(routes.API_V1_EXPORT_DOWNLOAD, GET=lib.download_export),
    ]


def build_api() -> Starlette:
    """The Starlette app Reflex mounts its own routes under."""
    return Starlette(
        exception_handlers={
            BodyTooLarge: outages.too_large,
            OperationalError: outages.unavailable,
            InterfaceError: outages.unavailable,
            redis.ConnectionError: outages.unavailable,
            redis.TimeoutError: outages.unavailable,
        },
        routes=route_table(),
    )
