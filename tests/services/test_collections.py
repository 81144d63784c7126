"""Collections: names, membership (an image in several), counts and covers, share links
that list only finished, undeleted images, and strangers who get "not found"."""

import uuid

import pytest
from sqlmodel import Session

from imagegen.errors import CollectionNotFound, ImageNotFound, InvalidInput
from imagegen.models import User
from imagegen.services import collections, library
from tests.fixtures.images import add_image
from tests.fixtures.users import create_user


def test_create_rename_and_names_unique_per_user(db: Session, user: User) -> None:
    trips = collections.create_collection(session=db, user_id=user.id, name="  Trips   2026 ")
    assert trips.name == "Trips 2026"
    with pytest.raises(InvalidInput, match="already have"):
        collections.create_collection(session=db, user_id=user.id, name="trips 2026")
    other = create_user(db)
    collections.create_collection(session=db, user_id=other.id, name="Trips 2026")  # theirs
    for bad in ("", "   ", "x" * 81, "tab\x07"):
        with pytest.raises(InvalidInput):
            collections.create_collection(session=db, user_id=user.id, name=bad)
    renamed = collections.rename_collection(
        session=db, user_id=user.id, collection_id=trips.id, name="Holidays"
    )
    assert renamed.name == "Holidays"


def test_an_image_in_several_collections_with_counts_and_covers(db: Session, user: User) -> None:
    a, b = add_image(db, user.id, prompt="a"), add_image(db, user.id, prompt="b")
    queued = add_image(db, user.id, prompt="q", status="queued")
    one = collections.create_collection(session=db, user_id=user.id, name="One")
    two = collections.create_collection(session=db, user_id=user.id, name="Two")
    collections.add_images(
        session=db, user_id=user.id, collection_id=one.id, image_ids=[a.id, b.id, queued.id]
    )
    collections.add_images(
        session=db, user_id=user.id, collection_id=one.id, image_ids=[a.id]
    )  # again
    collections.add_images(session=db, user_id=user.id, collection_id=two.id, image_ids=[a.id])
    summaries = {
        s.collection.name: s for s in collections.list_collections(session=db, user_id=user.id)
    }
    assert summaries["One"].count == 3 and summaries["Two"].count == 1
    assert summaries["Two"].cover.id == a.id
    held = collections.collections_of(session=db, user_id=user.id, image_ids=[a.id])
    assert set(held[a.id]) == {one.id, two.id}
    collections.remove_images(session=db, user_id=user.id, collection_id=one.id, image_ids=[b.id])
    shown = collections.collection_images(session=db, user_id=user.id, collection_id=one.id)
    assert {i.id for i in shown} == {a.id, queued.id}
    library.delete_images(session=db, user_id=user.id, image_ids=[a.id])
    assert [
        i.id
        for i in collections.collection_images(session=db, user_id=user.id, collection_id=one.id)
    ] == [queued.id]


def test_share_link_lists_finished_images_and_stops(db: Session, user: User) -> None:
    done, queued = add_image(db, user.id), add_image(db, user.id, status="queued")
    album = collections.create_collection(session=db, user_id=user.id, name="Album")
    collections.add_images(
        session=db, user_id=user.id, collection_id=album.id, image_ids=[done.id, queued.id]
    )
    token = collections.share_collection(
        session=db, user_id=user.id, collection_id=album.id
    ).share_token
    assert (
        token
        and collections.share_collection(
            session=db, user_id=user.id, collection_id=album.id
        ).share_token
        == token
    )
    shared, images = collections.get_shared_collection(session=db, token=token)
    assert shared.id == album.id and [i.id for i in images] == [done.id]
    assert (
        collections.shared_collection_image(session=db, token=token, image_id=str(done.id)).id
        == done.id
    )
    assert (
        collections.shared_collection_image(session=db, token=token, image_id=str(queued.id))
        is None
    )
    # An image of the owner's that is not in the collection is not reachable through it.
    outside = add_image(db, user.id)
    assert (
        collections.shared_collection_image(session=db, token=token, image_id=str(outside.id))
        is None
    )
    collections.stop_sharing_collection(session=db, user_id=user.id, collection_id=album.id)
    assert collections.get_shared_collection(session=db, token=token) is None
    assert (
        collections.shared_collection_image(session=db, token=token, image_id=str(done.id)) is None
    )


def test_strangers_get_not_found_and_change_nothing(db: Session, user: User) -> None:
    mine = add_image(db, user.id)
    album = collections.create_collection(session=db, user_id=user.id, name="Mine")
    bob = create_user(db)
    bobs_album = collections.create_collection(session=db, user_id=bob.id, name="Bob's")
    for call in (
        lambda: collections.get_collection(session=db, user_id=bob.id, collection_id=album.id),
        lambda: collections.rename_collection(
            session=db, user_id=bob.id, collection_id=album.id, name="x"
        ),
        lambda: collections.delete_collection(session=db, user_id=bob.id, collection_id=album.id),
        lambda: collections.share_collection(session=db, user_id=bob.id, collection_id=album.id),
        lambda: collections.add_images(
            session=db, user_id=bob.id, collection_id=album.id, image_ids=[mine.id]
        ),
        lambda: collections.collection_images(
            session=db, user_id=bob.id, collection_id=str(uuid.uuid4())
        ),
        lambda: collections.get_collection(session=db, user_id=bob.id, collection_id="nonsense"),
    ):
        with pytest.raises(CollectionNotFound):
            call()
    # Bob cannot put Ada's image into his own collection either.
    with pytest.raises(ImageNotFound):
        collections.add_images(
            session=db, user_id=bob.id, collection_id=bobs_album.id, image_ids=[mine.id]
        )
    assert (
        collections.collection_images(session=db, user_id=bob.id, collection_id=bobs_album.id) == []
    )
    assert (
        collections.get_collection(session=db, user_id=user.id, collection_id=album.id).name
        == "Mine"
    )
