"""Start the real app the way `make run` does (`imagegen run`: production build, Dramatiq
workers, watchdog) on a free port; used by the browser tests and by `make bench`."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
# Debian's Chromium, headless, with nothing that reaches for the internet.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# The logs of the apps running right now; a failing test's report ends with their tails
# (tests/conftest.py), so a CI failure shows what the server and its worker were doing.
RUNNING_LOGS: list[Path] = []


def log_tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


class AppDidNotStart(RuntimeError):
    """The app exited or did not answer in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """In a child, before exec: SIGTERM when the test process dies, however it dies (a killed
    pytest must not leave an app whose worker takes the next run's jobs). Linux only."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 300, *, pages: bool = True
) -> None:
    """Until /api/ready (engines, schema, start-up work) and, with `pages`, the login page
    answer 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AppDidNotStart(
                f"the app exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if httpx.get(f"{url}/api/ready", timeout=2).status_code == 200 and (
                not pages
                or httpx.get(f"{url}/login", timeout=5, follow_redirects=True).status_code == 200
            ):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AppDidNotStart(f"the app did not come up in {timeout}s:\n{log.read_text()[-4000:]}")


@contextlib.contextmanager
def running_app(env_overrides: dict[str, str], log: Path, *, pages: bool = True) -> Iterator[str]:
    """`imagegen run` on a free port with these settings; yields its URL, stops it all after.

    `pages=False`: no frontend build (WEB_MODE=--backend-only: the API, sockets and workers),
    compiled into a folder of its own, so it can run beside tests that build the checkout's
    `.web` (the unit and HTTP tests' process runs beside the browser tests').
    """
    import redis

    port = free_port()
    url = f"http://localhost:{port}"
    env = {
        **os.environ,
        "PORT": str(port),
        "APP_URL": url,
        "APP_ENV": "testing",
        # The browser tests sign in and register many users from 127.0.0.1.
        "LOGIN_PER_IP_PER_MINUTE": "100000",
        "REGISTRATIONS_PER_IP_PER_HOUR": "100000",
        # make run's limits, not the worker tests' 2 s: on a busy 2-core CI machine an offline
        # image can take longer than that, and three timeouts fail it.
        "GENERATION_TIME_LIMIT_SECONDS": "60",
        "GENERATION_MAX_RETRIES": "3",
        **env_overrides,
    }
    if not pages:
        env["WEB_MODE"] = "--backend-only"
        env["REFLEX_WEB_WORKDIR"] = str(log.parent / "web")
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imagegen.cli", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
    RUNNING_LOGS.append(log)
    try:
        wait_until_up(url, proc, log, pages=pages)
        yield url
    finally:
        RUNNING_LOGS.remove(log)
        with contextlib.suppress(ProcessLookupError):  # it may have exited on its own
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def private_redis(port: int, binary: str = "redis-server") -> Iterator[Callable[..., None]]:
    """A Redis server of our own on `port` (nothing kept on disk, like the machine's); yields
    `restart(until)`, which kills it with SIGKILL and, once `until()` is true, starts it
    again, empty, on the same port."""
    import redis

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.ConnectionError):
                if redis.Redis(port=port).ping():
                    return proc
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {port}")

    current = [start()]

    def restart(until: Callable[[], bool] = lambda: True, timeout: float = 60) -> None:
        current[0].kill()
        current[0].wait(timeout=10)
        deadline = time.monotonic() + timeout
        while not until() and time.monotonic() < deadline:
            time.sleep(0.1)
        current[0] = start()

    try:
        yield restart
    finally:
        current[0].kill()
        current[0].wait(timeout=10)
