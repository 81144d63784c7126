"""Answers when a body is too large or PostgreSQL / Redis is down: the shape each caller reads."""

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    Response,
)

from imagegen.http.api_v1 import error as api_error

log = logging.getLogger(__name__)

UNAVAILABLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Back in a moment · imagegen</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>Back in a moment</h1>
<p>imagegen could not reach its {what} just now. Nothing you sent was half-saved: go back and
try again in a few seconds.</p></body></html>"""


async def too_large(request: Request, exc: Exception) -> Response:
    """A body over its route's limit: 413 in the shape the caller reads."""
    if request.url.path.startswith("/api/v1/"):
        return api_error(413, str(exc), "invalid_request_error", "request_too_large")
    if request.url.path.startswith("/api/webhooks/"):
        return JSONResponse({"error": "payload too large"}, status_code=413)
    return Response("The form is too large.", status_code=413, media_type="text/plain")


async def unavailable(request: Request, exc: Exception) -> Response:
    """A database or Redis outage: 503 with Retry-After, in the shape the caller reads."""
    what = "database" if isinstance(exc, (OperationalError, InterfaceError)) else "queue"
    log.warning("%s %s: %s unavailable: %s", request.method, request.url.path, what, exc)
    headers = {"Retry-After": "5"}
    message = f"The {what} is briefly unavailable; try again in a few seconds."
    if request.url.path.startswith("/api/v1/"):
        response = api_error(503, message, "server_error", "service_unavailable")
        response.headers.update(headers)
        return response
    if "text/html" in request.headers.get("accept", "") or request.method == "POST":
        return HTMLResponse(UNAVAILABLE_PAGE.format(what=what), status_code=503, headers=headers)
    return JSONResponse({"error": message}, status_code=503, headers=headers)
