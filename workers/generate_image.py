"""Actor `generation.run`: generate the next image of the fair queue (or a named image) within
the provider budget, with retries on transient failures only.

Messages are tickets: each submitted image puts its id in its owner's line
(`imagegen.services.fair_queue`) and sends one ticket; whichever ticket runs next takes the next
image under the fairness policy. A redelivered or retried ticket resumes the image it took.
"""

import logging
import time
import uuid
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from imagegen import logs
from imagegen.db import session_scope
from imagegen.models import Image, User
from imagegen.providers.compose import get_providers
from imagegen.realtime import publish_account_changed, publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import fair_queue, pipeline, provider_budget
from imagegen.services.provider_budget import ProviderBusy
from imagegen.settings import get_settings
from workers import broker  # noqa: F401  (sets the broker before the actor is declared)

log = logging.getLogger(__name__)
settings = get_settings()

# How long a job may wait for a provider slot before it goes back to the front of its line.
BUDGET_MAX_WAIT_SECONDS = 60
RETRYABLE = (
    *pipeline.TRANSIENT,
    TimeLimitExceeded,
    OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)


def should_retry(retries_so_far: int, exception: Exception) -> bool:
    """Retry transient errors (rate limit, timeout, 5xx, connection, DB restart) a few times."""
    return isinstance(exception, RETRYABLE) and retries_so_far < settings.generation_max_retries


def _notify(user_id: uuid.UUID, image_id: uuid.UUID) -> None:
    publish_image_changed(get_redis(), user_id=user_id, image_id=image_id)


def _tell_waiting(client: redis.Redis) -> None:
    """The line moved: users with queued images get fresh positions (throttled per user)."""
    try:
        # One round trip for all the notifications (there is one per waiting user).
        pipe = client.pipeline(transaction=False)
        if fair_queue.notify_waiting(
            client, lambda user: publish_account_changed(pipe, user_id=user)
        ):
            pipe.execute()
    except redis.RedisError:
        log.warning("could not tell waiting users their new positions", exc_info=True)


class _Slot:
    """One job's provider slot: waited for before the image is marked generating, given back
    when the job then had nothing to do, and timed for the queue's estimates.
    """

    def __init__(self, client: redis.Redis, image_id: str) -> None:
        self.client, self.image_id = client, image_id
        self.member: str | None = None
        self.started: float | None = None

    def acquire(self) -> None:
        current = get_settings()
        self.member = provider_budget.acquire(
            self.client,
            limit=current.provider_images_per_minute,
            window_seconds=current.provider_budget_window_seconds,
            max_wait=BUDGET_MAX_WAIT_SECONDS,
        )
        self.started = time.monotonic()
        try:
            fair_queue.job_started(self.client, image_id=self.image_id)
        except redis.RedisError:
            log.warning("could not record a job start", exc_info=True)

    def finish(self, outcome: str | None) -> None:
        if self.started is None:
            return
        try:
            if outcome == "skipped" and self.member:
                provider_budget.release(self.client, member=self.member)
            seconds = time.monotonic() - self.started if outcome == "completed" else None
            fair_queue.job_finished(self.client, image_id=self.image_id, seconds=seconds)
        except redis.RedisError:
            log.warning("could not record a job end", exc_info=True)


@dramatiq.actor(
    actor_name="generation.run",
    queue_name="generation",
    retry_when=should_retry,
    min_backoff=1_000,
    max_backoff=30_000,
    # The provider call has its own timeout and the budget wait its own bound; this is the
    # backstop for everything else.
    time_limit=(settings.generation_time_limit_seconds + BUDGET_MAX_WAIT_SECONDS + 30) * 1000,
)
def generate_image(image_id: str | None = None) -> None:
    """Generate, store and publish one image: with no argument (a ticket) the next image of
    the fair queue, or the one this message took before; with an id, that image. Idempotent:
    finished, cancelled and deleted images are skipped.
    """
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message else 0
    final = retries >= settings.generation_max_retries
    message_id = message.message_id if message else uuid.uuid4().hex
    client = get_redis()
    taken = None
    if image_id is None:
        taken = fair_queue.take(client, message_id=message_id)
        if taken is None:
            log.info("ticket %s: nothing waiting (cancelled or deleted)", message_id)
            return
        image_id = taken.image_id
        logs.request_id.set(taken.request_id)
        if not taken.resumed:
            _tell_waiting(client)
    providers = get_providers()
    slot = _Slot(client, image_id)
    outcome: str | None = None
    try:
        outcome = pipeline.run_generation(
            image_id=uuid.UUID(image_id),
            generator=providers.generator,
            storage=providers.storage,
            notify=_notify,
            session_factory=session_scope,
            timeout=float(settings.generation_time_limit_seconds),
            final_attempt=final,
            before_start=slot.acquire,
            # No provider budget: the slot never waits, so no need to look before taking it.
            check_first=get_settings().provider_images_per_minute > 0,
        )
    except ProviderBusy as busy:
        # Not a failure: back to the front of its line, and a ticket for when a slot frees.
        delay = max(1000, round(busy.wait_seconds * 1000))
        if taken is not None:
            fair_queue.put_back(client, taken=taken, message_id=message_id)
            generate_image.send_with_options(delay=delay, **_options(taken.request_id))
        else:
            generate_image.send_with_options(args=(image_id,), delay=delay, retries=retries)
        log.info("image %s: waiting for the provider budget (%.1f s)", image_id, busy.wait_seconds)
        return
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
    finally:
        slot.finish(outcome)
    log.info("image %s: %s (attempt %d)", image_id, outcome, retries + 1)


def _options(request_id: str | None) -> dict[str, Any]:
    return {"request_id": request_id} if request_id else {}


def enqueue_generation(image_ids: list[str], *, owner: tuple[uuid.UUID, str] | None = None) -> None:
    """Put the images at the end of their owner's line and send one ticket each (called after
    the submitting transaction commits). `owner` (user id, plan) saves looking it up.
    """
    if not image_ids:
        return
    if owner is None:
        with session_scope() as db:
            found = db.exec(
                select(User.id, User.plan)
                .join(Image, col(Image.user_id) == User.id)
                .where(Image.id == uuid.UUID(image_ids[0]))
            ).first()
        if found is None:
            return  # deleted in the meantime
        owner = (found[0], found[1])
    request_id = logs.request_id.get()
    client = get_redis()
    fair_queue.push(
        client,
        user_id=owner[0],
        tier=fair_queue.tier_of(owner[1]),
        image_ids=image_ids,
        request_id=request_id,
    )
    for _ in image_ids:
        generate_image.send_with_options(**_options(request_id))
    _tell_waiting(client)


def enqueue_fifo(image_ids: list[str]) -> None:
    """The old way, one message per image id in submission order (no fairness); kept for the
    benchmark's comparison and for messages sent before the fair queue.
    """
    for image_id in image_ids:
        generate_image.send_with_options(args=(image_id,), **_options(logs.request_id.get()))
