"""One generation attempt (`services.pipeline.run_generation`) around the worker's slot hook:
with the pre-check, a finished image never takes a slot; without it (no provider budget, one
transaction fewer) it takes the slot and is still skipped, never redone."""

import pytest

from imagegen.db import session_scope
from imagegen.models import Image
from tests.fixtures.images import draw, queue_images
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine")]


def run(image_id, slots: list[str], *, check_first: bool) -> str:
    return draw(image_id, before_start=lambda: slots.append("slot"), check_first=check_first)


@pytest.mark.parametrize("check_first", [True, False])
def test_a_queued_image_is_made_once_and_then_skipped(check_first: bool) -> None:
    with session_scope() as db:
        (image,) = queue_images(db, create_user(db), prompt="a kingfisher")
        image_id = image.id
    slots: list[str] = []
    assert run(image_id, slots, check_first=check_first) == "completed"
    assert run(image_id, slots, check_first=check_first) == "skipped"
    # The pre-check keeps a finished image from taking a slot; without it the slot is taken
    # (the worker gives it back for a skip) and nothing is redone.
    assert slots == (["slot"] if check_first else ["slot", "slot"])
    with session_scope() as db:
        assert db.get(Image, image_id).status == "completed"
