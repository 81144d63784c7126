"""Sign-in with GitHub or Google: start (state + PKCE in Redis), callback (sign in or link)."""

import json
import logging
import uuid
from typing import cast
from urllib.parse import urlencode

import anyio
from starlette.requests import Request
from starlette.responses import (
    RedirectResponse,
    Response,
)

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import (
    ImagegenError,
)
from imagegen.http import urls
from imagegen.http.files import NOT_FOUND
from imagegen.http.session import (
    sign_in,
    signed_in_user_id,
)
from imagegen.providers.compose import get_providers
from imagegen.redis_client import get_redis
from imagegen.services import (
    accounts,
    flash,
)

log = logging.getLogger(__name__)

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
    provider = get_providers().oauth.get(request.path_params["provider"])
    if provider is None:
        return NOT_FOUND
    link_user = None
    if request.query_params.get("link") == "1":  # add this provider to the signed-in account
        link_user = await anyio.to_thread.run_sync(signed_in_user_id, request)
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
    provider = get_providers().oauth.get(name)
    params = request.query_params
    state = params.get("state", "")[:200]

    def finish() -> Response:
        # redis-py types its commands as `Awaitable | Any` (one signature for sync and async clients)
        saved = cast("bytes | None", get_redis().getdel(f"oauth:{state}")) if state else None
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
        return sign_in(user, request)

    return await anyio.to_thread.run_sync(finish)
