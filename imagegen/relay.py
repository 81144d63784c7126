"""Live updates, consumer side: a lifespan task in each web process pops notifications from
Redis (BLPOP, so each is handled by exactly one process) and writes the changed row into the
user's shared feed, which Reflex fans out to every open tab of that user.

An image event reads one row (the image beside its owner's feed key), plus the balance only
when the change moved credits; an account event reads the balance. With `RELAY_TRACE` on (the
benchmark), each event's stage times go onto a Redis list, `TRACE_KEY`.
"""

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis
import reflex as rx

from imagegen.cards import Card, card, queue_labels
from imagegen.db import session_scope
from imagegen.realtime import EVENTS_KEY, parse
from imagegen.services import credits, feed
from imagegen.settings import get_settings
from imagegen.state.feed import UserFeed, feed_token

log = logging.getLogger(__name__)

# Where the stage times of traced events go (newest last, the last TRACE_KEEP kept).
TRACE_KEY = "imagegen:relay-trace"
TRACE_KEEP = 2000


class _SharedTokenNoise(logging.Filter):
    """Reflex warns that a user's shared feed token is "a disconnected client" each time the
    relay writes to it; it is not a socket, and the fan-out to the real tabs happens
    regardless. The filter also keeps that secret token out of the logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "send delta to disconnected client 'feed-" not in record.getMessage()


logging.getLogger("reflex.app").addFilter(_SharedTokenNoise())


@dataclass(frozen=True)
class Change:
    """What one notification changes in a user's feed."""

    feed_key: str
    # The image event's id ("" for an account event) and its new card (None: take it out).
    image_id: str
    card: Card | None
    # The new balance and plan, when credits may have moved (None: unchanged).
    balance: credits.Balance | None
    plan: str


def load_change(event: dict[str, str]) -> Change | None:
    """Read what the notification is about (blocking: run it off the event loop); None when the
    user no longer exists.
    """
    uid = uuid.UUID(event["user_id"])
    image_id = event.get("image_id", "")
    settings = get_settings()
    with session_scope() as db:
        if image_id:
            try:
                iid = uuid.UUID(image_id)
            except ValueError:
                return None
            found = feed.image_change(session=db, user_id=uid, image_id=iid, settings=settings)
            if found is None:
                return None
            shown = card(found.image) if found.image is not None else None
            return Change(found.feed_key, image_id, shown, found.balance, found.plan)
        snap = feed.snapshot(session=db, user_id=uid, settings=settings, images=False)
        if snap is None:
            return None
        return Change(snap.feed_key, "", None, snap.balance, snap.plan)


def _moves_the_line(change: Change) -> bool:
    """Queued cards' places may have changed: an account event (the worker's "the line moved")
    or an image that joined, left or started (not one that finished: its start moved it).
    """
    return not change.image_id or change.card is None or change.card["status"] != "completed"


async def apply_event(app: rx.App, event: dict[str, str], trace: dict[str, float]) -> None:
    """Read what changed and push it into the user's shared feed."""
    change = await asyncio.to_thread(load_change, event)
    trace["read"] = time.time()
    if change is None:
        return
    labels = (
        await asyncio.to_thread(queue_labels, event["user_id"], fresh=True)
        if _moves_the_line(change)
        else None
    )
    token = rx.BaseStateToken(ident=feed_token(change.feed_key), cls=UserFeed)
    async with app.modify_state(token) as root:
        shared = await root.get_state(UserFeed)
        if change.image_id and shared.loaded:
            if change.card is None:
                shared._remove(change.image_id)
            else:
                shared._upsert(change.card)  # type: ignore[arg-type]  # Card is a TypedDict; the state var is the dict[str, str] Reflex serialises
        if change.balance is not None:
            shared._set_balance(change.balance, change.plan)
        if labels is not None and shared.loaded:
            shared._relabel_queued(labels)
        trace["state"] = time.time()
    trace["sent"] = time.time()


async def relay(app: rx.App) -> None:
    """Run until cancelled: BLPOP notifications and apply them; survive Redis restarts."""
    settings = get_settings()
    if settings.live_updates == "poll":
        return  # LIVE_UPDATES=poll: every tab refetches on an interval instead
    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        while True:
            try:
                popped = await client.blpop([EVENTS_KEY], timeout=5)  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                log.warning("relay: Redis unavailable, retrying")
                await asyncio.sleep(1)
                continue
            if popped is None:
                continue
            event = parse(popped[1])
            if event is None:
                continue
            trace = {"popped": time.time()}
            try:
                await apply_event(app, event, trace)
            except Exception:
                log.exception("relay: could not apply %s", event.get("kind"))
                continue
            if settings.relay_trace:
                await _record(client, event, trace)
    finally:
        await client.aclose()


async def _record(client: aioredis.Redis, event: dict[str, str], trace: dict[str, float]) -> None:
    """Benchmark only: the event's stage times (epoch seconds) onto TRACE_KEY."""
    entry = {"image_id": event.get("image_id", ""), "sent_at": event.get("at", ""), **trace}
    try:
        await client.rpush(TRACE_KEY, json.dumps(entry))  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
        await client.ltrim(TRACE_KEY, -TRACE_KEEP, -1)  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
    except (aioredis.RedisError, OSError):
        log.warning("relay: could not record a trace")
