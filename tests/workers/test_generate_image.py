"""The real Dramatiq actor on the real Redis broker, with the OpenAI and ImageKit SDKs talking
to local stand-ins: completion, retries, refusals, timeouts, idempotence, watchdog."""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from imagegen.db import session_scope
from imagegen.models import CreditLedger, Image, User
from imagegen.providers.image_generator import OpenAIImageGenerator
from imagegen.providers.image_storage import ImageKitStorage
from imagegen.realtime import EVENTS_KEY
from imagegen.services import credits, generation
from imagegen.settings import get_settings
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user
from tests.standins.imagekit_server import ImageKitStandIn
from tests.standins.openai_server import OpenAIStandIn


@pytest.fixture(scope="module")
def openai_standin() -> Iterator[OpenAIStandIn]:
    with OpenAIStandIn(hang_seconds=4) as server:
        yield server


@pytest.fixture(scope="module")
def imagekit_standin() -> Iterator[ImageKitStandIn]:
    with ImageKitStandIn() as server:
        yield server


@pytest.fixture
def worker(
    engine, redis_client, openai_standin, imagekit_standin, swap_ports
) -> Iterator[dramatiq.Worker]:
    """A Dramatiq worker in this process whose providers are the SDKs pointed at stand-ins."""
    from workers.broker import broker

    openai_standin.behaviours.clear()
    openai_standin.requests.clear()
    imagekit_standin.failures.clear()
    swap_ports(
        generator=OpenAIImageGenerator(api_key="sk-worker-test", base_url=openai_standin.base_url),
        storage=ImageKitStorage(
            private_key=imagekit_standin.private_key,
            public_key="pub",
            url_endpoint=imagekit_standin.url_endpoint,
            base_url=imagekit_standin.base_url,
        ),
    )
    broker.flush_all()
    w = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    w.start()
    yield w
    w.stop()
    broker.flush_all()


def submit(count: int = 1) -> tuple[uuid.UUID, list[uuid.UUID]]:
    from workers.generate_image import enqueue_generation

    with session_scope() as db:
        user = create_user(db)
        images = queue_images(
            db, user, prompt="a fox in the snow", count=count, enqueue=enqueue_generation
        )
        return user.id, [i.id for i in images]


def wait_for(image_id: uuid.UUID, statuses: tuple[str, ...], timeout: float = 30) -> Image:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as db:
            image = db.get(Image, image_id)
            if image is not None and image.status in statuses:
                return image
        time.sleep(0.05)
    pytest.fail(f"image {image_id} did not reach {statuses}")


def used(user_id: uuid.UUID) -> int:
    with session_scope() as db:
        user = db.get(User, user_id)
        return credits.get_balance(
            session=db, user_id=user_id, allowance=credits.plan_allowance(get_settings(), user.plan)
        ).used


def ledger(user_id: uuid.UUID) -> list[int]:
    with session_scope() as db:
        return sorted(
            r.amount for r in db.exec(select(CreditLedger).where(CreditLedger.user_id == user_id))
        )


def test_completes_through_the_sdks_and_publishes(
    worker, openai_standin, imagekit_standin, redis_client
) -> None:
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"))
    assert image.status == "completed", image.error
    assert image.provider == "openai" and (image.width, image.height) == (1024, 1024)
    assert image.image_url.startswith(imagekit_standin.url_endpoint)
    assert httpx.get(image.image_url).content[:4] == b"\x89PNG"
    assert imagekit_standin.files[image.storage_file_id]["path"].endswith(
        f"{user_id}/{image_id}.png"
    )
    assert openai_standin.requests[-1]["headers"]["authorization"] == "Bearer sk-worker-test"
    assert used(user_id) == 1
    events = [e for e in redis_client.lrange(EVENTS_KEY, 0, -1) if str(image_id).encode() in e]
    assert len(events) >= 2  # generating, then completed


def test_rate_limit_then_success_is_retried_and_charged_once(worker, openai_standin) -> None:
    openai_standin.script("429")
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"))
    assert image.status == "completed"
    assert image.attempts == 2
    assert len(openai_standin.requests) == 2
    assert used(user_id) == 1 and ledger(user_id) == [-1]


