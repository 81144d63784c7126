"""The state every tab of one user shares: newest images, credits and plan."""

import asyncio
import uuid

import reflex as rx

from imagegen.db import session_scope
from imagegen.models import PLAN_LABELS
from imagegen.services import feed
from imagegen.settings import get_settings
from imagegen.state.cards import card, credits_text

FEED_LIMIT = 48  # newest cards kept in the shared feed; older ones load per tab


def user_token(user_id: str) -> str:
    """The shared-state token of a user's tabs (no underscores allowed)."""
    return f"user-{user_id}"


class UserFeed(rx.SharedState):
    """Newest images, credits and plan of one user. Linked to `user-<id>`, so a change made
    by any tab, a worker or a webhook shows in every open tab of that user.
    """

    # Gallery cards, newest first.
    items: list[dict[str, str]] = []
    # Credits left in this window, the window's allowance, and when it resets.
    credits_left: int = 0
    credits_limit: int = 0
    credits_resets: str = ""
    # free_user / pro_user / gold_user.
    plan: str = ""
    # True once the first snapshot arrived (drives skeletons).
    loaded: bool = False

    @rx.var
    def plan_label(self) -> str:
        """Free / Pro / Gold."""
        return PLAN_LABELS.get(self.plan, "")

    @rx.var
    def in_progress(self) -> bool:
        """Some card is still queued or generating."""
        return any(c["status"] in ("queued", "generating") for c in self.items)

    def _apply_snapshot(self, snap: feed.FeedSnapshot) -> None:
        self.items = [card(image) for image in snap.images]
        self._apply_balance(snap)
        self.loaded = True

    def _apply_balance(self, snap: feed.FeedSnapshot) -> None:
        text = credits_text(snap.balance)
        self.credits_left, self.credits_limit = int(text["left"]), int(text["limit"])
        self.credits_resets, self.plan = str(text["resets"]), snap.plan

    def _upsert(self, new: dict[str, str], *, only_if_absent: bool = False) -> None:
        for index, existing in enumerate(self.items):
            if existing["id"] == new["id"]:
                if not only_if_absent:
                    self.items[index] = new
                return
        self.items = sorted([new, *self.items], key=lambda c: c["created_iso"], reverse=True)[
            :FEED_LIMIT
        ]

    def _remove(self, image_id: str) -> None:
        self.items = [c for c in self.items if c["id"] != image_id]


def _snapshot(user_id: str, images: bool) -> feed.FeedSnapshot | None:
    with session_scope() as db:
        return feed.snapshot(
            session=db, user_id=uuid.UUID(user_id), settings=get_settings(), images=images
        )


async def load_snapshot(user_id: str, *, images: bool = True) -> feed.FeedSnapshot | None:
    """Read the user's feed from the database off the event loop."""
    return await asyncio.to_thread(_snapshot, user_id, images)


async def user_feed(state: rx.State, user_id: str) -> UserFeed:
    """This tab's feed: linked to the user's shared feed under live push; under
    LIVE_UPDATES=poll the tab's own, as every tab then fetches for itself (the baseline).
    """
    own = await state.get_state(UserFeed)
    if get_settings().live_updates == "poll":
        return own
    return await own._link_to(user_token(user_id))
