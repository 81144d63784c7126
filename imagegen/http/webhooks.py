"""Polar's webhook, and the start-up warm-up that keeps its first event fast."""

import base64
import contextlib
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import anyio
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    Response,
)

from imagegen.db import session_scope
from imagegen.http.bodies import read_body
from imagegen.realtime import publish_account_changed
from imagegen.redis_client import get_redis
from imagegen.services import (
    billing_events,
)
from imagegen.settings import get_settings

log = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 1024 * 1024


# Set while start-up work runs in the background; /api/ready answers 503 until it is done.
_WARMING = threading.Event()


def warming() -> bool:
    """Whether start-up work is still running (/api/ready says so)."""
    return _WARMING.is_set()


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
