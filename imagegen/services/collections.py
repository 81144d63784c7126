"""Collections: named folders of a user's images (an image may be in several), each with
its own public link `/c/<token>` listing its finished images while shared.
"""

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlmodel import Session, col, select

from imagegen.errors import CollectionNotFound, InvalidInput
from imagegen.models import Collection, CollectionImage, Image, utcnow
from imagegen.services import library
from imagegen.services.generation import page_size

MAX_NAME = 80
MAX_COLLECTIONS = 200


@dataclass(frozen=True)
class CollectionSummary:
    """A collection with how many images it holds and its newest finished image (a cover)."""

    collection: Collection
    count: int
    cover: Image | None


def validate_name(raw: str) -> str:
    """A collection name: trimmed, 1 to 80 characters, one line.

    Raises:
        InvalidInput: empty, too long, or with control characters.
    """
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("Give the collection a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A collection name has at most {MAX_NAME} characters.")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 or 0xD800 <= ord(c) < 0xE000 for c in name):
        raise InvalidInput("The name contains control characters.")
    return name


def _name_taken(session: Session, user_id: uuid.UUID, name: str, but: uuid.UUID | None) -> bool:
    stmt = select(Collection.id).where(
        Collection.user_id == user_id, func.lower(Collection.name) == name.lower()
    )
    if but is not None:
        stmt = stmt.where(Collection.id != but)
    return session.exec(stmt).first() is not None


def create_collection(*, session: Session, user_id: uuid.UUID, name: str) -> Collection:
    """A new, empty, private collection.

    Raises:
        InvalidInput: a bad name, one the user already uses, or too many collections.
    """
    name = validate_name(name)
    if _name_taken(session, user_id, name, None):
        raise InvalidInput(f"You already have a collection named “{name}”.")
    count = session.scalar(
        select(func.count()).select_from(Collection).where(Collection.user_id == user_id)
    )
    if (count or 0) >= MAX_COLLECTIONS:
        raise InvalidInput(f"You can have up to {MAX_COLLECTIONS} collections.")
    collection = Collection(user_id=user_id, name=name)
    session.add(collection)
    session.flush()
    return collection


def get_collection(
    *, session: Session, user_id: uuid.UUID, collection_id: uuid.UUID | str
) -> Collection:
    """The user's collection.

    Raises:
        CollectionNotFound: no such collection, or someone else's (the same answer).
    """
    try:
        key = collection_id if isinstance(collection_id, uuid.UUID) else uuid.UUID(collection_id)
    except ValueError:
        raise CollectionNotFound() from None
    found = session.exec(
        select(Collection).where(Collection.id == key, Collection.user_id == user_id)
    ).first()
    if found is None:
        raise CollectionNotFound()
    return found


def rename_collection(
    *, session: Session, user_id: uuid.UUID, collection_id: uuid.UUID | str, name: str
) -> Collection:
    """Give a collection another name.

    Raises:
        CollectionNotFound: not the user's.
        InvalidInput: a bad name, or one of the user's other collections has it.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    name = validate_name(name)
    if _name_taken(session, user_id, name, collection.id):
        raise InvalidInput(f"You already have a collection named “{name}”.")
    collection.name = name
    session.add(collection)
    session.flush()
    return collection


def delete_collection(
    *, session: Session, user_id: uuid.UUID, collection_id: uuid.UUID | str
) -> None:
    """Delete a collection (its images stay in the gallery; its link stops working).

    Raises:
        CollectionNotFound: not the user's.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    session.delete(collection)
    session.flush()


def _visible(user_id: uuid.UUID) -> list[ColumnElement[bool]]:
    return [col(Image.user_id) == user_id, col(Image.deleted_at).is_(None)]


def list_collections(*, session: Session, user_id: uuid.UUID) -> list[CollectionSummary]:
    """The user's collections by name, each with its image count and cover."""
    collections = list(
        session.exec(
            select(Collection)
            .where(Collection.user_id == user_id)
            .order_by(func.lower(Collection.name))
        )
    )
    if not collections:
        return []
    ids = [c.id for c in collections]
    counts = dict(
        session.exec(
            select(CollectionImage.collection_id, func.count())
            .join(Image, col(Image.id) == CollectionImage.image_id)
            .where(col(CollectionImage.collection_id).in_(ids), *_visible(user_id))
            .group_by(col(CollectionImage.collection_id))
        ).all()
    )
    covers_query = (
        select(CollectionImage.collection_id, Image)
        .join(Image, col(Image.id) == CollectionImage.image_id)
        .where(
            col(CollectionImage.collection_id).in_(ids),
            Image.status == "completed",
            *_visible(user_id),
        )
        .ext(distinct_on(col(CollectionImage.collection_id)))
        .order_by(col(CollectionImage.collection_id), col(Image.created_at).desc())
    )
    covers = dict(session.exec(covers_query).all())
    return [CollectionSummary(c, counts.get(c.id, 0), covers.get(c.id)) for c in collections]


