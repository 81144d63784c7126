"""Watchdog process: fails and refunds images stuck in queued/generating (a worker died, a
message was lost), removes deleted images for good once they can no longer be restored,
expires old data exports, and emails people who asked to hear when a long job finished.
Run as `python -m workers.watchdog`; `imagegen run` starts one. Every sweep is idempotent,
so two watchdogs do no harm.
"""

import logging
import signal
import threading
from datetime import timedelta

from imagegen import logs
from imagegen.db import session_scope
from imagegen.providers.compose import get_storage
from imagegen.realtime import publish_image_changed
from imagegen.redis_client import get_redis
from imagegen.services import exports, generation, library
from imagegen.services.mail import send_after_commit
from imagegen.settings import get_settings

log = logging.getLogger("workers.watchdog")


def run_once(*, older_than: timedelta) -> int:
    """One sweep of stuck images; returns how many it failed (and refunded)."""
    with session_scope() as db:
        failed = generation.fail_stuck_generations(session=db, older_than=older_than)
    for image in failed:
        publish_image_changed(get_redis(), user_id=image.user_id, image_id=image.id)
    if failed:
        log.warning("failed %d stuck image(s)", len(failed))
    return len(failed)


def _delete_file(key: str, file_id: str | None) -> None:
    try:
        get_storage().delete(key=key, file_id=file_id)
    except Exception:  # the row is gone; a leftover file is only disk space
        log.exception("could not delete the file %s", key)


def purge_deleted() -> int:
    """Remove images deleted longer ago than the undo window (rows, then files)."""
    window = timedelta(seconds=get_settings().undo_delete_seconds)
    with session_scope() as db:
        purged = library.purge_deleted(session=db, older_than=window, delete_file=_delete_file)
    if purged:
        log.info("removed %d deleted image(s) for good", len(purged))
    return len(purged)


def expire_exports() -> int:
    """Delete data-export archives past their link's life, and those of deleted accounts."""
    data_dir = get_settings().data_dir
    with session_scope() as db:
        expired = exports.expire_exports(session=db, data_dir=data_dir)
    with session_scope() as db:
        exports.remove_orphans(session=db, data_dir=data_dir)
    return expired


def send_done_emails() -> int:
    """Email the people who asked, about their long jobs that finished."""
    settings = get_settings()
    with session_scope() as db:
        messages = library.done_emails(
            session=db,
            long_job=timedelta(minutes=settings.long_job_email_minutes),
            app_url=settings.app_url,
        )
        for message in messages:
            send_after_commit(db, message)
    return len(messages)


SWEEPS = (purge_deleted, expire_exports, send_done_emails)


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
        for sweep in SWEEPS:
            try:
                sweep()
            except Exception:
                log.exception("watchdog: %s failed", sweep.__name__)
        stop.wait(interval)


if __name__ == "__main__":
    main()
