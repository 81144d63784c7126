"""What a user's gallery header and first page need, read in one short transaction."""

import uuid
from dataclasses import dataclass

from sqlalchemy import and_
from sqlmodel import Session, col, select

from imagegen.models import Image, User
from imagegen.services import credits, generation
from imagegen.settings import Settings


@dataclass(frozen=True)
class FeedSnapshot:
    """The first page of images, the credit balance and the plan."""

    images: list[Image]
    # Older images exist past the first page.
    more: bool
    balance: credits.Balance
    plan: str
    # The secret naming the user's live feed (server side only).
    feed_key: str


def snapshot(
    *, session: Session, user_id: uuid.UUID, settings: Settings, images: bool = True
) -> FeedSnapshot | None:
    """The user's newest images (unless `images` is False) and credits; None when the user
    no longer exists.
    """
    user = session.get(User, user_id)
    if user is None:
        return None
    size = generation.page_size()
    page = (
        generation.list_images(session=session, user_id=user_id, limit=size + 1) if images else []
    )
    return FeedSnapshot(
        images=page[:size],
        more=len(page) > size,
        balance=credits.get_balance(
            session=session,
            user_id=user_id,
            allowance=credits.plan_allowance(settings, user.plan),
        ),
        plan=user.plan,
        feed_key=user.feed_key,
    )


# Statuses whose change moved credits: queued (the debit) and failed or cancelled (the refund).
CREDIT_MOVES = frozenset({"queued", "failed", "cancelled"})


@dataclass(frozen=True)
class ImageChange:
    """What the live relay needs after "image X of user U changed": the user's feed key and the
    image as it is now (None: deleted or dismissed), plus the balance when the change moved
    credits (None otherwise: a started or finished image costs nothing more).
    """

    feed_key: str
    image: Image | None
    balance: credits.Balance | None
    plan: str


def image_change(
    *, session: Session, user_id: uuid.UUID, image_id: uuid.UUID, settings: Settings
) -> ImageChange | None:
    """One row: the user's feed key and plan beside the image (an outer join, so a deleted
    image still names the feed to take it out of); the balance only when credits moved.
    None when the user no longer exists.
    """
    row = session.exec(
        select(User.feed_key, User.plan, Image)
        .outerjoin(
            Image,
            and_(
                col(Image.id) == image_id,
                col(Image.user_id) == col(User.id),
                col(Image.deleted_at).is_(None),
                col(Image.dismissed).is_(False),
            ),
        )
        .where(col(User.id) == user_id)
    ).first()
    if row is None:
        return None
    feed_key, plan, image = row
    balance = None
    if image is None or image.status in CREDIT_MOVES:
        balance = credits.get_balance(
            session=session, user_id=user_id, allowance=credits.plan_allowance(settings, plan)
        )
    return ImageChange(feed_key=feed_key, image=image, balance=balance, plan=plan)
