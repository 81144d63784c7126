"""The fair queue with the real Dramatiq actor on the real Redis broker: one user's burst does
not hold back another user, a plan's tier is honoured, a job waiting for the provider budget
neither fails nor burns retries, and the positions shown shrink as the queue moves."""

import logging
import os
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
from sqlmodel import select

from imagegen.db import session_scope
from imagegen.models import CreditLedger, Image, User
from imagegen.providers.image_generator import OfflineImageGenerator
from imagegen.providers.image_storage import LocalImageStorage
from imagegen.settings import get_settings
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user


class RecordingGenerator(OfflineImageGenerator):
    """The offline generator, remembering which prompt it drew when (the provider calls)."""

    def __init__(self, delay: float) -> None:
        super().__init__(delay=delay)
        self.calls: list[tuple[float, str]] = []

    def generate(  # type: ignore[override]
        self,
        *,
        prompt: str,
        size: str,
        quality: str,
        timeout: float,
        seed: str = "",
        source: bytes | None = None,
    ):
        self.calls.append((time.monotonic(), prompt))
        return super().generate(
            prompt=prompt, size=size, quality=quality, timeout=timeout, seed=seed, source=source
        )


@pytest.fixture
def generator() -> RecordingGenerator:
    return RecordingGenerator(delay=0.05)


@pytest.fixture
def start_worker(engine, redis_client, generator, tmp_path, swap_ports) -> Iterator:
    """Start a Dramatiq worker in this process (after the test has queued its work)."""
    from workers.broker import broker

    swap_ports(generator=generator, storage=LocalImageStorage(root=tmp_path))
    broker.flush_all()
    workers: list[dramatiq.Worker] = []

    def start(threads: int = 1) -> dramatiq.Worker:
        w = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
        w.start()
        workers.append(w)
        return w

    yield start
    for w in workers:
        w.stop()
    broker.flush_all()


def submit(user_id: uuid.UUID, count: int, prompt: str) -> list[uuid.UUID]:
    """Submit through the service, as the form does (in batches of at most 4)."""
    from workers.generate_image import enqueue_generation

    settings = get_settings().model_copy(
        update={
            "in_progress_free_user": 100,
            "in_progress_gold_user": 100,
            "credits_free_user": 1000,
            "credits_gold_user": 1000,
        }
    )
    ids: list[uuid.UUID] = []
    while count > 0:
        batch = min(count, 4)
        with session_scope() as db:
            images = queue_images(
                db,
                db.get(User, user_id),
                prompt=prompt,
                count=batch,
                enqueue=enqueue_generation,
                settings=settings,
            )
            ids += [i.id for i in images]
        count -= batch
    return ids


def new_user(plan: str = "free_user") -> uuid.UUID:
    with session_scope() as db:
        user = create_user(db)
        user.plan = plan
        return user.id


def wait_all(ids: list[uuid.UUID], timeout: float = 60) -> list[Image]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as db:
            rows = list(db.exec(select(Image).where(Image.id.in_(ids))))  # type: ignore[union-attr]
            if all(r.status in ("completed", "failed", "cancelled") for r in rows):
                return rows
        time.sleep(0.1)
    pytest.fail("images did not finish")


def test_one_users_burst_of_40_does_not_hold_back_another_user(start_worker, generator) -> None:
    # Given: A queues 40 images, then B queues 1, before any worker runs.
    a, b = new_user(), new_user()
    a_ids = submit(a, 40, "burst of user A")
    (b_id,) = submit(b, 1, "single image of user B")
    # When: one worker thread works through the queue.
    start_worker(threads=1)
    wait_all([*a_ids, b_id])
    # Then: B's image was among the first two provider calls, not the forty-first.
    order = [prompt for _, prompt in generator.calls]
    assert order.index("single image of user B") <= 1, order.index("single image of user B")
    assert len(order) == 41


def test_gold_goes_before_free_but_free_is_not_starved(start_worker, generator) -> None:
    free, gold = new_user("free_user"), new_user("gold_user")
    submit(free, 8, "free")
    submit(gold, 20, "gold")
    start_worker(threads=1)
    with session_scope() as db:
        ids = list(db.exec(select(Image.id).where(Image.user_id.in_([free, gold]))))  # type: ignore[attr-defined]
    wait_all(ids)
    order = [prompt for _, prompt in generator.calls]
    # Of every 7 jobs, 4 go to Gold, 2 to Pro (none here: they go to Gold), 1 to Free.
    first_14 = order[:14]
    assert first_14.count("free") == 2, first_14
    assert order[0] == "gold"


def test_credits_charged_once_per_image(start_worker) -> None:
    a = new_user()
    ids = submit(a, 6, "charged once")
    start_worker(threads=2)
    rows = wait_all(ids)
    assert {r.status for r in rows} == {"completed"}
    assert {r.attempts for r in rows} == {1}
    with session_scope() as db:
        amounts = list(db.exec(select(CreditLedger.amount).where(CreditLedger.user_id == a)))
    assert sum(amounts) == -6


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def test_a_burst_waits_for_the_provider_budget_and_burns_no_retries(
    start_worker, generator, monkeypatch, caplog
) -> None:
    from imagegen.services import generation_job

    caplog.set_level(logging.INFO, logger="imagegen.services.generation_job")

    # 2 provider calls a second for every worker thread together; a job that cannot get a
    # slot within 0.3 s goes back to the front of its line (both paths are exercised).
    monkeypatch.setattr(generation_job, "BUDGET_MAX_WAIT_SECONDS", 0.3)
    saved = {
        k: os.environ.get(k)
        for k in ("PROVIDER_IMAGES_PER_MINUTE", "PROVIDER_BUDGET_WINDOW_SECONDS")
    }
    os.environ.update(PROVIDER_IMAGES_PER_MINUTE="2", PROVIDER_BUDGET_WINDOW_SECONDS="1")
    get_settings.cache_clear()
    try:
        a, b = new_user(), new_user()
        ids = submit(a, 6, "budget a") + submit(b, 2, "budget b")
        start_worker(threads=4)
        rows = wait_all(ids)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
    assert {r.status for r in rows} == {"completed"}
    assert {r.attempts for r in rows} == {1}  # waiting is not an attempt
    times = [t for t, _ in generator.calls]
    assert len(times) == 8
    assert most_in_any_window(times, 0.95) <= 2
    assert max(times) - min(times) >= 2.9  # 8 calls at 2 a second
    assert any("waiting for the provider budget" in r.getMessage() for r in caplog.records)
