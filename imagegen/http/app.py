"""The HTTP app Reflex mounts its own routes under (`rx.App(api_transformer=...)`): one route
table, every path from `imagegen.routes`, each handler in the module of its concern.
"""

import redis
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route

from imagegen import routes
from imagegen.http import (
    api_v1,
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
    """GET /api/openapi.json: the OpenAPI description of the form, file and webhook routes
    (the REST API's is generated at /api/v1/openapi.json).
    """
    from imagegen.http.openapi import openapi_schema

    return JSONResponse(openapi_schema())


def route_table() -> list[Route]:
    """Every route this app serves in front of Reflex."""
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
    ]


def _flat(table: list[BaseRoute]) -> list[Route | APIRoute]:
    """Every route of a table, those of included routers too."""
    found: list[Route | APIRoute] = []
    for route in table:
        if isinstance(route, Route | APIRoute):
            found.append(route)
        elif (included := getattr(route, "original_router", None)) is not None:
            found.extend(_flat(included.routes))
    return found


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's 404/405 answers; under /api/v1 in OpenAI's error shape, and a 405's Allow
    lists every method of the path (FastAPI has one route per method).
    """
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=headers)
    if exc.status_code == 405:
        matching = [
            route
            for route in _flat(request.app.router.routes)
            if route.matches(request.scope)[0] != Match.NONE
        ]
        # The most specific path: /images/delete, not /images/{image_id}.
        path = min((route.path for route in matching), key=lambda p: p.count("{"), default="")
        methods = {m for route in matching if route.path == path for m in route.methods or ()}
        headers["Allow"] = ", ".join(sorted(methods))
    if request.url.path.startswith(routes.API_V1 + "/"):
        response = api_v1.error(exc.status_code, exc.detail, "invalid_request_error")
        response.headers.update(headers)
        return response
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=headers)


def build_api() -> FastAPI:
    """The app Reflex mounts its own routes under: FastAPI for the JSON REST API (typed
    bodies, the generated /api/v1/openapi.json), plain Starlette routes for the rest.
    """
    app = api_v1.build_v1()
    app.router.routes.extend(route_table())
    for exc, handler in {
        BodyTooLarge: outages.too_large,
        OperationalError: outages.unavailable,
        InterfaceError: outages.unavailable,
        redis.ConnectionError: outages.unavailable,
        redis.TimeoutError: outages.unavailable,
        HTTPException: http_error,
    }.items():
        app.add_exception_handler(exc, handler)
    return app
