"""Actor `generation.run`: generate one image, with retries on transient failures only."""

import logging
import uuid

import dramatiq
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from sqlalchemy.exc import OperationalError

from imagegen import logs
from imagegen.db import session_scope
from imagegen.providers.compose import Providers, build_providers
from imagegen.realtime import publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import pipeline
from imagegen.settings import get_settings
from workers import broker  # noqa: F401  (sets the broker before the actor is declared)

log = logging.getLogger(__name__)
settings = get_settings()

RETRYABLE = (*pipeline.TRANSIENT, TimeLimitExceeded, OperationalError)


def should_retry(retries_so_far: int, exception: Exception) -> bool:
    """Retry transient errors (rate limit, timeout, 5xx, connection, DB restart) a few times."""
    return isinstance(exception, RETRYABLE) and retries_so_far < settings.generation_max_retries


_built: dict[int, Providers] = {}


def _providers() -> Providers:
    """Built once per settings object (tests swap settings; a process keeps one)."""
    current = get_settings()
    if id(current) not in _built:
        _built.clear()
        _built[id(current)] = build_providers(current)
    return _built[id(current)]


def _notify(user_id: uuid.UUID, image_id: uuid.UUID) -> None:
    publish_image_changed(get_redis(), user_id=user_id, image_id=image_id)


@dramatiq.actor(
    actor_name="generation.run",
    queue_name="generation",
    retry_when=should_retry,
    min_backoff=1_000,
    max_backoff=30_000,
    # The provider call has its own timeout; this is the backstop for everything else.
    time_limit=(settings.generation_time_limit_seconds + 30) * 1000,
)
def generate_image(image_id: str) -> None:
    """Generate, store and publish one image (idempotent: finished images are skipped)."""
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message else 0
    final = retries >= settings.generation_max_retries
    providers = _providers()
    try:
        outcome = pipeline.run_generation(
            image_id=uuid.UUID(image_id),
            generator=providers.generator,
            storage=providers.storage,
            notify=_notify,
            session_factory=session_scope,
            timeout=float(settings.generation_time_limit_seconds),
            final_attempt=final,
        )
    except TimeLimitExceeded:
        if final:
            pipeline.fail(
                session_factory=session_scope,
                notify=_notify,
                image_id=uuid.UUID(image_id),
                reason="The image took too long to generate.",
            )
            return
        raise
    log.info("image %s: %s (attempt %d)", image_id, outcome, retries + 1)


def enqueue_generation(image_ids: list[str]) -> None:
    """Send one message per image (called after the submitting transaction commits)."""
    options = {"request_id": rid} if (rid := logs.request_id.get()) else {}
    for image_id in image_ids:
        generate_image.send_with_options(args=(image_id,), **options)
