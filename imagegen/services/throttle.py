"""Failed-attempt throttling in Redis (login now; reset requests later)."""

import hashlib
import math
from dataclasses import dataclass

import redis

from imagegen.errors import TooManyAttempts


@dataclass(frozen=True)
class Throttle:
    """At most `limit` failures per key within `window` seconds; then refuse until the window ends."""

    name: str
    limit: int
    window: int

    def _key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
        return f"throttle:{self.name}:{digest}"

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
        pipe.incr(key)
        pipe.expire(key, self.window, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def reset(self, client: "redis.Redis[bytes]", *parts: str) -> None:
        """Forget the failures (after a success)."""
        client.delete(self._key(*parts))
