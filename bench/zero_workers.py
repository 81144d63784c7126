"""The Dramatiq worker modules with a zero-cost generator (the same pre-encoded PNG for every
image) and per-stage CPU accounting, for bench/pipeline.py: `dramatiq bench.zero_workers`.

Each stage's thread CPU time (status update, store, complete, notify, and the whole job) is
summed per process and added to the Redis hash `bench:stages` every few jobs.
"""

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import workers  # noqa: F401  (the broker and every actor, as `dramatiq workers` loads them)
from imagegen.providers.compose import Providers, build_storage, use_providers
from imagegen.providers.image_generator import GeneratedImage, OfflineImageGenerator
from imagegen.redis_client import get_redis
from imagegen.services import generation, generation_job
from imagegen.settings import get_settings
from workers import generate_image as actor_module

ZERO_COST = os.environ.get("BENCH_GENERATOR", "zero") == "zero"
FLUSH_EVERY = 20

_lock = threading.Lock()
_totals: dict[str, float] = {}


def _add(stage: str, seconds: float) -> None:
    with _lock:
        _totals[stage] = _totals.get(stage, 0.0) + seconds


def _flush() -> None:
    with _lock:
        pending = dict(_totals)
        _totals.clear()
    if pending:
        pipe = get_redis().pipeline(transaction=False)
        for stage, seconds in pending.items():
            pipe.hincrbyfloat("bench:stages", stage, seconds)
        pipe.execute()


atexit.register(_flush)


def timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, its thread CPU time added to `stage`."""

    def run(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(stage, time.thread_time() - start)

    return run


class ZeroCostGenerator:
    """Returns the same pre-encoded PNG at once: what is left is the pipeline's own cost."""

    name = "zero-cost"

    def __init__(self) -> None:
        """Encode the picture once."""
        self.image = OfflineImageGenerator().generate(
            prompt="zero-cost benchmark image", size="1024x1024", quality="low", timeout=10
        )

    def generate(
        self,
        *,
        prompt: str,
        size: str,
        quality: str,
        timeout: float,
        seed: str = "",
        source: bytes | None = None,
    ) -> GeneratedImage:
        """The picture (the arguments are ignored)."""
        del prompt, size, quality, timeout, seed, source
        return self.image


class _TimedStorage:
    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.put = timed("store", inner.put)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


_settings = get_settings()
_generator = (
    ZeroCostGenerator()
    if ZERO_COST
    else OfflineImageGenerator(delay=_settings.offline_delay_seconds)
)
_generator.generate = timed("generate", _generator.generate)  # type: ignore[method-assign]
_providers = Providers(generator=_generator, storage=_TimedStorage(build_storage(_settings)))
use_providers(_providers)
generation.start_generation = timed("status update", generation.start_generation)
generation.complete_generation = timed("complete", generation.complete_generation)
generation_job.notify = timed("notify", generation_job.notify)

_jobs = [0]
_inner_fn = actor_module.generate_image.fn


def _job(*args: Any, **kwargs: Any) -> None:
    start = time.thread_time()
    try:
        _inner_fn(*args, **kwargs)
    finally:
        _add("job", time.thread_time() - start)
        _add("jobs", 1.0)
        with _lock:
            _jobs[0] += 1
            flush = _jobs[0] % FLUSH_EVERY == 0
        if flush:
            _flush()


actor_module.generate_image.fn = _job
