"""Live updates, producer side: "something of user U changed" goes onto a Redis list.

Workers, webhooks and request handlers call `publish_*`; the web backend's relay
(`imagegen/relay.py`) pops each message once (BLPOP) and pushes it to the user's open
tabs. Nothing here imports Reflex, so workers stay light.
"""

import json
import logging
import time
import uuid

import redis

from imagegen.settings import get_settings

log = logging.getLogger(__name__)

EVENTS_KEY = "imagegen:events"


def publish(client: redis.Redis, *, user_id: uuid.UUID | str, kind: str, **data: str) -> None:
    """Queue one change notification; a lost notification only delays the UI, so errors are logged."""
    if get_settings().live_updates == "poll":
        return  # tabs refetch on their own; nobody would pop the list
    # `at`: when it was sent (epoch seconds), for the push benchmark's stage times.
    payload = json.dumps(
        {"user_id": str(user_id), "kind": kind, "at": f"{time.time():.6f}", **data}
    )
    try:
        client.rpush(EVENTS_KEY, payload)
    except redis.RedisError:
        log.warning("could not publish %s for user %s", kind, user_id, exc_info=True)


def publish_image_changed(
    client: redis.Redis, *, user_id: uuid.UUID | str, image_id: uuid.UUID | str
) -> None:
    """An image of this user was created, progressed, finished, failed or was deleted."""
    publish(client, user_id=user_id, kind="image", image_id=str(image_id))


def publish_images_changed(
    client: redis.Redis, *, user_id: uuid.UUID | str, image_ids: list[uuid.UUID]
) -> None:
    """Several images of this user at once (new ones), in one round trip."""
    pipe = client.pipeline(transaction=False)
    for image_id in image_ids:
        publish_image_changed(pipe, user_id=user_id, image_id=image_id)
    try:
        pipe.execute()
    except redis.RedisError:
        log.warning("could not publish new images for user %s", user_id, exc_info=True)


def publish_account_changed(client: redis.Redis, *, user_id: uuid.UUID | str) -> None:
    """The user's plan or credits changed."""
    publish(client, user_id=user_id, kind="account")


def parse(raw: bytes) -> dict[str, str] | None:
    """Decode one notification; None for anything malformed."""
    try:
        data = json.loads(raw)
        uuid.UUID(data["user_id"])
    except (ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) else None
