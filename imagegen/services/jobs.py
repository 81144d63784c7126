"""The jobs port: how the web process hands work to the workers, without importing them.

`Jobs` is what services call after their transaction commits; `DramatiqJobs` sends the
messages through `workers/` (imported on first use, so importing the web app builds no broker);
tests and benchmarks set a recording implementation with `use_jobs`.
"""

import uuid
from typing import Protocol


class Jobs(Protocol):
    """Background work the web process asks for."""

    def enqueue_generation(self, *, user_id: uuid.UUID, plan: str, image_ids: list[str]) -> None:
        """Put the user's new images in their line and wake a worker for each."""
        ...


class DramatiqJobs:
    """Messages on the Redis broker of `workers/` (the broker is built on the first send)."""

    def enqueue_generation(self, *, user_id: uuid.UUID, plan: str, image_ids: list[str]) -> None:
        """Fair-queue push and one ticket per image (see `workers.generate_image`)."""
        from workers.generate_image import enqueue_generation

        enqueue_generation(image_ids, owner=(user_id, plan))


class RecordedJobs:
    """Keeps what was asked for (tests, benchmarks that run no workers)."""

    def __init__(self) -> None:
        self.generations: list[tuple[uuid.UUID, list[str]]] = []

    def enqueue_generation(self, *, user_id: uuid.UUID, plan: str, image_ids: list[str]) -> None:
        """Record the user's images."""
        del plan
        self.generations.append((user_id, list(image_ids)))


_jobs: list[Jobs] = []


def use_jobs(jobs: Jobs | None) -> None:
    """Wire the process's jobs implementation (None: back to Dramatiq)."""
    _jobs.clear()
    if jobs is not None:
        _jobs.append(jobs)


def get_jobs() -> Jobs:
    """The process's jobs implementation: Dramatiq unless another was wired."""
    if not _jobs:
        _jobs.append(DramatiqJobs())
    return _jobs[0]
