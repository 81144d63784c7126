"""Watchdog process: fails and refunds images stuck in queued/generating (a worker died, a
message was lost). Run as `python -m workers.watchdog`; `imagegen run` starts one.
"""

import logging
import signal
import threading
from datetime import timedelta

from imagegen import logs
from imagegen.db import session_scope
from imagegen.realtime import publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import generation
from imagegen.settings import get_settings

log = logging.getLogger("workers.watchdog")


def run_once(*, older_than: timedelta) -> int:
    """One sweep; returns how many images it failed (and refunded)."""
    with session_scope() as db:
        failed = generation.fail_stuck_generations(session=db, older_than=older_than)
    for image in failed:
        publish_image_changed(get_redis(), user_id=image.user_id, image_id=image.id)
    if failed:
        log.warning("failed %d stuck image(s)", len(failed))
    return len(failed)


def main(interval: float = 30.0) -> None:
    """Sweep every `interval` seconds until SIGTERM/SIGINT."""
    logs.configure()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    older_than = timedelta(minutes=get_settings().stuck_after_minutes)
    while not stop.is_set():
        try:
            run_once(older_than=older_than)
        except Exception:  # keep sweeping through a database or Redis restart
            log.exception("watchdog sweep failed")
        stop.wait(interval)


if __name__ == "__main__":
    main()
