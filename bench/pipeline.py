"""The pipeline's own cost: images/s through `dramatiq` worker processes (4 threads each) with
a zero-cost generator (one pre-encoded PNG, bench/zero_workers.py) and with the offline
generator, and the CPU per job by stage. `python bench/pipeline.py [runs]` runs it alone and
merges its figures (medians of the runs) into bench/results.json.

The images are queued first (several users, batches of 4, through the real enqueue), then the
workers start; the rate is (completed - 1) / (last completed_at - first completed_at), so the
workers' boot is not counted.
"""

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("status update", "generate", "store", "complete", "notify")


def _queue(images: int, users: int = 10) -> list[uuid.UUID]:
    from bench.run import gold_user
    from imagegen.db import session_scope
    from imagegen.models import User
    from tests.fixtures.images import queue_images
    from workers.generate_image import enqueue_generation

    owners = [gold_user() for _ in range(users)]
    for n in range(images // 4):
        with session_scope() as db:
            queue_images(
                db,
                db.get(User, owners[n % users]),
                prompt=f"pipeline {n}",
                count=4,
                enqueue=enqueue_generation,
            )
    return owners


def _tree_cpu(proc: psutil.Process) -> float:
    total = 0.0
    for one in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = one.cpu_times()
            total += times.user + times.system
    return total


def measure(processes: int, images: int, generator: str) -> dict:
    """Queue `images`, run `dramatiq bench.zero_workers -p processes -t 4` until done."""
    import redis
    from sqlalchemy import text

    from imagegen.db import session_scope

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    owners = _queue(images)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BENCH_GENERATOR": generator,
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dramatiq"),
            "bench.zero_workers",
            "--processes",
            str(processes),
            "--threads",
            "4",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    tree = psutil.Process(worker.pid)
    cpu_start = None
    try:
        deadline = time.monotonic() + 600
        done = 0
        while time.monotonic() < deadline:
            with session_scope() as db:
                done = db.execute(
                    text(
                        "SELECT count(*) FROM image WHERE user_id = ANY(:u) AND status = 'completed'"
                    ),
                    {"u": owners},
                ).scalar()
            if done and cpu_start is None:
                cpu_start = _tree_cpu(tree)  # boot excluded (roughly: from the first image)
            if done >= images:
                break
            time.sleep(0.05)
        cpu = _tree_cpu(tree) - (cpu_start or 0.0)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    with session_scope() as db:
        first, last, completed = db.execute(
            text(
                "SELECT extract(epoch FROM min(completed_at)), extract(epoch FROM max(completed_at)),"
                " count(*) FROM image WHERE user_id = ANY(:u) AND status = 'completed'"
            ),
            {"u": owners},
        ).one()
    span = max(float(last) - float(first), 1e-6)
    stages = {k.decode(): float(v) for k, v in client.hgetall("bench:stages").items()}
    jobs = max(stages.pop("jobs", 0.0), 1.0)
    per_job = {stage: round(stages.get(stage, 0.0) * 1000 / jobs, 3) for stage in (*STAGES, "job")}
    per_job["other in the job (queue, budget, reads)"] = round(
        per_job["job"] - sum(per_job[s] for s in STAGES), 3
    )
    return {
        "generator": generator,
        "processes": processes,
        "images": images,
        "completed": int(completed),
        "images_per_s": round((int(completed) - 1) / span, 1),
        "worker_cpu_ms_per_image": round(cpu * 1000 / max(int(completed), 1), 2),
        "thread_cpu_ms_per_job": per_job,
    }


def run(runs: int = 1, images: int = 2000) -> list[dict]:
    """Zero-cost with 1 and 2 processes, and the offline generator with 2; medians of `runs`."""
    results = []
    for generator, processes, count in (
        ("zero", 1, images),
        ("zero", 2, images),
        ("offline", 2, 600),
    ):
        each = [measure(processes, count, generator) for _ in range(runs)]
        median = sorted(each, key=lambda r: r["images_per_s"])[len(each) // 2]
        results.append(
            {
                **median,
                "runs_images_per_s": [r["images_per_s"] for r in each],
                "images_per_s": round(statistics.median(r["images_per_s"] for r in each), 1),
            }
        )
    return results


def table(results: list[dict]) -> list[tuple[str, str, str]]:
    """Rows for the benchmark table."""
    rows = []
    for r in results:
        name = "zero-cost" if r["generator"] == "zero" else "offline"
        target = "≥ 300" if r["generator"] == "zero" and r["processes"] == 2 else ""
        rows.append(
            (
                f"pipeline, {name} generator, {r['processes']} process(es) (img/s)",
                str(r["images_per_s"]),
                target,
            )
        )
        if r["generator"] == "zero":
            stages = r["thread_cpu_ms_per_job"]
            rows.append(
                (
                    f"pipeline, zero-cost, {r['processes']} proc: CPU ms/job",
                    f"{r['worker_cpu_ms_per_image']} (thread {stages['job']})",
                    "",
                )
            )
    return rows


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    bench_run.fresh_database()
    results = run(runs)
    for name, value, target in table(results):
        print(f"{name:<60}{value:>24}  {target}")
    print(json.dumps(results, indent=2))
    bench_results.merge({"pipeline": results})


if __name__ == "__main__":
    main()
