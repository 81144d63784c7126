"""Queued gallery cards carry their place in line and an estimate; they move up as the line
moves and are blank once the image runs."""

import time
import uuid

import pytest

from imagegen.cards import card, queue_labels
from imagegen.db import session_scope
from imagegen.models import Image
from imagegen.services import fair_queue, generation
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def submit(count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
    from workers.generate_image import enqueue_generation

    with session_scope() as db:
        user = create_user(db)
        images = queue_images(db, user, prompt="in line", count=count, enqueue=enqueue_generation)
        return user.id, [i.id for i in images]


def cards_of(ids: list[uuid.UUID]) -> list[dict[str, str]]:
    with session_scope() as db:
        return [card(db.get(Image, i)) for i in ids]


def test_queued_cards_show_place_and_estimate_and_move_up(redis_client) -> None:
    user_id, ids = submit(3)
    shown = cards_of(ids)
    assert [c["queue_position"] for c in shown] == ["Next in line", "2nd in line", "3rd in line"]
    assert all(c["queue_eta"].startswith("ready in about") for c in shown)
    # A worker takes the first one; the others move up.
    fair_queue.take(redis_client, message_id="m1")
    labels = queue_labels(user_id, fresh=True)
    assert labels[str(ids[1])]["queue_position"] == "Next in line"
    assert str(ids[0]) not in labels


def test_cancelling_leaves_the_line(redis_client) -> None:
    user_id, ids = submit(2)
    with session_scope() as db:
        generation.cancel_generation(session=db, user_id=user_id, image_id=ids[0])
    time.sleep(0.6)  # past the card cache
    cancelled, waiting = cards_of(ids)
    assert cancelled["queue_position"] == "" and cancelled["status"] == "cancelled"
    assert waiting["queue_position"] == "Next in line"
    assert fair_queue.waiting_users(redis_client) == [str(user_id)]


def test_the_card_just_says_queued_when_redis_cannot_tell(redis_client) -> None:
    _user_id, ids = submit(1)
    redis_client.flushdb()
    time.sleep(0.6)
    (shown,) = cards_of(ids)
    assert shown["status_label"] == "Queued" and shown["queue_position"] == ""
