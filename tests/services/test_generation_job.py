"""One generation job without a broker (`services.generation_job.run`, what the Dramatiq actor
wraps): a ticket takes the next image of the fair queue, a busy provider puts it back
uncharged, and the caller's time limit on the last attempt fails the image and refunds it
(real PostgreSQL and Redis; the offline generator)."""

import time
import uuid

import pytest

from imagegen import realtime
from imagegen.db import session_scope
from imagegen.models import Image
from imagegen.providers.compose import get_providers
from imagegen.providers.image_generator import GeneratedImage, OfflineImageGenerator
from imagegen.redis_client import get_redis
from imagegen.services import credits, fair_queue, generation_job, provider_budget
from imagegen.settings import get_settings
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


class TimeUp(BaseException):
    """Stands for the broker's time limit, raised into the job's thread."""


class StopsTheClock:
    def generate(self, **_kwargs: object) -> GeneratedImage:
        raise TimeUp


def queued(count: int = 1) -> tuple[uuid.UUID, list[str]]:
    with session_scope() as db:
        user = create_user(db)
        images = queue_images(db, user, count=count)
        return user.id, [str(image.id) for image in images]


def ticketed(count: int = 1) -> tuple[uuid.UUID, list[str]]:
    user_id, ids = queued(count)
    fair_queue.push(get_redis(), user_id=user_id, tier="free", image_ids=ids, request_id=None)
    return user_id, ids


def status(image_id: str) -> str:
    with session_scope() as db:
        image = db.get(Image, uuid.UUID(image_id))
        assert image is not None
        return image.status


def run(job: generation_job.Job, generator: object = None, **settings: object):
    providers = get_providers()
    if generator is not None:
        providers = type(providers)(generator=generator, storage=providers.storage)  # type: ignore[arg-type]
    return generation_job.run(
        job,
        providers,
        client=get_redis(),
        settings=get_settings().model_copy(update=settings),
        time_up=TimeUp,
    )


def test_a_ticket_takes_the_next_image_and_completes_it() -> None:
    get_redis().flushdb()
    _user, (image_id,) = ticketed()
    assert run(generation_job.Job(message_id="m-1"), OfflineImageGenerator()) == "completed"
    assert status(image_id) == "completed"
    # The same ticket again (a redelivery) resumes that image: already done, skipped
    assert run(generation_job.Job(message_id="m-1"), OfflineImageGenerator()) == "skipped"
    # A ticket with nothing waiting does nothing
    assert run(generation_job.Job(message_id="m-2"), OfflineImageGenerator()) is None


def test_a_busy_provider_puts_the_image_back_uncharged(monkeypatch) -> None:
    get_redis().flushdb()
    monkeypatch.setattr(generation_job, "BUDGET_MAX_WAIT_SECONDS", 0.1)
    provider_budget.acquire(get_redis(), limit=1, window_seconds=60, max_wait=0)  # used up
    _user, (image_id,) = ticketed()
    busy = run(
        generation_job.Job(message_id="m-3"), OfflineImageGenerator(), provider_images_per_minute=1
    )
    assert isinstance(busy, generation_job.Busy) and busy.requeued and busy.wait_seconds > 0
    assert status(image_id) == "queued"  # not started, not an attempt
    # Back at the front of its line: the next ticket takes it
    taken = fair_queue.take(get_redis(), message_id="m-4")
    assert taken is not None and taken.image_id == image_id


def test_the_time_limit_on_the_last_attempt_fails_and_refunds() -> None:
    get_redis().flushdb()
    user_id, (first, second) = queued(2)
    with pytest.raises(TimeUp):  # not the last attempt: the caller retries
        run(generation_job.Job(message_id="m-5", image_id=first, final=False), StopsTheClock())
    final = generation_job.Job(message_id="m-6", image_id=second, attempt=3, final=True)
    assert run(final, StopsTheClock()) == "failed"
    assert status(second) == "failed"
    with session_scope() as db:
        balance = credits.get_balance(
            session=db,
            user_id=user_id,
            allowance=credits.plan_allowance(get_settings(), "free_user"),
        )
    assert balance.used == 1  # the failed image's credit came back; the other is still out


def test_a_waiting_user_hears_the_lines_last_move_even_within_the_second() -> None:
    client = get_redis()
    client.flushdb()
    user_id, _ids = ticketed(3)

    def told() -> int:
        events = [realtime.parse(raw) for raw in client.lrange(realtime.EVENTS_KEY, 0, -1)]
        return sum(
            1 for e in events if e and e["kind"] == "account" and e["user_id"] == str(user_id)
        )

    generation_job.tell_waiting(client)  # the line moves: told at once
    assert told() == 1
    generation_job.tell_waiting(client)  # and moves again at once: not yet...
    assert told() == 1
    deadline = time.monotonic() + 5  # ...but once the second is up, without another move
    while told() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert told() == 2
