"""The provider budget on the real Redis: many threads and processes share one budget, and no
window ever holds more calls than it allows."""

import contextlib
import multiprocessing
import os
import queue
import threading
import time

import pytest
import redis

from imagegen.services import provider_budget
from imagegen.services.provider_budget import ProviderBusy

pytestmark = pytest.mark.usefixtures("redis_client")

LIMIT, WINDOW = 4, 1.0


def most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def call_until(url: str, stop_at: float, out) -> None:
    client = redis.Redis.from_url(url)
    while time.time() < stop_at:
        try:
            provider_budget.acquire(client, limit=LIMIT, window_seconds=WINDOW, max_wait=5)
        except ProviderBusy:
            continue
        out.put(time.time())


def redis_time(client) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def test_threads_share_one_budget(redis_client) -> None:
    calls: list[float] = []
    lock = threading.Lock()
    stop_at = time.time() + 2.5

    def worker() -> None:
        while time.time() < stop_at:
            provider_budget.acquire(redis_client, limit=LIMIT, window_seconds=WINDOW, max_wait=5)
            with lock:
                calls.append(redis_time(redis_client))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 8 eager threads: a full budget in every window, never more than 4 in any second.
    span = max(calls) - min(calls)
    assert 3 * LIMIT <= len(calls) <= LIMIT * (int(span / WINDOW) + 1)
    assert most_in_any_window(calls, WINDOW * 0.95) <= LIMIT


def test_processes_share_one_budget(redis_client) -> None:
    url = os.environ["REDIS_URL"]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    stop_at = time.time() + 8.0  # spawning takes a few seconds; they overlap for the rest
    procs = [ctx.Process(target=call_until, args=(url, stop_at, out)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
    calls = []
    with contextlib.suppress(queue.Empty):
        while True:
            calls.append(out.get(timeout=0.5))
    assert len(calls) >= 3 * LIMIT
    assert most_in_any_window(calls, WINDOW * 0.9) <= LIMIT


def test_no_limit_means_no_waiting(redis_client) -> None:
    assert provider_budget.acquire(redis_client, limit=0, max_wait=0) is None
    assert redis_client.exists(provider_budget.KEY) == 0


def test_a_full_budget_says_how_long_until_a_slot_frees(redis_client) -> None:
    for n in range(LIMIT):
        assert (
            provider_budget.try_acquire(
                redis_client, limit=LIMIT, window_seconds=10, member=f"m{n}"
            )
            == 0
        )
    wait = provider_budget.try_acquire(redis_client, limit=LIMIT, window_seconds=10, member="x")
    assert 9 < wait <= 10 + provider_budget.MARGIN_SECONDS
    with pytest.raises(ProviderBusy) as busy:
        provider_budget.acquire(redis_client, limit=LIMIT, window_seconds=10, max_wait=1)
    assert busy.value.wait_seconds > 9
    # A slot given back (its job had nothing to do) is free again at once.
    provider_budget.release(redis_client, member="m0")
    assert provider_budget.acquire(redis_client, limit=LIMIT, window_seconds=10, max_wait=0)


def test_waits_for_the_next_slot_instead_of_failing(redis_client) -> None:
    slept: list[float] = []
    for _ in range(LIMIT):
        provider_budget.acquire(redis_client, limit=LIMIT, window_seconds=WINDOW, max_wait=5)
    start = time.monotonic()
    provider_budget.acquire(
        redis_client,
        limit=LIMIT,
        window_seconds=WINDOW,
        max_wait=5,
        sleep=lambda s: (slept.append(s), time.sleep(s)),
    )
    assert slept and 0.5 < time.monotonic() - start < 2
