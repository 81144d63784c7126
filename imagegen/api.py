"""HTTP routes that Reflex events cannot serve: cookie-setting auth forms and health.

Mounted in front of Reflex through `rx.App(api_transformer=...)`. Sessions live in an
HttpOnly cookie that JavaScript never sees; these routes are the only place it is set.
"""

import asyncio
import base64
import contextlib
import functools
import json
import logging
import secrets
import threading
import uuid
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import anyio
import redis
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from imagegen import api_v1, api_v1_library, collection_page, routes, security, share_page, urls
from imagegen.bodies import BodyTooLarge, read_body, read_form
from imagegen.db import get_engine, session_scope
from imagegen.errors import (
    ExportNotFound,
    ImagegenError,
    ImageNotFound,
    InvalidCredentials,
    InvalidInput,
    TooManyAttempts,
)
from imagegen.models import DataExport, Image, utcnow
from imagegen.providers.compose import get_storage
from imagegen.providers.image_storage import THUMB_WIDTHS, LocalImageStorage
from imagegen.providers.oauth import configured_providers
from imagegen.realtime import publish_account_changed
from imagegen.redis_client import get_redis
from imagegen.services import (
    accounts,
    api_keys,
    archive,
    auth,
    billing_events,
    exports,
    flash,
    generation,
    health,
    library,
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


def set_session_cookie(response: Response, token: str, expires_at: datetime) -> None:
    """HttpOnly, SameSite=Lax, Secure under https; lives as long as the session row."""
    response.set_cookie(
        routes.SESSION_COOKIE,
        token,
        max_age=max(0, round((expires_at - utcnow()).total_seconds())),
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
        path="/",
        domain=get_settings().cookie_domain,
    )


def _back(path: str, error: ImagegenError, **keep: str) -> RedirectResponse:
    """303 back to a form page with a one-time error message and the fields worth keeping."""
    flash_id = flash.put(get_redis(), str(error))
    query = urlencode({"flash": flash_id, **{k: v for k, v in keep.items() if v}})
    return RedirectResponse(f"{path}?{query}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    return await read_form(request, MAX_FORM_BYTES)


def _signed_in(user: auth.User, request: Request) -> RedirectResponse:
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


async def login(request: Request) -> Response:
    """POST /api/auth/login: check the password, start a session, 303 to the home page."""
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
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
        return _signed_in(user, request)

    refused = await anyio.to_thread.run_sync(admit)
    if refused is not None:
        return refused
    return await anyio.to_thread.run_sync(attempt, limiter=password_limiter())


async def register(request: Request) -> Response:
    """POST /api/auth/register: create the account, start a session, 303 to the home page."""
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
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
        return _signed_in(user, request)

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
        return Response("Cross-site request refused.", status_code=403)
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
        return Response("Cross-site request refused.", status_code=403)
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


OAUTH_STATE_TTL = 600


def _login_error(message: str) -> RedirectResponse:
    flash_id = flash.put(get_redis(), message)
    return RedirectResponse(f"{routes.LOGIN}?{urlencode({'flash': flash_id})}", status_code=303)


def _account_message(message: str, kind: str) -> RedirectResponse:
    flash_id = flash.put(get_redis(), message, kind=kind)
    return RedirectResponse(f"{routes.ACCOUNT}?{urlencode({'flash': flash_id})}", status_code=303)


def _oauth_redirect_uri(provider: str) -> str:
    return urls.absolute_backend(routes.oauth_callback(provider))


async def oauth_start(request: Request) -> Response:
    """GET /api/auth/oauth/{provider}/start: remember state + PKCE verifier, go to consent."""
    provider = configured_providers(get_settings()).get(request.path_params["provider"])
    if provider is None:
        return NOT_FOUND
    link_user = None
    if request.query_params.get("link") == "1":  # add this provider to the signed-in account
        link_user = await anyio.to_thread.run_sync(_signed_in_user_id, request)
        if link_user is None:
            return RedirectResponse(routes.LOGIN, status_code=303)
    auth_request = provider.authorize(redirect_uri=_oauth_redirect_uri(provider.name))
    record = json.dumps(
        {
            "provider": provider.name,
            "verifier": auth_request.code_verifier,
            "link_user": str(link_user) if link_user else None,
        }
    )
    await anyio.to_thread.run_sync(
        lambda: get_redis().set(f"oauth:{auth_request.state}", record, ex=OAUTH_STATE_TTL)
    )
    return RedirectResponse(auth_request.url, status_code=302)


async def oauth_callback(request: Request) -> Response:
    """GET /api/auth/oauth/{provider}/callback: check state, exchange the code, sign in."""
    name = request.path_params["provider"]
    provider = configured_providers(get_settings()).get(name)
    params = request.query_params
    state = params.get("state", "")[:200]

    def finish() -> Response:
        saved = get_redis().getdel(f"oauth:{state}") if state else None
        if provider is None:
            return NOT_FOUND
        if params.get("error"):
            if params["error"] == "access_denied":
                return _login_error(f"Sign-in with {provider.label} was cancelled.")
            return _login_error(f"{provider.label} could not sign you in ({params['error'][:60]}).")
        record = json.loads(saved) if saved else None
        if record is None or record.get("provider") != name:
            return _login_error(
                "That sign-in link has expired or was not started here. Please try again."
            )
        try:
            identity = provider.identify(
                code=params.get("code", ""),
                redirect_uri=_oauth_redirect_uri(name),
                code_verifier=record["verifier"],
            )
            if record.get("link_user"):
                with session_scope() as db:
                    accounts.link_identity(
                        session=db, user_id=uuid.UUID(record["link_user"]), identity=identity
                    )
                return _account_message(f"{provider.label} is now linked.", "info")
            with session_scope() as db:
                user = accounts.oauth_sign_in(session=db, identity=identity)
        except ImagegenError as exc:
            if record.get("link_user"):
                return _account_message(str(exc), "error")
            return _login_error(str(exc))
        return _signed_in(user, request)

    return await anyio.to_thread.run_sync(finish)


async def logout(request: Request) -> Response:
    """POST /api/auth/logout: delete the session row and the cookie."""
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
    token = request.cookies.get(routes.SESSION_COOKIE)

    def end() -> None:
        with session_scope() as db:
            auth.end_session(session=db, token=token)

    await anyio.to_thread.run_sync(end)
    response = RedirectResponse(routes.LOGIN, status_code=303)
    response.delete_cookie(
        routes.SESSION_COOKIE,
        path="/",
        domain=get_settings().cookie_domain,
        httponly=True,
        samesite="lax",
    )
    return response


_health_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]"
_health_limiters = weakref.WeakKeyDictionary()


def health_limiter() -> anyio.CapacityLimiter:
    """Threads of /api/health's own: it never queues behind a storm of other requests."""
    loop = asyncio.get_running_loop()
    limiter = _health_limiters.get(loop)
    if limiter is None:
        limiter = _health_limiters[loop] = anyio.CapacityLimiter(2)
    return limiter


async def health_check(_: Request) -> JSONResponse:
    """GET /api/health: 200 when PostgreSQL and Redis answer, 503 otherwise."""

    def check() -> tuple[bool, bool]:
        return health.database_ok(get_engine()), health.redis_ok(get_redis())

    db_up, redis_up = await anyio.to_thread.run_sync(check, limiter=health_limiter())
    ok = db_up and redis_up
    body = {
        "status": "ok" if ok else "degraded",
        "database": "ok" if db_up else "down",
        "redis": "ok" if redis_up else "down",
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def _signed_in_user_id(request: Request) -> "uuid.UUID | None":
    """The user of the session cookie, or of an API key (`Authorization: Bearer`)."""
    if key := api_v1.bearer_token(request):
        with session_scope() as db:
            user = api_keys.authenticate(session=db, plaintext=key)
            return user.id if user else None
    token = request.cookies.get(routes.SESSION_COOKIE)
    if not token:
        return None
    with session_scope() as db:
        signed_in = auth.resolve_session(
            session=db, token=token, policy=auth.session_policy(get_settings())
        )
        return signed_in.user.id if signed_in else None


def _owned_image(request: Request, image_id: str) -> "Image | None":
    """The signed-in user's image, or None (not signed in, no such image, or someone else's)."""
    user_id = _signed_in_user_id(request)
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
        storage = _local_storage()
        if image is None or image.storage_key != key or storage is None:
            return NOT_FOUND
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
        storage = _local_storage()
        if storage is None:  # a CDN: let it send the bytes as an attachment
            return RedirectResponse(f"{image.image_url}?ik-attachment=true", status_code=302)
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
        return Response("Cross-site request refused.", status_code=403, media_type="text/plain")
    form = await read_form(request, MAX_ZIP_FORM_BYTES)
    raw_ids = [part.strip() for part in form.get("ids", "").split(",") if part.strip()]

    def find() -> list[Image] | None:
        user_id = _signed_in_user_id(request)
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
        user_id = _signed_in_user_id(request)
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


def _local_storage() -> "LocalImageStorage | None":
    storage = get_storage()
    return storage if isinstance(storage, LocalImageStorage) else None


MAX_WEBHOOK_BYTES = 1024 * 1024


# Set while start-up work runs in the background; /api/ready answers 503 until it is done.
_WARMING = threading.Event()


def begin_warm_up() -> Callable[[], None]:
    """Mark this process as warming up (not ready) and return the work to run in a thread:
    building polar-sdk's webhook validator takes 2 to 10 s of CPU on the first event, which
    no webhook request (Polar times out) nor the event loop should wait for.
    """
    _WARMING.set()

    def warm() -> None:
        try:
            _build_webhook_validator()
        finally:
            _WARMING.clear()

    return warm


def _build_webhook_validator() -> None:
    from polar.v2026_10.webhooks import PolarWebhookError, validate_event
    from standardwebhooks import Webhook

    secret = secrets.token_urlsafe(24)
    body = json.dumps({"type": "order.paid", "timestamp": "2026-01-01T00:00:00Z", "data": {}})
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_warm_up",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(base64.b64encode(secret.encode()).decode()).sign(
            "msg_warm_up", now, body
        ),
    }
    with contextlib.suppress(PolarWebhookError):  # the empty order is refused, as intended
        validate_event(body.encode(), headers, secret)