def test_content_policy_fails_refunds_and_is_not_retried(worker, openai_standin) -> None:
    openai_standin.script("content_policy")
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"))
    assert image.status == "failed"
    assert "rejected by the safety system" in image.error
    time.sleep(1.5)  # a retry would have happened by now
    assert len(openai_standin.requests) == 1
    assert used(user_id) == 0 and ledger(user_id) == [-1, 1]


def test_timeouts_exhaust_retries_then_fail_and_refund(worker, openai_standin) -> None:
    openai_standin.script("hang", "hang", "hang")
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"), timeout=40)
    assert image.status == "failed"
    assert "did not answer in time" in image.error
    assert image.attempts == 3  # first try + GENERATION_MAX_RETRIES=2
    assert used(user_id) == 0 and ledger(user_id) == [-1, 1]


def test_storage_failure_is_retried(worker, imagekit_standin) -> None:
    imagekit_standin.fail_next("500")
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"))
    assert image.status == "completed" and image.attempts == 2
    assert used(user_id) == 1


def test_redelivered_message_is_skipped(worker, openai_standin, imagekit_standin) -> None:
    from workers.generate_image import generate_image

    user_id, (image_id,) = submit()
    wait_for(image_id, ("completed",))
    files_before, calls_before = len(imagekit_standin.files), len(openai_standin.requests)
    generate_image.send(str(image_id))
    generate_image.send(str(image_id))
    time.sleep(1)
    assert len(imagekit_standin.files) == files_before
    assert len(openai_standin.requests) == calls_before
    assert ledger(user_id) == [-1]


def test_cancelled_before_pickup_is_skipped(engine, redis_client, openai_standin) -> None:
    # No worker running: the message waits in Redis while the user cancels.
    from workers.broker import broker

    broker.flush_all()
    openai_standin.requests.clear()
    user_id, (image_id,) = submit()
    with session_scope() as db:
        generation.cancel_generation(session=db, user_id=user_id, image_id=image_id)
    w = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    w.start()
    try:
        broker.join("generation", timeout=10_000)
    finally:
        w.stop()
    assert wait_for(image_id, ("cancelled",)).status == "cancelled"
    assert openai_standin.requests == []
    assert ledger(user_id) == [-1, 1]


def test_watchdog_sweep_fails_stuck_work_and_notifies(engine, redis_client) -> None:
    from workers.watchdog import run_once

    with session_scope() as db:
        user = create_user(db)
        (image,) = queue_images(db, user, prompt="stuck")
        user_id, image_id = user.id, image.id
    with session_scope() as db:
        db.execute(
            text(
                "UPDATE image SET status = 'generating', updated_at = now() - interval '2 hours' WHERE id = :id"
            ),
            {"id": image_id},
        )
    assert run_once(older_than=timedelta(minutes=15)) >= 1
    image = wait_for(image_id, ("failed",))
    assert "too long" in image.error
    assert used(user_id) == 0
    assert any(str(image_id).encode() in e for e in redis_client.lrange(EVENTS_KEY, 0, -1))


def test_job_logs_carry_the_job_id_and_the_submitting_request_id(worker) -> None:
    from imagegen import logs

    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    handler = Collect()
    handler.addFilter(logs._ContextIds())
    handler.setFormatter(logs.JsonFormatter())
    actor_log = logging.getLogger("imagegen.services.generation_job")
    actor_log.addHandler(handler)
    actor_log.setLevel(logging.INFO)
    token = logs.request_id.set("req-from-the-submit")
    try:
        _user_id, (image_id,) = submit()
    finally:
        logs.request_id.reset(token)
    wait_for(image_id, ("completed", "failed"))
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        time.sleep(0.05)
    actor_log.removeHandler(handler)
    [line] = [line for line in lines if str(image_id) in line["message"]]
    assert line["request_id"] == "req-from-the-submit"
    assert len(line["job_id"]) == 36  # the Dramatiq message id


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [
        ("429", "The image service is rate limiting us. We tried several times and gave up."),
        ("500", "The image service had an internal error. We tried several times and gave up."),
        ("garbage", "The image service returned an unreadable image. We tried"),
    ],
)
def test_provider_faults_on_every_attempt_fail_with_a_reason_and_refund(
    worker, openai_standin, behaviour: str, reason: str
) -> None:
    openai_standin.script(behaviour, behaviour, behaviour)
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"), timeout=40)
    assert image.status == "failed"
    assert reason in image.error
    assert used(user_id) == 0 and ledger(user_id) == [-1, 1]


