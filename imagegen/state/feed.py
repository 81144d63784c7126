"""The state every tab of one user shares: newest images, credits and plan."""

import asyncio
import uuid

import reflex as rx

from imagegen.cards import NO_SPOT, Card, card, credits_text
from imagegen.db import session_scope
from imagegen.models import ACTIVE_STATUSES, PLAN_LABELS
from imagegen.services import credits, feed
from imagegen.settings import get_settings


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

    `items` is one unbroken run of the user's images from the newest down: the first page,
    every image made since, and the older pages any tab loaded. It never drops a card except
    one deleted or dismissed; each tab shows the part down to its own `floor`
    (`GalleryState`), so a card can never fall between the shared feed and a tab's pages.
    """

    # Gallery cards, newest first (by their `key`).
    items: list[Card] = []
    # Credits left in this window, the window's allowance, and when it resets.
    credits_left: int = 0
    credits_limit: int = 0
    # Extra (granted) credits among those left, beyond the plan's allowance.
    credits_extra: int = 0
    credits_resets: str = ""
    # The same instant as ISO 8601, shown in the browser's own time zone.
    credits_resets_iso: str = ""
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
        return any(c["status"] in ACTIVE_STATUSES for c in self.items)

    @rx.var
    def working_count(self) -> int:
        """Cards queued or generating (the tab title counts them)."""
        return sum(c["status"] in ACTIVE_STATUSES for c in self.items)

    @rx.var
    def done_count(self) -> int:
        """Finished cards (the tab title counts the new ones while the tab is away)."""
        return sum(c["status"] == "completed" for c in self.items)

    def _apply_snapshot(self, snap: feed.FeedSnapshot) -> None:
        self._replace_range([card(image) for image in snap.images], upper=None, more=snap.more)
        self._apply_balance(snap)
        self.loaded = True

    def _replace_range(self, cards: list[Card], *, upper: str | None, more: bool) -> None:
        """Put a page read from the database in place: it is the truth from its last card up
        to `upper` (None: the newest; more=False: down to the oldest). Cards outside that
        range stay, as another tab may be showing them: a reload or "Load more" in one tab
        takes nothing from another.
        """
        lower = cards[-1]["key"] if more and cards else ""
        kept = [
            c for c in self.items if not (lower <= c["key"] and (upper is None or c["key"] < upper))
        ]
        self.items = sorted([*cards, *kept], key=lambda c: c["key"], reverse=True)

    def _apply_balance(self, snap: feed.FeedSnapshot) -> None:
        self._set_balance(snap.balance, snap.plan)

    def _set_balance(self, balance: credits.Balance, plan: str) -> None:
        text = credits_text(balance)
        self.credits_left, self.credits_limit = int(text["left"]), int(text["limit"])
        self.credits_extra = int(text["extra"])
        self.credits_resets_iso = str(text["resets_iso"])
        self.credits_resets, self.plan = str(text["resets"]), plan

    def _relabel_queued(self, labels: dict[str, dict[str, str]]) -> None:
        """Fresh places in line for the queued cards (the line moved); nothing sent when none
        changed.
        """
        if not any(c["status"] == "queued" for c in self.items):
            return
        updated = [_placed(c, labels.get(c["id"], NO_SPOT)) for c in self.items]
        if updated != self.items:
            self.items = updated

    def _upsert(self, new: Card, *, only_if_absent: bool = False) -> None:
        for index, existing in enumerate(self.items):
            if existing["id"] == new["id"]:
                if not only_if_absent:
                    self.items[index] = new
                return
        self.items = sorted([new, *self.items], key=lambda c: c["key"], reverse=True)

    def _remove(self, image_id: str) -> None:
        self.items = [c for c in self.items if c["id"] != image_id]


def _placed(c: Card, spot: dict[str, str]) -> Card:
    """A queued card with its place in line from `spot`; any other card as it is."""
    if c["status"] != "queued":
        return c
    return {**c, "queue_position": spot["queue_position"], "queue_eta": spot["queue_eta"]}


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
