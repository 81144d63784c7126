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
class Changes:
    """What the live relay needs after "these images of user U changed" (and/or "U's credits
    or plan changed"): the user's feed key and plan, each named image as it is now (None:
    deleted, dismissed or not the user's), and the balance when a change may have moved
    credits (None otherwise: a started or finished image costs nothing more).
    """

    feed_key: str
    plan: str
    images: dict[uuid.UUID, Image | None]
    balance: credits.Balance | None


def changes(
    *,
    session: Session,
    user_id: uuid.UUID,
    image_ids: list[uuid.UUID],
    account: bool,
    settings: Settings,
) -> Changes | None:
    """One query for the user's row beside the named images (an outer join, so images that
    are gone still name the feed to take them out of), plus the balance when `account` or
    when credits moved. None when the user no longer exists.
    """
    rows: list[tuple[str, str, Image | None]]
    if image_ids:
        rows = session.exec(
            select(User.feed_key, User.plan, Image)
            .outerjoin(
                Image,
                and_(
                    col(Image.id).in_(image_ids),
                    col(Image.user_id) == col(User.id),
                    col(Image.deleted_at).is_(None),
                    col(Image.dismissed).is_(False),
                ),
            )
            .where(col(User.id) == user_id)
        ).all()  # type: ignore[assignment]  # the outer join's Image may be None
    else:
        rows = [
            (*row, None)
            for row in session.exec(
                select(User.feed_key, User.plan).where(col(User.id) == user_id)
            ).all()
        ]
    if not rows:
        return None
    feed_key, plan = rows[0][0], rows[0][1]
    found = {image.id: image for _key, _plan, image in rows if image is not None}
    images = {image_id: found.get(image_id) for image_id in image_ids}
    balance = None
    if account or any(i is None or i.status in CREDIT_MOVES for i in images.values()):
        balance = credits.get_balance(
            session=session, user_id=user_id, allowance=credits.plan_allowance(settings, plan)
        )
    return Changes(feed_key=feed_key, plan=plan, images=images, balance=balance)