async def polar_webhook(request: Request) -> Response:
    """POST /api/webhooks/polar: verify (Standard Webhooks via polar-sdk), then apply once.

    403 bad/missing signature or stale timestamp; 400 unreadable body; 413 too large;
    202 for events we do not act on (unknown type, unknown customer); 200 otherwise.
    """
    from polar.v2026_10.webhooks import (
        PolarWebhookError,
        PolarWebhookUnknownTypeError,
        PolarWebhookVerificationError,
        validate_event,
    )

    settings = get_settings()
    body = await read_body(request, MAX_WEBHOOK_BYTES)
    if not settings.polar_webhook_secret:
        return JSONResponse({"error": "webhooks are not configured"}, status_code=403)
    try:
        # Parsing into the SDK's models is CPU work: off the event loop.
        payload = await anyio.to_thread.run_sync(
            validate_event, body, dict(request.headers), settings.polar_webhook_secret
        )
    except PolarWebhookVerificationError:
        return JSONResponse({"error": "invalid signature"}, status_code=403)
    except PolarWebhookUnknownTypeError as exc:
        return JSONResponse({"status": "ignored", "type": exc.event_type}, status_code=202)
    except PolarWebhookError:
        return JSONResponse({"error": "malformed payload"}, status_code=400)
    event = billing_events.from_payload(request.headers["webhook-id"], payload)
    if event is None:
        return JSONResponse({"status": "ignored", "type": payload.type}, status_code=202)

    def apply() -> tuple[str, uuid.UUID | None]:
        with session_scope() as db:
            return billing_events.apply_event(
                session=db, event=event, plans=settings.plans_by_product()
            )

    outcome, user_id = await anyio.to_thread.run_sync(apply)
    if user_id is not None and outcome == "applied":
        publish_account_changed(get_redis(), user_id=user_id)
    status = 202 if outcome == "unknown_customer" else 200
    return JSONResponse({"status": outcome}, status_code=status)


