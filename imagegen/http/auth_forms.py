"""The sign-in, register, password and email forms: each posts here, answers a 303 back to a
page (with a one-time message on refusal) and, on success, sets the session cookie.
"""

import asyncio
import logging
import weakref
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from imagegen import routes, security
from imagegen.db import session_scope
from imagegen.errors import (
    ImagegenError,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
)
from imagegen.http.bodies import read_form
from imagegen.http.session import (
    clear_session_cookie,
    client_ip,
    cross_site_refusal,
    same_origin,
    sign_in,
)
from imagegen.redis_client import get_redis
from imagegen.services import (
    accounts,
    auth,
    flash,
)
from imagegen.services.mail import send_after_commit
from imagegen.services.throttle import (
    Throttle,
    login_failures,
    registrations_per_ip,
    reset_requests,
    sign_ins_per_ip,
)
from imagegen.settings import get_settings

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 16 * 1024


def login_throttle() -> Throttle:
    """5 failures per email+IP per 15 minutes (configurable)."""
    return login_failures(get_settings())


def throttle_email(raw: str) -> str:
    """The email as the user lookup sees it (so every spelling of one address shares one
    budget); what does not parse is only lower-cased (it matches no account anyway).
    """
    try:
        return auth.normalize_email(raw[:320])
    except InvalidInput:
        return raw.strip().lower()[:320]


_password_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]"
_password_limiters = weakref.WeakKeyDictionary()


def password_limiter() -> anyio.CapacityLimiter:
    """Threads for the routes that hash or check a password: as many as hashing slots, so the
    requests beyond them wait in the event loop, not in threads /api/health needs too.
    """
    loop = asyncio.get_running_loop()
    limiter = _password_limiters.get(loop)
    if limiter is None:
        limiter = _password_limiters[loop] = anyio.CapacityLimiter(security.HASHING_SLOTS)
    return limiter


