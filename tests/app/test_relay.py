"""The relay reads only what its notifications changed: one query for all of a user's changed
images, the balance too when credits moved; a dismissed or deleted image leaves the feed; a
pass takes everything waiting, once, grouped per user."""

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from sqlalchemy import event

from imagegen import realtime
from imagegen.db import get_engine, session_scope
from imagegen.models import Image
from imagegen.relay import BATCH_MAX, by_user, load_change, take_batch
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
        change = load_change(str(user_id), [{"user_id": str(user_id), "image_id": str(image_id)}])
    assert change is not None
    shown = change.cards[str(image_id)]
    assert shown is not None and shown["status"] == "completed" and shown["id"] == str(image_id)
    assert change.balance is None  # finishing costs nothing: the balance is not read
    assert change.labels is None  # a finished image moved nobody's place
    assert len(seen) == 1, seen


def test_a_failed_image_brings_the_refunded_balance() -> None:
    user_id, (image_id,) = submitted()
    set_status(image_id, status="failed", error="No.")
    change = load_change(str(user_id), [{"user_id": str(user_id), "image_id": str(image_id)}])
    assert change is not None and change.cards[str(image_id)] is not None
    assert change.balance is not None


def test_a_dismissed_or_deleted_image_leaves_the_feed() -> None:
    user_id, (dismissed, deleted) = submitted(count=2)
    set_status(dismissed, status="failed", dismissed=True)
    with session_scope() as db:
        db.get(Image, deleted).deleted_at = datetime.now(UTC)
    for image_id in (dismissed, deleted):
        change = load_change(str(user_id), [{"user_id": str(user_id), "image_id": str(image_id)}])
        assert change is not None and change.cards == {str(image_id): None}  # taken out


def test_another_users_image_or_a_gone_user_changes_nothing() -> None:
    _owner, (image_id,) = submitted()
    stranger, _ = submitted()
    change = load_change(str(stranger), [{"user_id": str(stranger), "image_id": str(image_id)}])
    assert change is not None and change.cards == {str(image_id): None}  # not the stranger's
    gone = str(uuid.uuid4())
    assert load_change(gone, [{"user_id": gone, "image_id": str(image_id)}]) is None


def test_a_users_new_images_and_account_news_are_one_query_and_one_balance() -> None:
    user_id, ids = submitted(count=4)  # just queued: credits moved
    user = str(user_id)
    events = [{"user_id": user, "image_id": str(i)} for i in ids]
    events += [
        {"user_id": user, "image_id": str(ids[0])},
        {"user_id": user},
        {"user_id": user, "image_id": "junk"},
    ]
    with statements() as seen:
        change = load_change(user, events)
    assert change is not None
    assert list(change.cards) == [str(i) for i in ids]  # each once, in the order announced
    assert all(c is not None and c["status"] == "queued" for c in change.cards.values())
    assert change.balance is not None and change.balance.used == 4
    assert change.labels is not None and set(change.labels) <= {str(i) for i in ids}
    assert len(seen) <= 3, seen  # the rows, then the balance (not one read per image)


def test_a_pass_takes_everything_waiting_once_grouped_per_user(redis_client) -> None:
    redis_client.delete(realtime.EVENTS_KEY)
    users = [str(uuid.uuid4()) for _ in range(3)]
    for n in range(BATCH_MAX + 10):
        realtime.publish_image_changed(redis_client, user_id=users[n % 3], image_id=f"{n:040d}")
    redis_client.rpush(realtime.EVENTS_KEY, b"not json")

    async def two_passes() -> tuple[list[bytes], list[bytes]]:
        client = aioredis.from_url(get_settings().redis_url)
        try:
            return await take_batch(client), await take_batch(client)
        finally:
            await client.aclose()

    first, second = asyncio.run(two_passes())
    assert len(first) == BATCH_MAX and len(second) == 11  # everything, once
    grouped = by_user(first + second)  # the malformed one dropped
    assert sorted(grouped) == sorted(users)
    for user, events in grouped.items():
        numbers = [int(e["image_id"]) for e in events]
        assert numbers == sorted(numbers) and all(users[n % 3] == user for n in numbers)
    assert sum(len(e) for e in grouped.values()) == BATCH_MAX + 10