def add_images(
    *,
    session: Session,
    user_id: uuid.UUID,
    collection_id: uuid.UUID | str,
    image_ids: Sequence[uuid.UUID | str],
) -> Collection:
    """Put the user's images in the collection (those already in it stay once).

    Raises:
        CollectionNotFound: not the user's collection.
        ImageNotFound: any image is not the user's: nothing is added.
        InvalidInput: no ids, or too many.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    images = library.owned_images(session=session, user_id=user_id, image_ids=image_ids)
    session.execute(
        insert(CollectionImage)
        .values([{"collection_id": collection.id, "image_id": image.id} for image in images])
        .on_conflict_do_nothing()
    )
    collection.updated_at = utcnow()
    session.add(collection)
    session.flush()
    return collection


def remove_images(
    *,
    session: Session,
    user_id: uuid.UUID,
    collection_id: uuid.UUID | str,
    image_ids: Sequence[uuid.UUID | str],
) -> Collection:
    """Take images out of the collection (they stay in the gallery).

    Raises:
        CollectionNotFound: not the user's collection.
        ImageNotFound: any id is not one of the user's images.
        InvalidInput: no ids, or too many.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    images = library.owned_images(session=session, user_id=user_id, image_ids=image_ids)
    session.execute(
        delete(CollectionImage).where(
            col(CollectionImage.collection_id) == collection.id,
            col(CollectionImage.image_id).in_([image.id for image in images]),
        )
    )
    session.flush()
    return collection


def collection_images(
    *,
    session: Session,
    user_id: uuid.UUID,
    collection_id: uuid.UUID | str,
    limit: int | None = None,
    offset: int = 0,
) -> list[Image]:
    """The collection's images, newest first.

    Raises:
        CollectionNotFound: not the user's collection.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    return list(
        session.exec(
            select(Image)
            .join(CollectionImage, col(CollectionImage.image_id) == Image.id)
            .where(CollectionImage.collection_id == collection.id, *_visible(user_id))
            .order_by(col(Image.created_at).desc(), col(Image.id).desc())
            .offset(offset)
            .limit(page_size() if limit is None else limit)
        )
    )


def collections_of(
    *, session: Session, user_id: uuid.UUID, image_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """For each of these images of the user's, the ids of the collections holding it."""
    if not image_ids:
        return {}
    held: dict[uuid.UUID, list[uuid.UUID]] = {}
    for image_id, collection_id in session.exec(
        select(CollectionImage.image_id, CollectionImage.collection_id)
        .join(Collection, col(Collection.id) == CollectionImage.collection_id)
        .where(col(CollectionImage.image_id).in_(image_ids), Collection.user_id == user_id)
    ):
        held.setdefault(image_id, []).append(collection_id)
    return held


def share_collection(
    *, session: Session, user_id: uuid.UUID, collection_id: uuid.UUID | str
) -> Collection:
    """Give the collection a public link `/c/<token>` (kept if already shared).

    Raises:
        CollectionNotFound: not the user's.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    if collection.share_token is None:
        collection.share_token = secrets.token_urlsafe(24)
        collection.shared_at = utcnow()
        session.add(collection)
        session.flush()
    return collection


def stop_sharing_collection(
    *, session: Session, user_id: uuid.UUID, collection_id: uuid.UUID | str
) -> Collection:
    """End the public link: it answers 404 from now on (sharing again makes a new one).

    Raises:
        CollectionNotFound: not the user's.
    """
    collection = get_collection(session=session, user_id=user_id, collection_id=collection_id)
    collection.share_token, collection.shared_at = None, None
    session.add(collection)
    session.flush()
    return collection


SHARED_PAGE_LIMIT = 200


def get_shared_collection(*, session: Session, token: str) -> tuple[Collection, list[Image]] | None:
    """A shared collection and its finished images (newest first, at most 200); None when
    the link was never made, was stopped, or the collection is gone.
    """
    if not token or len(token) > 64:
        return None
    collection = session.exec(select(Collection).where(Collection.share_token == token)).first()
    if collection is None:
        return None
    images = list(
        session.exec(
            select(Image)
            .join(CollectionImage, col(CollectionImage.image_id) == Image.id)
            .where(
                CollectionImage.collection_id == collection.id,
                Image.status == "completed",
                *_visible(collection.user_id),
            )
            .order_by(col(Image.created_at).desc(), col(Image.id).desc())
            .limit(SHARED_PAGE_LIMIT)
        )
    )
    return collection, images


def shared_collection_image(*, session: Session, token: str, image_id: str) -> Image | None:
    """One finished image of a shared collection, or None (not in it, not shared, deleted)."""
    try:
        key = uuid.UUID(image_id)
    except ValueError:
        return None
    if not token or len(token) > 64:
        return None
    return session.exec(
        select(Image)
        .join(CollectionImage, col(CollectionImage.image_id) == Image.id)
        .join(Collection, col(Collection.id) == CollectionImage.collection_id)
        .where(
            Collection.share_token == token,
            Image.id == key,
            Image.status == "completed",
            col(Image.deleted_at).is_(None),
            Image.user_id == Collection.user_id,
        )
    ).first()