def _back(path: str, error: ImagegenError, **keep: str) -> RedirectResponse:
    """303 back to a form page with a one-time error message and the fields worth keeping."""
    flash_id = flash.put(get_redis(), str(error))
    query = urlencode({"flash": flash_id, **{k: v for k, v in keep.items() if v}})
    return RedirectResponse(f"{path}?{query}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    return await read_form(request, MAX_FORM_BYTES)


async def login(request: Request) -> Response:
    """POST /api/auth/login: check the password, start a session, 303 to the home page."""
    if not same_origin(request):
        return cross_site_refusal()
    form = await _form(request)
    email, password = form.get("email", "").strip()[:320], form.get("password", "")
    ip = client_ip(request)
    throttle, redis_client = login_throttle(), get_redis()
    key = (throttle_email(email), ip)

    def admit() -> Response | None:
        """The per-IP budget and this email's failures, before any password work."""
        try:
            sign_ins_per_ip(get_settings()).hit(redis_client, ip)
            throttle.check(redis_client, *key)
        except TooManyAttempts as exc:
            return _back(routes.LOGIN, exc, email=email)
        return None

    def attempt() -> Response:
        try:
            with session_scope() as db:
                user = auth.authenticate(session=db, email=email, password=password)
        except InvalidCredentials as exc:
            throttle.record_failure(redis_client, *key)
            return _back(routes.LOGIN, exc, email=email)
        except InvalidInput as exc:  # a disabled account
            return _back(routes.LOGIN, exc, email=email)
        throttle.reset(redis_client, *key)
        return sign_in(user, request)

    refused = await anyio.to_thread.run_sync(admit)
    if refused is not None:
        return refused
    return await anyio.to_thread.run_sync(attempt, limiter=password_limiter())


async def register(request: Request) -> Response:
    """POST /api/auth/register: create the account, start a session, 303 to the home page."""
    if not same_origin(request):
        return cross_site_refusal()
    form = await _form(request)
    name, email = form.get("name", ""), form.get("email", "")
    ip, redis_client = client_ip(request), get_redis()
    budget = registrations_per_ip(get_settings())

    def admit() -> Response | None:
        try:
            budget.hit(redis_client, ip)  # counted before the account exists: no race past it
        except TooManyAttempts as exc:
            return _back(routes.REGISTER, exc, name=name.strip()[:100], email=email.strip()[:320])
        return None

    def attempt() -> Response:
        try:
            with session_scope() as db:
                user = auth.register_user(
                    session=db, name=name, email=email, password=form.get("password", "")
                )
                send_after_commit(
                    db,
                    accounts.verification_email(
                        session=db, user=user, api_url=get_settings().backend_url
                    ),
                )
        except ImagegenError as exc:
            budget.give_back(redis_client, ip)  # no account was made
            return _back(routes.REGISTER, exc, name=name.strip()[:100], email=email.strip()[:320])
        log.info("registered user %s", user.id)
        return sign_in(user, request)

    refused = await anyio.to_thread.run_sync(admit)
    if refused is not None:
        return refused
    return await anyio.to_thread.run_sync(attempt, limiter=password_limiter())


def reset_throttle() -> Throttle:
    """At most 5 reset requests per email+IP an hour."""
    return reset_requests()


async def forgot_password(request: Request) -> Response:
    """POST /api/auth/forgot-password: email a reset link; the answer never says if the
    account exists.
    """
    if not same_origin(request):
        return cross_site_refusal()
    form = await _form(request)
    email = form.get("email", "").strip()[:320]
    key = (throttle_email(email), client_ip(request))

    def request_reset() -> Response:
        throttle, client = reset_throttle(), get_redis()
        try:
            throttle.check(client, *key)
        except TooManyAttempts as exc:
            return _back(routes.FORGOT_PASSWORD, exc, email=email)
        throttle.record_failure(client, *key)  # every request counts
        with session_scope() as db:
            message = accounts.password_reset_email(
                session=db, email=email, app_url=get_settings().app_url
            )
            if message is not None:
                send_after_commit(db, message)
        return RedirectResponse(f"{routes.FORGOT_PASSWORD}?sent=1", status_code=303)

    return await anyio.to_thread.run_sync(request_reset)


async def reset_password(request: Request) -> Response:
    """POST /api/auth/reset-password: set the new password, sign out everywhere, go sign in."""
    if not same_origin(request):
        return cross_site_refusal()
    form = await _form(request)
    token = form.get("token", "")

    def reset() -> Response:
        try:
            with session_scope() as db:
                accounts.reset_password(
                    session=db, token=token, new_password=form.get("password", "")
                )
        except ImagegenError as exc:
            return _back(routes.RESET_PASSWORD, exc, token=token[:100])
        done = flash.put(
            get_redis(), "Your password was changed. Sign in with the new one.", kind="info"
        )
        return RedirectResponse(f"{routes.LOGIN}?{urlencode({'flash': done})}", status_code=303)

    return await anyio.to_thread.run_sync(reset, limiter=password_limiter())


async def verify_email(request: Request) -> Response:
    """GET /api/auth/verify-email?token=…: confirm the address, then go home with a message."""
    token = request.query_params.get("token", "")

    def verify() -> Response:
        try:
            with session_scope() as db:
                accounts.verify_email(session=db, token=token)
            message, kind = "Thanks, your email address is confirmed.", "info"
        except ImagegenError as exc:
            message, kind = str(exc), "error"
        flash_id = flash.put(get_redis(), message, kind=kind)
        return RedirectResponse(f"{routes.HOME}?{urlencode({'flash': flash_id})}", status_code=303)

    return await anyio.to_thread.run_sync(verify)


async def logout(request: Request) -> Response:
    """POST /api/auth/logout: delete the session row and the cookie."""
    if not same_origin(request):
        return cross_site_refusal()
    token = request.cookies.get(routes.SESSION_COOKIE)

    def end() -> None:
        with session_scope() as db:
            auth.end_session(session=db, token=token)

    await anyio.to_thread.run_sync(end)
    response = RedirectResponse(routes.LOGIN, status_code=303)
    clear_session_cookie(response)
    return response
