"""Who is calling: the session cookie (or an API key) resolved to the signed-in user.

The only place that reads the session cookie, builds its Set-Cookie header and checks that a
form post came from this site. Routes, middleware and the Reflex states call it.
"""

import uuid
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from imagegen import routes
from imagegen.db import session_scope
from imagegen.models import User, utcnow
from imagegen.services import api_keys, auth
from imagegen.settings import get_settings


def client_ip(request: Request) -> str:
    """The peer address (proxy headers are honoured by the server in front, not here)."""
    return request.client.host if request.client else ""


def same_origin(request: Request) -> bool:
    """Refuse cross-site form posts: the Origin (when sent) must be this host or APP_URL."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    netloc = urlsplit(origin).netloc
    return netloc == request.headers.get("host") or origin == get_settings().app_url


CROSS_SITE = "Cross-site request refused."


def cross_site_refusal() -> Response:
    """What a form post from another site gets."""
    return Response(CROSS_SITE, status_code=403, media_type="text/plain")


def token_from_cookie_header(raw: str | None) -> str | None:
    """The session token of a raw `Cookie:` header (None when absent or unreadable)."""
    if not raw:
        return None
    try:
        morsel = SimpleCookie(raw).get(routes.SESSION_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


def bearer_token(request: Request) -> str | None:
    """The key of an `Authorization: Bearer <key>` header."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def resolve(token: str | None) -> auth.SignedIn | None:
    """The session behind a cookie token (its expiry slides forward), or None. Blocking."""
    if not token:
        return None
    with session_scope() as db:
        return auth.resolve_session(
            session=db, token=token, policy=auth.session_policy(get_settings())
        )


def signed_in_user_id(request: Request) -> uuid.UUID | None:
    """The user of the session cookie, or of an API key (`Authorization: Bearer`). Blocking."""
    if key := bearer_token(request):
        with session_scope() as db:
            user = api_keys.authenticate(session=db, plaintext=key)
            return user.id if user else None
    signed_in = resolve(request.cookies.get(routes.SESSION_COOKIE))
    return signed_in.user.id if signed_in else None


def is_admin(token: str | None) -> bool:
    """Whether the cookie token belongs to an admin's live session. Blocking."""
    signed_in = resolve(token)
    return bool(signed_in and signed_in.user.role == "admin")


def cookie_header(token: str, expires_at: datetime | None) -> str:
    """The Set-Cookie value: HttpOnly, SameSite=Lax, Secure under https, living as long as the
    session row; `expires_at=None` deletes the cookie.
    """
    settings = get_settings()
    cookie: SimpleCookie = SimpleCookie()
    cookie[routes.SESSION_COOKIE] = token if expires_at else ""
    morsel = cookie[routes.SESSION_COOKIE]
    morsel["path"] = "/"
    if settings.cookie_domain:
        morsel["domain"] = settings.cookie_domain
    morsel["httponly"] = True
    morsel["samesite"] = "Lax"
    morsel["secure"] = settings.secure_cookies
    morsel["max-age"] = max(0, round((expires_at - utcnow()).total_seconds())) if expires_at else 0
    return morsel.OutputString()


def set_session_cookie(response: Response, token: str, expires_at: datetime) -> None:
    """Sign the browser in for as long as the session row lives."""
    response.headers.append("set-cookie", cookie_header(token, expires_at))


def clear_session_cookie(response: Response) -> None:
    """Sign the browser out."""
    response.headers.append("set-cookie", cookie_header("", None))


def refreshed_cookie(token: str) -> str:
    """The Set-Cookie value for a page load: the remaining lifetime, or deleting a dead cookie.
    Blocking.
    """
    signed_in = resolve(token)
    return cookie_header(token, signed_in.expires_at if signed_in else None)


def sign_in(user: User, request: Request) -> RedirectResponse:
    """Start a session for `user` (a new row, the cookie set) and go home. Blocking."""
    with session_scope() as db:
        token, row = auth.create_session(
            session=db,
            user=user,
            ip_address=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            policy=auth.session_policy(get_settings()),
        )
    response = RedirectResponse(routes.HOME, status_code=303)
    set_session_cookie(response, token, row.expires_at)
    return response
