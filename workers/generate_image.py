"""Actor `generation.run`: generate the next image of the fair queue (or a named image) within
the provider budget, with retries on transient failures only.

Messages are tickets: each submitted image puts its id in its owner's line
(`imagegen.services.fair_queue`) and sends one ticket; whichever ticket runs next takes the next
image under the fairness policy. A redelivered or retried ticket resumes the image it took.
"""

import logging
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
from imagegen.redis_client import get_redis
from imagegen.services import fair_queue, generation_job, pipeline
from imagegen.settings import get_settings
from workers import broker  # noqa: F401  (sets the broker before the actor is declared)

log = logging.getLogger(__name__)

RETRYABLE = (
    *pipeline.TRANSIENT,
    TimeLimitExceeded,
    OperationalError,
    redis.ConnectionError,
    redis.TimeoutError,
)


def should_retry(retries_so_far: int, exception: Exception) -> bool:
    """Retry transient errors (rate limit, timeout, 5xx, connection, DB restart) a few times."""
    return (
        isinstance(exception, RETRYABLE) and retries_so_far < get_settings().generation_max_retries
    )


@dramatiq.actor(
    actor_name="generation.run",
    queue_name="generation",
    retry_when=should_retry,
    min_backoff=1_000,
    max_backoff=30_000,
    # The provider call has its own timeout and the budget wait its own bound; this is the
    # backstop for everything else (read once: an actor's options are fixed when declared).
    time_limit=(
        get_settings().generation_time_limit_seconds + generation_job.BUDGET_MAX_WAIT_SECONDS + 30
    )
    * 1000,
)
def generate_image(image_id: str | None = None) -> None:
    """A shell around `services.generation_job.run`: with no argument (a ticket) the next image
    of the fair queue, or the one this message took before; with an id, that image.
    """
    message = CurrentMessage.get_current_message()
    retries = int(message.options.get("retries", 0)) if message else 0
    job = generation_job.Job(
        message_id=message.message_id if message else uuid.uuid4().hex,
        image_id=image_id,
        attempt=retries + 1,
        final=retries >= get_settings().generation_max_retries,
    )
    result = generation_job.run(
        job, get_providers(), client=get_redis(), settings=get_settings(), time_up=TimeLimitExceeded
    )
    if isinstance(result, generation_job.Busy):
        delay = max(1000, round(result.wait_seconds * 1000))
        if result.requeued:
            generate_image.send_with_options(delay=delay, **_options(result.request_id))
        else:
            generate_image.send_with_options(args=(image_id,), delay=delay, retries=retries)


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
    generation_job.tell_waiting(client)


def enqueue_fifo(image_ids: list[str]) -> None:
    """The old way, one message per image id in submission order (no fairness); kept for the
    benchmark's comparison and for messages sent before the fair queue.
    """
    for image_id in image_ids:
        generate_image.send_with_options(args=(image_id,), **_options(logs.request_id.get()))