@functools.lru_cache(maxsize=1)
def _migration_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parent.parent
    return ScriptDirectory.from_config(Config(str(root / "alembic.ini"))).get_current_head()


async def readiness(_: Request) -> JSONResponse:
    """GET /api/ready: 200 only when the engines answer, the schema is at the code's head
    (a load balancer keeps traffic away during a deploy's migration) and start-up work is done.
    """

    def check() -> dict[str, str]:
        db_up = health.database_ok(get_engine())
        redis_up = health.redis_ok(get_redis())
        schema = health.schema_version(get_engine()) if db_up else None
        return {
            "database": "ok" if db_up else "down",
            "redis": "ok" if redis_up else "down",
            "schema": "current" if schema and schema == _migration_head() else f"at {schema}",
        }

    body = await anyio.to_thread.run_sync(check)
    ready = body["database"] == "ok" and body["redis"] == "ok" and body["schema"] == "current"
    if _WARMING.is_set():  # start-up work still running: serve, but not yet at full speed
        body["startup"], ready = "warming up", False
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503)


def metrics_allowed(request: Request) -> Response | None:
    """None when the request carries METRICS_TOKEN; else 404 (no token configured: the route
    does not exist) or 401.
    """
    expected = get_settings().metrics_token
    if not expected:
        return NOT_FOUND
    sent = api_v1.bearer_token(request)
    if sent is None or not security.tokens_equal(sent, expected):
        return Response(
            "A bearer token is required.",
            status_code=401,
            media_type="text/plain",
            headers={"www-authenticate": 'Bearer realm="metrics"'},
        )
    return None


async def metrics(request: Request) -> Response:
    """GET /api/metrics: Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>`."""
    if (refused := metrics_allowed(request)) is not None:
        return refused
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from imagegen.services.metrics import ImagegenCollector

    def scrape() -> bytes:
        registry = CollectorRegistry()
        registry.register(ImagegenCollector(get_engine(), get_redis()))
        return generate_latest(registry)

    return Response(await anyio.to_thread.run_sync(scrape), media_type=CONTENT_TYPE_LATEST)


