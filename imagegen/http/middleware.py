"""ASGI middleware around the whole app: a request id for every HTTP request (logged, echoed
in X-Request-ID), security headers on every response, and the session cookie's lifetime kept
in step with the database row, whose expiry slides forward while the user is active.
"""

import logging
import posixpath
import re
import time
from urllib.parse import parse_qs, urlsplit

import anyio
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imagegen import logs, routes
from imagegen.http import urls
from imagegen.http.session import is_admin, refreshed_cookie, token_from_cookie_header
from imagegen.settings import Settings, get_settings

log = logging.getLogger("imagegen.http")

_SKIP_PREFIXES = (
    "/api/",
    "/s/",
    "/c/",
    "/_event",
    "/_upload",
    "/_health",
    "/ping",
    "/assets/",
    "/favicon",
)


def _session_cookie(scope: Scope) -> str | None:
    return token_from_cookie_header(_header(scope, b"cookie"))


def _wants_html(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET":
        return False
    if scope["path"].startswith(_SKIP_PREFIXES) or "." in scope["path"].rsplit("/", 1)[-1]:
        return False
    return any(name == b"accept" and b"text/html" in value for name, value in scope["headers"])


def session_cookie_refresh(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so full page loads re-issue the session cookie with its current lifetime."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        token = _session_cookie(scope) if _wants_html(scope) else None
        if not token:
            await app(scope, receive, send)
            return
        set_cookie = await anyio.to_thread.run_sync(refreshed_cookie, token)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and set_cookie:
                MutableHeaders(scope=message).append("set-cookie", set_cookie)
            await send(message)

        await app(scope, receive, send_with_cookie)

    return middleware


def _header(scope: Scope, wanted: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


def request_context(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so each HTTP request runs with a request id (the proxy's X-Request-ID when
    sane, else a new one) that every log line carries and the response echoes; API requests
    get one access log line with status and duration.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        rid = logs.new_request_id(_header(scope, b"x-request-id"))
        token = logs.request_id.set(rid)
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["x-request-id"] = rid
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if scope["path"].startswith("/api/"):
                log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - start) * 1000,
                )
            logs.request_id.reset(token)

    return middleware


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    """What the Reflex build needs and nothing more: scripts only from here (React Router
    inlines its hydration data, hence 'unsafe-inline'; Reflex runs the client actions a handler
    sends back, such as toasts, clipboard and scrolling, through eval, hence 'unsafe-eval'),
    inline styles (Radix), images from here, data: URLs and the ImageKit endpoint, sockets to
    here; no plugins; never framed. React escapes all text, so prompts never become markup.
    """
    images = " ".join(
        o for o in ("'self'", "data:", "blob:", _origin(settings.imagekit_url_endpoint)) if o
    )
    app = _origin(settings.app_url)
    sockets = app.replace("http", "ws", 1) if app else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self' data:",
            f"connect-src 'self' {sockets}".strip(),
            "object-src 'none'",
            "base-uri 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so every HTTP response carries the security headers (a handler's own
    Content-Security-Policy, if it set one, wins).
    """
    settings = get_settings()
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "DENY",
        "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if settings.secure_cookies:  # served over https
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    if name not in response_headers:
                        response_headers[name] = value
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


NOT_FOUND_HTML = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Not found</title>"
    b"</head><body style='font-family: system-ui, sans-serif; margin: 4rem auto; "
    b"max-width: 32rem'><h1>Not found</h1><p>There is no page here.</p>"
    b"<p><a href='/'>Go to imagegen</a></p></body></html>"
)


def admin_gate(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so /admin answers 404 to everyone but admins (the page's events check the
    role again on the server, so client-side navigation gets nothing either).
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not is_admin_path(path):
            await app(scope, receive, send)
            return
        if await anyio.to_thread.run_sync(is_admin, _session_cookie(scope)):
            await app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": NOT_FOUND_HTML})

    return middleware


# The only client token shape Reflex's frontend makes (and its server hands out on a
# duplicate tab): a lower-case UUID. A user's shared feed is named by a secret that is never
# one (state.feed.feed_token), so no socket can ever name it.
_CLIENT_TOKEN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_client_token(value: str | None) -> bool:
    return value is not None and _CLIENT_TOKEN.fullmatch(value) is not None


def socket_token_guard(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so Reflex's socket (`/_event`) and upload route (`/_upload`) refuse client
    tokens that are not the UUIDs Reflex makes: a client chooses its own token, and one naming
    a shared state would read it.
    """

    async def refuse(scope: Scope, send: Send) -> None:
        log.warning("refused a %s with an unexpected client token", scope["path"])
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": b"Forbidden"})

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        path = scope.get("path", "")
        if path.startswith(routes.REFLEX_EVENT):
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            tokens = query.get("token", [])
            if len(tokens) != 1 or not _is_client_token(tokens[0]):
                await refuse(scope, send)
                return
        elif path.startswith(routes.REFLEX_UPLOAD):
            token = _header(scope, b"reflex-client-token")
            if not _is_client_token(token):
                await refuse(scope, send)
                return
        await app(scope, receive, send)

    return middleware


def is_admin_path(path: str) -> bool:
    """Whether the static server (or the client router behind its SPA fallback) could answer
    `path` with the admin page: /admin, /admin/, /admin.html, /admin/index.html, /ADMIN,
    //admin, /x/../admin.html, /admin.html.gz and the like.
    """
    normalised = posixpath.normpath("/" + path.replace("\\", "/")).lower()
    first = normalised.lstrip("/").split("/", 1)[0]
    return first.split(".", 1)[0].strip() == routes.ADMIN.strip("/").lower()


def frontend_redirects(app: ASGIApp) -> ASGIApp:
    """Split origins (API_URL is not APP_URL): a backend redirect to a page — after a form
    post, an OAuth callback or an email link — goes to APP_URL, not to the backend's host.
    With one origin this adds nothing.
    """
    if not get_settings().split_origins:
        return app

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def send_to_frontend(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                headers = MutableHeaders(scope=message)
                location = headers.get("location", "")
                if not location.startswith(urls.BACKEND_PREFIXES):
                    headers["location"] = urls.frontend(location)
            await send(message)

        await app(scope, receive, send_to_frontend)

    return middleware
