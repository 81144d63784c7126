"""The library's background work on the real broker and watchdog: an export built by a real
Dramatiq worker and emailed through a real SMTP server; deleted images removed for good after
the undo window; "email me when done" sent once."""

import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta

import dramatiq
import pytest
from starlette.testclient import TestClient

from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import DataExport, Image, utcnow
from imagegen.providers.compose import get_storage
from imagegen.providers.mailer import SmtpMailer
from imagegen.services import exports, library
from imagegen.settings import get_settings
from tests.fixtures.images import add_image
from tests.fixtures.users import create_user
from workers import watchdog

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


@pytest.fixture
def inbox(smtp_server, monkeypatch, swap_ports):
    """Mail configured (SMTP_HOST) and delivered to a real SMTP server on loopback."""

    box, port = smtp_server
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    get_settings.cache_clear()
    swap_ports(
        mailer=SmtpMailer(
            host="127.0.0.1", port=port, sender="imagegen <x@localhost>", starttls=False
        )
    )
    yield box
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def worker() -> Iterator[None]:
    import workers  # noqa: F401  (every actor)
    from workers.broker import broker

    broker.flush_all()
    w = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    w.start()
    yield
    w.stop()
    broker.flush_all()


def test_export_built_by_the_worker_and_emailed(worker, inbox) -> None:
    from workers.export_data import enqueue_export

    with session_scope() as db:
        user = create_user(db)
        add_image(db, user.id, prompt="a fox", storage=get_storage(), data=b"FOX")
        export = exports.request_export(session=db, user_id=user.id, enqueue=enqueue_export)
        export_id = export.id
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with session_scope() as db:
            status = db.get(DataExport, export_id).status
        if status == "ready" and inbox.messages:
            break
        time.sleep(0.2)
    assert status == "ready"
    [message] = inbox.messages
    assert message["To"] == user.email and "ready to download" in message["Subject"]
    link = inbox.body().split(get_settings().backend_url, 1)[1].split()[0]
    download = TestClient(build_api(), base_url="http://localhost:3000").get(link)
    assert download.status_code == 200
    assert download.headers["cache-control"] == "private, no-store"
    path = exports.export_folder(get_settings().data_dir) / "check.zip"
    path.write_bytes(download.content)
    with zipfile.ZipFile(path) as opened:
        assert b"FOX" in [opened.read(n) for n in opened.namelist()]
    path.unlink()


def test_the_watchdog_removes_deleted_images_after_the_undo_window() -> None:
    with session_scope() as db:
        user = create_user(db)
        recent, old = (add_image(db, user.id, storage=get_storage()) for _ in range(2))
        library.delete_images(session=db, user_id=user.id, image_ids=[recent.id, old.id])
        db.get(Image, old.id).deleted_at = utcnow() - timedelta(
            seconds=get_settings().undo_delete_seconds + 1
        )
    old_file = get_storage().path_for(old.storage_key)
    assert old_file.is_file()
    assert watchdog.purge_deleted() >= 1
    assert not old_file.is_file()
    with session_scope() as db:
        assert db.get(Image, old.id) is None and db.get(Image, recent.id) is not None
    assert get_storage().path_for(recent.storage_key).is_file()  # still restorable


def test_done_email_is_sent_once(inbox) -> None:
    with session_scope() as db:
        user = create_user(db)
        library.set_email_when_done(session=db, user_id=user.id, enabled=True)
        image = add_image(
            db, user.id, prompt="a slow castle", created_at=utcnow() - timedelta(minutes=10)
        )
        image.completed_at = utcnow()
    assert watchdog.send_done_emails() >= 1
    assert watchdog.send_done_emails() == 0
    mine = [m for m in inbox.messages if m["To"] == user.email]
    assert len(mine) == 1 and "a slow castle" in mine[0].get_payload(decode=True).decode()
    with session_scope() as db:
        assert db.get(Image, image.id).emailed_at is not None