async def openapi_document(_: Request) -> JSONResponse:
    """GET /api/openapi.json: the OpenAPI description of these routes."""
    from imagegen.openapi import openapi_schema

    return JSONResponse(openapi_schema())


async def openapi_v1_document(_: Request) -> JSONResponse:
    """GET /api/v1/openapi.json: the REST API's OpenAPI description."""
    from imagegen.openapi import openapi_v1_schema

    return JSONResponse(openapi_v1_schema())


UNAVAILABLE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Back in a moment · imagegen</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>Back in a moment</h1>
<p>imagegen could not reach its {what} just now. Nothing you sent was half-saved: go back and
try again in a few seconds.</p></body></html>"""


async def _too_large(request: Request, exc: Exception) -> Response:
    """A body over its route's limit: 413 in the shape the caller reads."""
    if request.url.path.startswith("/api/v1/"):
        return api_v1.error(413, str(exc), "invalid_request_error", "request_too_large")
    if request.url.path.startswith("/api/webhooks/"):
        return JSONResponse({"error": "payload too large"}, status_code=413)
    return Response("The form is too large.", status_code=413, media_type="text/plain")


async def _unavailable(request: Request, exc: Exception) -> Response:
    """A database or Redis outage: 503 with Retry-After, in the shape the caller reads."""
    what = "database" if isinstance(exc, (OperationalError, InterfaceError)) else "queue"
    log.warning("%s %s: %s unavailable: %s", request.method, request.url.path, what, exc)
    headers = {"Retry-After": "5"}
    message = f"The {what} is briefly unavailable; try again in a few seconds."
    if request.url.path.startswith("/api/v1/"):
        response = api_v1.error(503, message, "server_error", "service_unavailable")
        response.headers.update(headers)
        return response
    if "text/html" in request.headers.get("accept", "") or request.method == "POST":
        return HTMLResponse(UNAVAILABLE_PAGE.format(what=what), status_code=503, headers=headers)
    return JSONResponse({"error": message}, status_code=503, headers=headers)


def build_api() -> Starlette:
    """The Starlette app Reflex mounts its own routes under."""
    return Starlette(
        exception_handlers={
            BodyTooLarge: _too_large,
            OperationalError: _unavailable,
            InterfaceError: _unavailable,
            redis.ConnectionError: _unavailable,
            redis.TimeoutError: _unavailable,
        },
        routes=[
            Route(routes.API_LOGIN, login, methods=["POST"]),
            Route(routes.API_REGISTER, register, methods=["POST"]),
            Route(routes.API_LOGOUT, logout, methods=["POST"]),
            Route(routes.API_FORGOT_PASSWORD, forgot_password, methods=["POST"]),
            Route(routes.API_RESET_PASSWORD, reset_password, methods=["POST"]),
            Route(routes.API_VERIFY_EMAIL, verify_email, methods=["GET"]),
            Route("/api/auth/oauth/{provider}/start", oauth_start, methods=["GET"]),
            Route("/api/auth/oauth/{provider}/callback", oauth_callback, methods=["GET"]),
            Route(routes.API_HEALTH, health_check, methods=["GET"]),
            Route("/api/metrics", metrics, methods=["GET"]),
            Route("/api/ready", readiness, methods=["GET"]),
            Route(routes.API_IMAGE_FILE + "/{key:path}", image_file, methods=["GET"]),
            Route(routes.API_IMAGE_DOWNLOAD, image_download, methods=["GET"]),
            Route(routes.API_POLAR_WEBHOOK, polar_webhook, methods=["POST"]),
            Route("/api/openapi.json", openapi_document, methods=["GET"]),
            Route("/s/{token}", share_page.shared_page, methods=["GET"]),
            Route("/s/{token}/image.png", share_page.shared_image, methods=["GET"]),
            Route(routes.API_IMAGES_ZIP, images_zip, methods=["POST"]),
            Route(routes.API_EXPORT_BY_TOKEN, export_download_by_token, methods=["GET"]),
            Route(routes.API_EXPORT_DOWNLOAD, export_download, methods=["GET"]),
            Route("/c/{token}", collection_page.collection_page, methods=["GET"]),
            Route("/c/{token}/{image_id}.png", collection_page.collection_image, methods=["GET"]),
            Route("/api/v1/images/generations", api_v1.create_images, methods=["POST"]),
            Route("/api/v1/images", api_v1.list_images, methods=["GET"]),
            Route("/api/v1/openapi.json", openapi_v1_document, methods=["GET"]),
            *api_v1_library.ROUTES,
        ],
    )
