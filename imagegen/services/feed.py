"""What a user's gallery header and first page need, read in one short transaction."""

import uuid
from dataclasses import dataclass

from sqlmodel import Session

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
