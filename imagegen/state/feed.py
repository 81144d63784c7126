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


def feed_token(feed_key: str) -> str:
    """The shared-state token every tab of a user links to: named by the user's secret
    `feed_key`, never by anything a browser sees. A socket whose client token equalled it
    would read the feed, so sockets may only name UUIDs (`middleware.socket_token_guard`)
    and this is never one (nor has an underscore, which Reflex forbids).
    """
    return f"feed-{feed_key}"


class UserFeed(rx.SharedState):
    """Newest images, credits and plan of one user. Linked to the user's secret
    `feed_token`, so a change made by any tab, a worker or a webhook shows in every open tab
    of that user and nowhere else.
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


async def user_feed(state: rx.State, feed_key: str) -> UserFeed:
    """This tab's feed: linked to the user's shared feed under live push (re-linked when the
    key was rotated); under LIVE_UPDATES=poll the tab's own, as every tab then fetches for
    itself (the baseline).
    """
    own = await state.get_state(UserFeed)
    if get_settings().live_updates == "poll" or not feed_key:
        return own
    return await own._link_to(feed_token(feed_key))
