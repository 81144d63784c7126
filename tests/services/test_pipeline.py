"""One generation attempt (`services.pipeline.run_generation`) around the worker's slot hook:
with the pre-check, a finished image never takes a slot; without it (no provider budget, one
transaction fewer) it takes the slot and is still skipped, never redone."""

import pytest

from imagegen.db import session_scope
from imagegen.models import Image
from imagegen.providers.compose import get_storage
from imagegen.providers.image_generator import OfflineImageGenerator
from imagegen.services import pipeline
from tests.fixtures.images import queue_images
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine")]


def run(image_id, slots: list[str], *, check_first: bool) -> str:
    return pipeline.run_generation(
        image_id=image_id,
        generator=OfflineImageGenerator(),
        storage=get_storage(),
        notify=lambda _u, _i: None,
        session_factory=session_scope,
        timeout=5,
        final_attempt=True,
        before_start=lambda: slots.append("slot"),
        check_first=check_first,
    )


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
