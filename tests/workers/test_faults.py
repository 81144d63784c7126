"""Faults with real processes: a Dramatiq worker killed with SIGKILL in the middle of a
generation, or between storing the file and marking the image completed. Nothing is lost or
applied twice: the image ends completed exactly once (redelivered) or failed with one refund
(the watchdog), the user is charged at most once, and there is one file or none."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlmodel import select

from imagegen.db import session_scope
from imagegen.models import CreditLedger, Image
from imagegen.settings import get_settings
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user
from tests.support.stack import die_with_parent

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def worker_process(data_dir: Path, *, delay: float) -> Iterator[subprocess.Popen[bytes]]:
    """`dramatiq workers` as `imagegen run` starts it, with a slow offline provider and a
    heartbeat timeout of 2 s (maintenance on every call), so redelivery takes seconds."""
    env = {
        **os.environ,
        "OFFLINE_DELAY_SECONDS": str(delay),
        "GENERATION_TIME_LIMIT_SECONDS": "60",
        "WORKER_HEARTBEAT_TIMEOUT_SECONDS": "2",
        "BROKER_MAINTENANCE_PER_MILLION": "1000000",
        "DATA_DIR": str(data_dir),
        "LOG_FORMAT": "text",
    }
    bin_dir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bin_dir / "dramatiq"), "workers", "--processes", "1", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


def kill_hard(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and its children: no cleanup, no ack, no nack."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def submit_one() -> tuple[uuid.UUID, uuid.UUID]:
    from workers.generate_image import enqueue_generation

    with session_scope() as db:
        user = create_user(db)
        (image,) = queue_images(
            db, user, prompt="a fox that survives crashes", enqueue=enqueue_generation
        )
        return user.id, image.id


def wait_for(image_id: uuid.UUID, statuses: tuple[str, ...], timeout: float = 40) -> Image:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as db:
            image = db.get(Image, image_id)
            if image.status in statuses:
                return image
        time.sleep(0.1)
    pytest.fail(f"image {image_id} did not reach {statuses}")


def ledger(user_id: uuid.UUID) -> list[int]:
    with session_scope() as db:
        rows = db.exec(select(CreditLedger.amount).where(CreditLedger.user_id == user_id))
        return sorted(rows)


def files_of(data_dir: Path, user_id: uuid.UUID) -> list[str]:
    folder = data_dir / "images" / str(user_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def data_dir(tmp_path: Path, redis_client, engine) -> Path:
    return tmp_path


def test_killed_mid_generation_is_redelivered_and_completes_once(data_dir: Path) -> None:
    user_id, image_id = submit_one()
    with worker_process(data_dir, delay=30) as first:
        wait_for(image_id, ("generating",))
        kill_hard(first)
    with worker_process(data_dir, delay=0) as _second:
        image = wait_for(image_id, ("completed", "failed"))
        time.sleep(1)  # any duplicate delivery would land now
    assert image.status == "completed" and image.attempts == 2
    assert ledger(user_id) == [-1]  # charged once, nothing refunded
    assert files_of(data_dir, user_id) == [f"{image_id}.png"]


def test_a_killed_ticket_resumes_its_own_image_not_the_next_in_line(data_dir: Path) -> None:
    # Messages are tickets that take the next fair image; the redelivered one must finish the
    # image it had taken (which is no longer in any line), not whatever is next.
    user_id, image_id = submit_one()
    with worker_process(data_dir, delay=30) as first:
        wait_for(image_id, ("generating",))
        kill_hard(first)
    other_user, other_image = submit_one()
    with worker_process(data_dir, delay=0):
        image = wait_for(image_id, ("completed", "failed"))
        other = wait_for(other_image, ("completed", "failed"))
        time.sleep(1)
    assert image.status == "completed" and image.attempts == 2
    assert other.status == "completed" and other.attempts == 1
    assert ledger(user_id) == [-1] and ledger(other_user) == [-1]
    assert files_of(data_dir, user_id) == [f"{image_id}.png"]


def test_killed_between_storing_and_completing_keeps_one_file_and_one_charge(
    data_dir: Path,
) -> None:
    user_id, image_id = submit_one()
    with worker_process(data_dir, delay=2) as first:
        wait_for(image_id, ("generating",))
        # Hold the image row: the worker stores the file, then blocks marking it completed.
        with psycopg.connect(get_settings().database_url.replace("+psycopg", "")) as lock:
            lock.execute("SELECT 1 FROM image WHERE id = %s FOR UPDATE", (image_id,))
            deadline = time.monotonic() + 30
            while not files_of(data_dir, user_id) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert files_of(data_dir, user_id) == [f"{image_id}.png"]
            time.sleep(0.5)  # now waiting on the row lock
            with session_scope() as db:
                assert db.get(Image, image_id).status == "generating"
            kill_hard(first)
    with worker_process(data_dir, delay=0):
        image = wait_for(image_id, ("completed", "failed"))
        time.sleep(1)
    assert image.status == "completed"
    assert ledger(user_id) == [-1]
    assert files_of(data_dir, user_id) == [f"{image_id}.png"]  # rewritten in place, no copy


def test_killed_then_failed_by_the_watchdog_refunds_once_and_ignores_the_redelivery(
    data_dir: Path, redis_client
) -> None:
    from workers.watchdog import run_once

    user_id, image_id = submit_one()
    with worker_process(data_dir, delay=30) as first:
        wait_for(image_id, ("generating",))
        kill_hard(first)
    assert run_once(older_than=timedelta(0)) >= 1
    assert redis_client.keys("imagegen:__acks__.*")  # the dead worker's unacked message
    with worker_process(data_dir, delay=0):
        # Once the heartbeat timeout passed, the message is redelivered, skipped and acked.
        deadline = time.monotonic() + 20
        while redis_client.keys("imagegen:__acks__.*") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not redis_client.keys("imagegen:__acks__.*")
        assert redis_client.llen("imagegen:generation") == 0
    with session_scope() as db:
        image = db.get(Image, image_id)
        assert image.status == "failed" and "refunded" in image.error
    assert ledger(user_id) == [-1, 1]  # one charge, one refund
    assert files_of(data_dir, user_id) == []
