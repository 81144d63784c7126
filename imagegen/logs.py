"""Structured logs: one JSON object per line, carrying the HTTP request id or the Dramatiq job
id of the work that wrote it, so one request or job can be followed across processes.

`LOG_FORMAT=text` gives the classic one-line text format (the same ids, in brackets).
"""

import contextvars
import json
import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import TextIO

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_request_id(incoming: str | None = None) -> str:
    """The caller's X-Request-ID when it is a sane token (a proxy's), else a fresh one."""
    if incoming and _INCOMING_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class _ContextIds(logging.Filter):
    """Copy the current request and job ids onto every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = {"req": request_id.get(), "job": job_id.get()}
        shown = [f"{k}={v}" for k, v in ids.items() if v]
        # Formatter fields (logging's `extra` mechanism): LogRecord does not declare them.
        record.__dict__.update(
            request_id=ids["req"], job_id=ids["job"], ids=f"[{' '.join(shown)}] " if shown else ""
        )
        return True


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, request_id/job_id when set, exception when any."""

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record is emitted (never to a stream that
    was replaced and closed since, as pytest's captured ones are).
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        """The current stderr."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(ids)s%(message)s"


def configure(
    level: int = logging.INFO, fmt: str | None = None, stream: TextIO | None = None
) -> None:
    """Route the root logger to `stream` (stderr) in LOG_FORMAT (json, the default, or text).

    Called only by entry points: the CLI, the web app's module and each worker process's boot.
    """
    fmt = fmt or os.environ.get("LOG_FORMAT", "json")
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.addFilter(_ContextIds())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("pgserver", "alembic.runtime.plugins", "httpx", "httpx2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