def test_storage_failing_on_every_attempt_fails_with_a_reason_and_refunds(
    worker, imagekit_standin
) -> None:
    imagekit_standin.fail_next("500", "500", "500")
    user_id, (image_id,) = submit()
    image = wait_for(image_id, ("completed", "failed"), timeout=40)
    assert image.status == "failed" and image.attempts == 3
    assert image.error.startswith("The image could not be uploaded")
    assert used(user_id) == 0 and ledger(user_id) == [-1, 1]


def resubmit(user_id: uuid.UUID, source_id: uuid.UUID, *, count: int, variation: bool) -> list:
    """Remake (`variation` False) or Variations of one of the user's images, through the submit
    use case the gallery and the API share."""
    from imagegen.providers.compose import get_moderator
    from imagegen.redis_client import get_redis
    from imagegen.services import submissions
    from imagegen.services.jobs import get_jobs

    with session_scope() as db:
        source = db.get(Image, source_id)
        request = generation.variation_request(source, count)
    submitted = submissions.submit(
        request=request,
        user_id=user_id,
        plan=None,
        settings=get_settings(),
        client=get_redis(),
        moderator=get_moderator(),
        jobs=get_jobs(),
        check_session=False,
        source_image_id=source_id if variation else None,
    )
    assert submitted is not None
    return [image.id for image in submitted.images]


def endpoints(standin: OpenAIStandIn) -> list[str]:
    return [request.get("path", "generations") for request in standin.requests]


def test_variations_send_the_source_png_to_the_edit_endpoint_and_remake_does_not(
    worker, openai_standin, imagekit_standin, swap_ports
) -> None:
    swap_ports(
        generator=OpenAIImageGenerator(
            api_key="sk-worker-test", base_url=openai_standin.base_url, model="gpt-image-1"
        )
    )
    user_id, (source_id,) = submit()
    source = wait_for(source_id, ("completed", "failed"))
    assert source.status == "completed", source.error
    assert endpoints(openai_standin) == ["generations"]
    source_png = imagekit_standin.files[source.storage_file_id]["data"]
    assert source_png[:4] == b"\x89PNG"

    (remake_id,) = resubmit(user_id, source_id, count=1, variation=False)
    assert wait_for(remake_id, ("completed", "failed")).status == "completed"
    assert endpoints(openai_standin) == ["generations", "generations"]
    assert openai_standin.requests[-1]["json"]["model"] == "gpt-image-1"

    variation_ids = resubmit(user_id, source_id, count=2, variation=True)
    for image_id in variation_ids:
        made = wait_for(image_id, ("completed", "failed"))
        assert made.status == "completed", made.error
        assert made.source_image_id == source_id
    edits = openai_standin.requests[2:]
    assert [request.get("path") for request in edits] == ["edits", "edits"]
    for request in edits:
        assert request["files"]["image"] == source_png
        assert request["form"]["model"] == "gpt-image-1"
        assert request["form"]["prompt"] == "a fox in the snow"


def test_a_variation_whose_source_was_deleted_meanwhile_is_drawn_afresh(
    worker, openai_standin, swap_ports
) -> None:
    from imagegen.services import library

    swap_ports(
        generator=OpenAIImageGenerator(
            api_key="sk-worker-test", base_url=openai_standin.base_url, model="gpt-image-1"
        )
    )
    user_id, (source_id,) = submit()
    assert wait_for(source_id, ("completed", "failed")).status == "completed"
    worker.pause()
    try:
        (variation_id,) = resubmit(user_id, source_id, count=1, variation=True)
        with session_scope() as db:
            library.delete_images(session=db, user_id=user_id, image_ids=[str(source_id)])
    finally:
        worker.resume()
    made = wait_for(variation_id, ("completed", "failed"))
    assert made.status == "completed", made.error
    assert endpoints(openai_standin) == ["generations", "generations"]
