"""One generation job as a worker runs it: take the image (for a ticket, the next of the fair
queue; or the image a message names), wait for a provider slot, run one attempt of the pipeline
(`services.pipeline`), and record the job for the queue's estimates.

Nothing here knows the broker: the Dramatiq actor (`workers/generate_image.py`) is a shell that
reads its message into a `Job`, calls `run` with the process's ports, retries what `run`
raises, and sends the ticket again when `run` answers `Busy`.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import redis

from imagegen import logs
from imagegen.db import session_scope, statement_scope
from imagegen.providers.compose import Providers
from imagegen.realtime import publish_account_changed, publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import fair_queue, pipeline, provider_budget
from imagegen.services.provider_budget import ProviderBusy
from imagegen.settings import Settings

log = logging.getLogger(__name__)

# How long a job may wait for a provider slot before it goes back to the front of its line.
BUDGET_MAX_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Job:
    """What one message asks for."""

    message_id: str
    # The image a message names (messages from before the fair queue); None for a ticket.
    image_id: str | None = None
    # 1 for the first try; `final`: the last one, whose failure is final (credits back).
    attempt: int = 1
    final: bool = False


@dataclass(frozen=True)
class Busy:
    """The provider's budget is used up: run the job again in `wait_seconds`. `requeued`: the
    ticket's image went back to the front of its line (send a new ticket); otherwise send the
    named image again.
    """

    wait_seconds: float
    requeued: bool
    request_id: str | None


def notify(user_id: uuid.UUID, image_id: uuid.UUID) -> None:
    """The image changed: the user's open tabs hear of it (through the relay)."""
    publish_image_changed(get_redis(), user_id=user_id, image_id=image_id)


def tell_waiting(client: redis.Redis) -> None:
    """The line moved: users with queued images get fresh positions (at most once a second
    per user; one told too recently hears once that second is up, see `_owed`).
    """
    _tell(client, fair_queue.notify_waiting)


def _tell(client: redis.Redis, pick: Callable[..., fair_queue.Told]) -> None:
    try:
        # One round trip for all the notifications (there is one per waiting user).
        pipe = client.pipeline(transaction=False)
        told = pick(client, lambda user: publish_account_changed(pipe, user_id=user))
        if told.told:
            pipe.execute()
    except redis.RedisError:
        log.warning("could not tell waiting users their new positions", exc_info=True)
        return
    if told.owed:
        _owed.schedule(client)


class _Owed:
    """One timer per process that tells the users owed the line's last move once their
    second is up (the move would otherwise show only at the next one).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def schedule(self, client: redis.Redis) -> None:
        with self._lock:
            if self._timer is not None:
                return
            delay = fair_queue.NOTIFY_EVERY_MS / 1000 + 0.02
            self._timer = threading.Timer(delay, self._fire, args=(client,))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self, client: redis.Redis) -> None:
        with self._lock:
            self._timer = None
        _tell(client, fair_queue.notify_owed)


_owed = _Owed()


class _Slot:
    """One job's provider slot: waited for before the image is marked generating, given back
    when the job then had nothing to do, and timed for the queue's estimates.
    """

    def __init__(self, client: redis.Redis, image_id: str, settings: Settings) -> None:
        self.client, self.image_id, self.settings = client, image_id, settings
        self.member: str | None = None
        self.started: float | None = None

    def acquire(self) -> None:
        self.member = provider_budget.acquire(
            self.client,
            limit=self.settings.provider_images_per_minute,
            window_seconds=self.settings.provider_budget_window_seconds,
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


def run(
    job: Job,
    providers: Providers,
    *,
    client: redis.Redis,
    settings: Settings,
    time_up: type[BaseException] = TimeoutError,
) -> str | Busy | None:
    """Run the job once: the attempt's outcome (`pipeline.run_generation`), None when a ticket
    found nothing waiting (cancelled or deleted), or `Busy`. Idempotent: finished, cancelled
    and deleted images are skipped.

    Raises:
        The pipeline's transient errors, for the caller to retry; `time_up` (the caller's own
        time limit, raised into this thread) unless this is the final attempt, which then
        fails the image and gives its credits back.
    """
    image_id, taken = job.image_id, None
    if image_id is None:
        taken = fair_queue.take(client, message_id=job.message_id)
        if taken is None:
            log.info("ticket %s: nothing waiting (cancelled or deleted)", job.message_id)
            return None
        image_id = taken.image_id
        logs.request_id.set(taken.request_id)
        if not taken.resumed:
            tell_waiting(client)
    slot = _Slot(client, image_id, settings)
    outcome: str | None = None
    try:
        outcome = pipeline.run_generation(
            image_id=uuid.UUID(image_id),
            generator=providers.generator,
            storage=providers.storage,
            notify=notify,
            session_factory=session_scope,
            statement_factory=statement_scope,
            timeout=float(settings.generation_time_limit_seconds),
            final_attempt=job.final,
            before_start=slot.acquire,
            # No provider budget: the slot never waits, so no need to look before taking it.
            check_first=settings.provider_images_per_minute > 0,
        )
    except ProviderBusy as busy:
        # Not a failure: back to the front of its line, and a ticket for when a slot frees.
        if taken is not None:
            fair_queue.put_back(client, taken=taken, message_id=job.message_id)
        log.info("image %s: waiting for the provider budget (%.1f s)", image_id, busy.wait_seconds)
        return Busy(
            wait_seconds=busy.wait_seconds,
            requeued=taken is not None,
            request_id=taken.request_id if taken is not None else None,
        )
    except time_up:
        if not job.final:
            raise
        pipeline.fail(
            session_factory=session_scope,
            notify=notify,
            image_id=uuid.UUID(image_id),
            reason="The image took too long to generate.",
        )
        return "failed"
    finally:
        slot.finish(outcome)
    log.info("image %s: %s (attempt %d)", image_id, outcome, job.attempt)
    return outcome
