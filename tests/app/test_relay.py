"""The relay reads only what an event changed: one row for a started or finished image, the
balance too when credits moved; a dismissed or deleted image leaves the feed."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from imagegen.db import get_engine, session_scope
from imagegen.models import Image
from imagegen.relay import load_change
from imagegen.services import generation
from imagegen.settings import get_settings
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(get_engine(), "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(get_engine(), "before_cursor_execute", record)


def submitted(count: int = 1) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A new user's `count` queued images (newest first)."""
    ids: list[uuid.UUID] = []
    with session_scope() as db:
        user = create_user(db)
        user.plan = "gold_user"  # enough credits for more than a page
        for batch in range(0, count, generation.MAX_COUNT):
            request = generation.validate_request(
                prompt="a relay test",
                size="1024x1024",
                quality="low",
                count=min(generation.MAX_COUNT, count - batch),
                style=None,
            )
            images = generation.submit_generation(
                session=db,
                user=user,
                request=request,
                settings=get_settings(),
                enqueue=lambda _: None,
            )
            ids = [i.id for i in images] + ids
            for image in images:  # finished, so the next batch is allowed
                image.status = "completed" if count > generation.MAX_COUNT else image.status
        return user.id, ids


def set_status(image_id: uuid.UUID, **values: object) -> None:
    with session_scope() as db:
        image = db.get(Image, image_id)
        for name, value in values.items():
            setattr(image, name, value)


def test_a_finished_image_is_one_row() -> None:
    user_id, (image_id, *_others) = submitted(count=30)  # more than a page: none of them read
    set_status(image_id, status="completed", image_url="/api/images/file/x.png")
    with statements() as seen:
        change = load_change({"user_id": str(user_id), "image_id": str(image_id)})
    assert change is not None and change.card is not None
    assert change.card["status"] == "completed" and change.card["id"] == str(image_id)
    assert change.balance is None  # finishing costs nothing: the balance is not read
    assert len(seen) == 1, seen


def test_a_failed_image_brings_the_refunded_balance() -> None:
    user_id, (image_id,) = submitted()
    set_status(image_id, status="failed", error="No.")
    change = load_change({"user_id": str(user_id), "image_id": str(image_id)})
    assert change is not None and change.card is not None and change.balance is not None


def test_a_dismissed_or_deleted_image_leaves_the_feed() -> None:
    user_id, (dismissed, deleted) = submitted(count=2)
    set_status(dismissed, status="failed", dismissed=True)
    with session_scope() as db:
        db.get(Image, deleted).deleted_at = datetime.now(UTC)
    for image_id in (dismissed, deleted):
        change = load_change({"user_id": str(user_id), "image_id": str(image_id)})
        assert change is not None and change.image_id == str(image_id)
        assert change.card is None  # taken out of every tab


def test_another_users_image_or_a_gone_user_changes_nothing() -> None:
    _owner, (image_id,) = submitted()
    stranger, _ = submitted()
    change = load_change({"user_id": str(stranger), "image_id": str(image_id)})
    assert change is not None and change.card is None  # not the stranger's: nothing shown
    assert load_change({"user_id": str(uuid.uuid4()), "image_id": str(image_id)}) is None
