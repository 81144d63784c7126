"""Live updates, consumer side: a lifespan task in each web process pops notifications from
Redis (BLPOP, so each is handled by exactly one process) and writes the changed rows into the
user's shared feed, which Reflex fans out to every open tab of that user.
"""

import asyncio
import logging
import uuid

import redis.asyncio as aioredis
import reflex as rx

from imagegen.db import session_scope
from imagegen.realtime import EVENTS_KEY, parse
from imagegen.services import feed, generation
from imagegen.settings import get_settings
from imagegen.state.cards import NO_SPOT, card, queue_labels
from imagegen.state.feed import UserFeed, feed_token

log = logging.getLogger(__name__)


class _SharedTokenNoise(logging.Filter):
    """Reflex warns that a user's shared feed token is "a disconnected client" each time the
    relay writes to it; it is not a socket, and the fan-out to the real tabs happens
    regardless. The filter also keeps that secret token out of the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "send delta to disconnected client 'feed-" not in record.getMessage()


logging.getLogger("reflex.app").addFilter(_SharedTokenNoise())


def _load(
    user_id: str, image_id: str | None
) -> tuple[feed.FeedSnapshot | None, dict[str, str] | None]:
    """The user's balance/plan and, for an image event, the image's card (None: deleted)."""
    uid = uuid.UUID(user_id)
    with session_scope() as db:
        snap = feed.snapshot(session=db, user_id=uid, settings=get_settings())
        image = None
        if image_id:
            found = generation.get_images(session=db, user_id=uid, image_ids=[uuid.UUID(image_id)])
            image = card(found[0]) if found else None
    return snap, image


async def apply_event(app: rx.App, event: dict[str, str]) -> None:
    """Reload what changed from the database and push it into the user's shared feed."""
    user_id, image_id = event["user_id"], event.get("image_id")
    snap, image_card = await asyncio.to_thread(_load, user_id, image_id)
    labels = await asyncio.to_thread(queue_labels, user_id, fresh=True)
    if snap is None:
        return
    token = rx.BaseStateToken(ident=feed_token(snap.feed_key), cls=UserFeed)
    async with app.modify_state(token) as root:
        shared = await root.get_state(UserFeed)
        if image_id and shared.loaded:
            if image_card is None or image_card.get("dismissed") == "1":
                shared._remove(image_id)
            else:
                shared._upsert(image_card)
        shared._apply_balance(snap)
        if shared.loaded and any(c["status"] == "queued" for c in shared.items):
            # The line moved (a job started, a burst arrived): fresh places for queued cards.
            updated = [
                {**c, **labels.get(c["id"], NO_SPOT)} if c["status"] == "queued" else c
                for c in shared.items
            ]
            if updated != shared.items:
                shared.items = updated


async def relay(app: rx.App) -> None:
    """Run until cancelled: BLPOP notifications and apply them; survive Redis restarts."""
    if get_settings().live_updates == "poll":
        return  # LIVE_UPDATES=poll: every tab refetches on an interval instead
    client = aioredis.from_url(get_settings().redis_url, socket_connect_timeout=2)
    try:
        while True:
            try:
                popped = await client.blpop([EVENTS_KEY], timeout=5)
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                log.warning("relay: Redis unavailable, retrying")
                await asyncio.sleep(1)
                continue
            if popped is None:
                continue
            event = parse(popped[1])
            if event is None:
                continue
            try:
                await apply_event(app, event)
            except Exception:
                log.exception("relay: could not apply %s", event)
    finally:
        await client.aclose()
