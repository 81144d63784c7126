"""Live updates, consumer side: a lifespan task in each web process takes the waiting
notifications off a Redis list (BLPOP, then the rest in one transaction, so each is handled
by exactly one process) and writes what changed into each user's shared feed, which Reflex
fans out to every open tab of that user.

A pass handles each user's notifications together, users side by side: one query reads the
user's changed rows (and the balance only when credits may have moved), one state update
applies them. With `RELAY_TRACE` on (the benchmark), each notification's stage times go onto
a Redis list, `TRACE_KEY`.
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
from imagegen.db import statement_scope
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


# The most notifications one pass takes off the list (they are applied per user, together).
BATCH_MAX = 256


@dataclass(frozen=True)
class Change:
    """What a user's notifications of one pass change in their feed."""

    feed_key: str
    # Each changed image's new card (None: take it out), in the order they were announced.
    cards: dict[str, Card | None]
    # The new balance and plan, when credits may have moved (None: unchanged).
    balance: credits.Balance | None
    plan: str
    # Fresh places in line when queued cards' places may have changed: an account event (the
    # worker's "the line moved") or an image that joined, left or started (not one that
    # finished: its start moved the line). None: unchanged.
    labels: dict[str, dict[str, str]] | None


def load_change(user_id: str, events: list[dict[str, str]]) -> Change | None:
    """Read what one user's notifications are about, in one query (blocking: run it off the
    event loop); None when the user no longer exists.
    """
    uid = uuid.UUID(user_id)
    ids: dict[str, uuid.UUID] = {}
    account = False
    for event in events:
        image_id = event.get("image_id", "")
        if not image_id:
            account = True
            continue
        try:
            ids.setdefault(image_id, uuid.UUID(image_id))
        except ValueError:
            continue
    if not ids and not account:
        return None
    with statement_scope() as db:
        found = feed.changes(
            session=db,
            user_id=uid,
            image_ids=list(ids.values()),
            account=account,
            settings=get_settings(),
        )
    if found is None:
        return None
    # The line moved for an account event or an image that joined, left or started: fresh
    # places for every queued card, the new ones too (one Redis read).
    moved = account or any(i is None or i.status != "completed" for i in found.images.values())
    labels = queue_labels(uid, fresh=True) if moved else None
    cards = {
        image_id: card(image, labels) if (image := found.images[iid]) is not None else None
        for image_id, iid in ids.items()
    }
    return Change(found.feed_key, cards, found.balance, found.plan, labels)


async def apply_events(
    app: rx.App, user_id: str, events: list[dict[str, str]], trace: dict[str, float]
) -> None:
    """Read what one user's notifications changed and push it into their shared feed, with
    one state update.
    """
    change = await asyncio.to_thread(load_change, user_id, events)
    trace["read"] = time.time()
    if change is None:
        return
    token = rx.BaseStateToken(ident=feed_token(change.feed_key), cls=UserFeed)
    async with app.modify_state(token) as root:
        shared = await root.get_state(UserFeed)
        if shared.loaded:
            for image_id, shown in change.cards.items():
                if shown is None:
                    shared._remove(image_id)
                else:
                    shared._upsert(shown)
        if change.balance is not None:
            shared._set_balance(change.balance, change.plan)
        if change.labels is not None and shared.loaded:
            shared._relabel_queued(change.labels)
        trace["state"] = time.time()
    trace["sent"] = time.time()


async def take_batch(client: aioredis.Redis) -> list[bytes]:
    """Wait (up to 5 s) for a notification, then take it and whatever else is waiting, up to
    `BATCH_MAX`, at once (a transaction: two web processes never take the same one).
    """
    popped = await client.blpop([EVENTS_KEY], timeout=5)  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
    if popped is None:
        return []
    async with client.pipeline(transaction=True) as pipe:
        pipe.lrange(EVENTS_KEY, 0, BATCH_MAX - 2)
        pipe.ltrim(EVENTS_KEY, BATCH_MAX - 1, -1)
        more, _ = await pipe.execute()
    return [popped[1], *more]


def by_user(batch: list[bytes]) -> dict[str, list[dict[str, str]]]:
    """The batch's well-formed notifications, per user, each user's in order."""
    users: dict[str, list[dict[str, str]]] = {}
    for raw in batch:
        event = parse(raw)
        if event is not None:
            users.setdefault(event["user_id"], []).append(event)
    return users


async def relay(app: rx.App) -> None:
    """Run until cancelled: take the waiting notifications and apply them, each user's with
    one read and one state update, users side by side; survive Redis restarts.
    """
    settings = get_settings()
    if settings.live_updates == "poll":
        return  # LIVE_UPDATES=poll: every tab refetches on an interval instead
    client = aioredis.from_url(settings.redis_url, socket_connect_timeout=2)
    try:
        while True:
            try:
                batch = await take_batch(client)
            except (aioredis.ConnectionError, aioredis.TimeoutError, OSError):
                log.warning("relay: Redis unavailable, retrying")
                await asyncio.sleep(1)
                continue
            if not batch:
                continue
            popped = time.time()
            users = by_user(batch)
            traces = await asyncio.gather(
                *(_apply(app, user, events, popped) for user, events in users.items())
            )
            if settings.relay_trace:
                for events, trace in zip(users.values(), traces, strict=True):
                    for event in events:
                        await _record(client, event, trace)
    finally:
        await client.aclose()


async def _apply(
    app: rx.App, user_id: str, events: list[dict[str, str]], popped: float
) -> dict[str, float]:
    trace = {"popped": popped}
    try:
        await apply_events(app, user_id, events, trace)
    except Exception:
        log.exception("relay: could not apply %d notification(s)", len(events))
    return trace


async def _record(client: aioredis.Redis, event: dict[str, str], trace: dict[str, float]) -> None:
    """Benchmark only: the event's stage times (epoch seconds) onto TRACE_KEY."""
    entry = {"image_id": event.get("image_id", ""), "sent_at": event.get("at", ""), **trace}
    try:
        await client.rpush(TRACE_KEY, json.dumps(entry))  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
        await client.ltrim(TRACE_KEY, -TRACE_KEEP, -1)  # type: ignore[misc]  # redis-py types commands as Awaitable | value for both clients
    except (aioredis.RedisError, OSError):
        log.warning("relay: could not record a trace")
