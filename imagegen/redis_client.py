"""The process-wide Redis client (throttling, the live-update relay, Dramatiq uses its own)."""

import functools

import redis

from imagegen.settings import get_settings


@functools.lru_cache(maxsize=1)
def get_redis() -> redis.Redis:
    """A Redis client from REDIS_URL with short timeouts, so a dead Redis fails fast."""
    return redis.Redis.from_url(
        get_settings().redis_url,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )
