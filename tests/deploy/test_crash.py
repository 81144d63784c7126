"""`imagegen run` (what `make run` starts) survives a Dramatiq worker process killed with
SIGKILL, as the OOM killer does, in the middle of a generation: the site stays up, the
launcher restarts the worker, and the image in flight still completes, charged once, within
60 s — with the default heartbeat and maintenance settings, not test-only ones."""

import contextlib
import os
import re
import signal
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import text

from imagegen.db import session_scope
from imagegen.services import api_keys
from tests.fixtures.users import create_user
from tests.support.stack import running_app

# No browser and no frontend build: it runs with the unit and HTTP tests, beside the browser's.
pytestmark = [pytest.mark.launcher]

REDIS_URL = os.environ.get("TEST_LAUNCHER_REDIS_URL", "redis://127.0.0.1:6379/14")


def _dramatiq_children(root_pid: int) -> list[psutil.Process]:
    """The worker processes Dramatiq's main process forked (not the main process itself, nor
    the shell the launcher runs the Procfile line with)."""
    dramatiq = {}
    for proc in psutil.Process(root_pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.name() not in ("sh", "dash", "bash") and "dramatiq" in " ".join(proc.cmdline()):
                dramatiq[proc.pid] = proc
    return [proc for proc in dramatiq.values() if proc.ppid() in dramatiq]


def _launcher_pid(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    for proc in psutil.process_iter(["cmdline", "environ"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "imagegen.cli run" in cmd and (proc.info["environ"] or {}).get("PORT") == port:
            return proc.pid
    raise AssertionError("no launcher process")


def _image(image_id: str) -> tuple[str, int]:
    with session_scope() as db:
        row = db.execute(
            text("SELECT status, attempts FROM image WHERE id = :id"), {"id": image_id}
        ).one()
        return row[0], row[1]


def _ledger(user_id: uuid.UUID) -> list[int]:
    with session_scope() as db:
        return sorted(
            db.execute(
                text("SELECT amount FROM credit_ledger WHERE user_id = :u"), {"u": user_id}
            ).scalars()
        )


def test_killed_worker_is_restarted_and_its_image_completes_once(engine, tmp_path: Path) -> None:
    env = {
        "REDIS_URL": REDIS_URL,
        "DATA_DIR": str(tmp_path / "data"),
        "OFFLINE_DELAY_SECONDS": "8",  # long enough to kill it mid-generation
        "GENERATION_TIME_LIMIT_SECONDS": "60",
        "LOG_FORMAT": "text",
    }
    for name in ("WORKER_HEARTBEAT_TIMEOUT_SECONDS", "BROKER_MAINTENANCE_PER_MILLION"):
        os.environ.pop(name, None)  # the defaults `make run` uses
    log = tmp_path / "server.log"
    with session_scope() as db:
        user = create_user(db)
        key, _ = api_keys.create_key(session=db, user_id=user.id, name="crash")
        user_id = user.id
    with running_app(env, log, pages=False) as url:
        launcher = _launcher_pid(url)
        response = httpx.post(
            f"{url}/api/v1/images/generations",
            headers={"Authorization": f"Bearer {key}"},
            json={"prompt": "a lighthouse that outlives its keeper", "async": True},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        image_id = response.json()["data"][0]["id"]

        deadline = time.monotonic() + 30
        while _image(image_id)[0] != "generating":
            assert time.monotonic() < deadline, "the image never started generating"
            time.sleep(0.1)
        [child] = _dramatiq_children(launcher)
        os.kill(child.pid, signal.SIGKILL)
        killed = time.monotonic()

        health_failures = 0
        while _image(image_id)[0] != "completed":
            elapsed = time.monotonic() - killed
            assert elapsed < 60, f"not completed {elapsed:.0f} s after the kill: {_image(image_id)}"
            if httpx.get(f"{url}/api/health", timeout=5).status_code != 200:
                health_failures += 1
            time.sleep(0.5)
        took = time.monotonic() - killed
        print(f"\nkill -> completed: {took:.1f} s")

        assert health_failures == 0  # the site stayed up all along
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
        time.sleep(2)  # a duplicate delivery would land now
        status, attempts = _image(image_id)
        assert (status, attempts) == ("completed", 2)
        assert _ledger(user_id) == [-1]  # one debit, no refund
        # The launcher noticed and restarted the worker; the new one is alive.
        output = log.read_text()
        assert re.search(r"worker exited with code -?\d+ after \d+ s; restarting", output)
        assert output.count(" exited with code ") == 1  # only the worker: web and watchdog ran on
        assert _dramatiq_children(launcher)
