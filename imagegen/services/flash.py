"""One-time messages carried across a redirect (form error → page), kept in Redis for a minute.

Only an opaque id travels in the URL, so nobody can craft a link that shows their own text.
"""

import secrets
from typing import cast

import redis

TTL_SECONDS = 60


def put(client: redis.Redis, message: str, *, kind: str = "error") -> str:
    """Store a message ("error" or "info") and return its id."""
    flash_id = secrets.token_urlsafe(12)
    client.set(f"flash:{flash_id}", f"{kind}\x1f{message}".encode(), ex=TTL_SECONDS)
    return flash_id


def pop_with_kind(client: redis.Redis, flash_id: str) -> tuple[str, str] | None:
    """Read and delete a message with its kind; None when unknown or expired."""
    if not flash_id or len(flash_id) > 64:
        return None
    # redis-py types its commands as `Awaitable | Any` (one signature for sync and async clients)
    value = cast("bytes | None", client.getdel(f"flash:{flash_id}"))
    if not value:
        return None
    kind, _, message = value.decode().partition("\x1f")
    return kind, message


def pop(client: redis.Redis, flash_id: str) -> str | None:
    """Read and delete a message; None when unknown or expired."""
    popped = pop_with_kind(client, flash_id)
    return popped[1] if popped else None
