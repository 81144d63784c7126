"""imagegen benchmarks: `make bench` prints a table and writes bench/results.json.

Real PostgreSQL and Redis (a throwaway database and Redis db 12), real Dramatiq worker
processes, the offline generator and local storage; the browser benchmark drives the real
production build with Playwright. See bench/README.md for what each number means.
"""

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DB = os.environ.get("BENCH_DB", "imagegen_bench")
ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
os.environ.update(
    APP_ENV="testing",
    DATABASE_URL=ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    SECRET_KEY=secrets.token_urlsafe(48),
    CREDITS_GOLD_USER="1000000",
    IN_PROGRESS_GOLD_USER="1000000",  # the benchmarks queue thousands at once
    OFFLINE_DELAY_SECONDS="0",
    DATA_DIR=tempfile.mkdtemp(prefix="imagegen-bench-"),
)
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
import redis  # noqa: E402
from sqlalchemy import text, update  # noqa: E402

from bench import results as bench_results  # noqa: E402
from imagegen.cards import card  # noqa: E402
from imagegen.db import session_scope  # noqa: E402
from imagegen.models import Image, User  # noqa: E402
from imagegen.services import auth, generation  # noqa: E402
from tests.fixtures.images import queue_images  # noqa: E402


def fresh_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    from alembic.config import Config

    from alembic import command

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def machine() -> str:
    """Cores, CPU model and memory of this machine, for the README's table."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    kib = int(Path("/proc/meminfo").read_text().split()[1])
    return f"{os.cpu_count()} cores ({model}), {kib / 2**20:.0f} GiB"


def gold_user() -> uuid.UUID:
    with session_scope() as db:
        user = auth.register_user(
            session=db,
            name="Bench",
            email=f"bench-{uuid.uuid4().hex[:8]}@example.com",
            password="bench-password",
        )
        user.plan = "gold_user"
        return user.id


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _p50_p95(result: dict) -> str:
    return f"{result['p50_ms']} / {result['p95_ms']}"


def timed(fn, repeat: int = 30) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def bench_big_gallery() -> dict:
    """A user with 10,000 images: first page, load more, search, bytes of state per client."""
    user_id = gold_user()
    words = ["lighthouse", "fox", "mountain", "city", "forest", "ocean", "robot", "castle"]
    start = time.perf_counter()
    for batch in range(2500):
        with session_scope() as db:
            prompt = f"A {words[batch % 8]} at dawn, study {batch}"
            queue_images(db, db.get(User, user_id), prompt=prompt, count=4)
    seed_seconds = time.perf_counter() - start
    with session_scope() as db:
        db.execute(
            update(Image)
            .where(Image.user_id == user_id)
            .values(status="completed", image_url="/api/images/file/x.png")
        )

    def first_page() -> list:
        with session_scope() as db:
            return [card(i) for i in generation.list_images(session=db, user_id=user_id)]

    cards = first_page()
    with session_scope() as db:
        middle = generation.list_images(session=db, user_id=user_id, limit=5000)[-1]
    cursor = (middle.created_at, middle.id)

    def load_more() -> None:
        with session_scope() as db:
            [card(i) for i in generation.list_images(session=db, user_id=user_id, before=cursor)]

    def search() -> None:
        with session_scope() as db:
            [
                card(i)
                for i in generation.list_images(
                    session=db, user_id=user_id, search="lighthouse dawn", limit=48
                )
            ]

    first, more, found = timed(first_page), timed(load_more), timed(search)
    state_bytes = len(json.dumps(cards).encode())
    return {
        "seed_10000_images_s": round(seed_seconds, 1),
        "first_page_ms_p50": round(statistics.median(first), 2),
        "first_page_ms_p95": round(pct(first, 0.95), 2),
        "load_more_ms_p50": round(statistics.median(more), 2),
        "search_ms_p50": round(statistics.median(found), 2),
        "search_ms_p95": round(pct(found, 0.95), 2),
        "first_page_state_bytes": state_bytes,
    }


def bench_throughput(processes: int, images: int = 300) -> dict:
    """Images per second through debit → queue → worker → storage → update → notify."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dramatiq"),
            "workers",
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
    try:
        time.sleep(4)  # workers booted
        from workers.generate_image import enqueue_generation

        user_id = gold_user()
        start = time.perf_counter()
        for _ in range(images // 4):
            with session_scope() as db:
                queue_images(
                    db,
                    db.get(User, user_id),
                    prompt=f"throughput {uuid.uuid4().hex}",
                    count=4,
                    enqueue=enqueue_generation,
                )
        deadline = time.monotonic() + 600
        done = 0
        while time.monotonic() < deadline:
            with session_scope() as db:
                done = db.execute(
                    text("SELECT count(*) FROM image WHERE user_id = :u AND status = 'completed'"),
                    {"u": user_id},
                ).scalar()
            if done >= images:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    return {
        "processes": processes,
        "images": images,
        "completed": done,
        "seconds": round(elapsed, 2),
        "images_per_s": round(done / elapsed, 1),
    }


def bench_fairness(threads: int = 4, *, fifo: bool = False, delay: float = 0.5) -> dict:
    """User A submits 40 images, then user B submits 1, while `dramatiq workers -p 1 -t N`
    runs; each image's wait is submit → completed. `fifo` sends one message per image id in
    submission order, as before the fair queue.
    """
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "OFFLINE_DELAY_SECONDS": str(delay),  # a provider call takes time; order matters
    }
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "dramatiq"), "workers", "-p", "1", "-t", str(threads)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(4)  # workers booted
        from workers.generate_image import enqueue_fifo, enqueue_generation

        enqueue = enqueue_fifo if fifo else enqueue_generation
        a, b = gold_user(), gold_user()
        a_ids: list[uuid.UUID] = []

        def submit(user_id: uuid.UUID, count: int) -> list[uuid.UUID]:
            with session_scope() as db:
                images = queue_images(
                    db,
                    db.get(User, user_id),
                    prompt=f"fairness {uuid.uuid4().hex}",
                    count=count,
                    enqueue=enqueue,
                )
                return [i.id for i in images]

        for _ in range(10):
            a_ids += submit(a, 4)
        (b_id,) = submit(b, 1)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with session_scope() as db:
                rows = db.execute(
                    text(
                        "SELECT id, extract(epoch FROM completed_at - created_at),"
                        " extract(epoch FROM created_at), extract(epoch FROM completed_at)"
                        " FROM image WHERE user_id IN (:a, :b) AND status = 'completed'"
                        " ORDER BY completed_at"
                    ),
                    {"a": a, "b": b},
                ).all()
            if len(rows) >= 41:
                break
            time.sleep(0.1)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    waits = {row[0]: float(row[1]) for row in rows}
    a_waits = [waits[i] for i in a_ids if i in waits]
    order = [row[0] for row in rows]
    b_row = next((row for row in rows if row[0] == b_id), None)
    # A's images finished between B's submit and B's finish: those already running when B
    # arrived, plus those taken before B (FIFO: all of A's queue).
    a_during_b = (
        sum(1 for row in rows if row[0] != b_id and b_row[2] < row[3] < b_row[3]) if b_row else None
    )
    return {
        "mode": "fifo" if fifo else "fair",
        "threads": threads,
        "provider_delay_s": delay,
        "b_wait_s": round(waits.get(b_id, float("nan")), 2),
        "a_median_wait_s": round(statistics.median(a_waits), 2),
        "a_max_wait_s": round(max(a_waits), 2),
        "b_finished_as": order.index(b_id) + 1 if b_id in order else None,
        "a_finished_while_b_waited": a_during_b,
        "completed": len(rows),
    }


def fairness_rows(runs: list[dict]) -> list[tuple[str, str, str]]:
    rows = []
    for run in runs:
        rows.append(
            (
                f"fairness ({run['mode']}, {run['threads']} threads): B / A median wait (s)",
                f"{run['b_wait_s']} / {run['a_median_wait_s']}",
                "B ≤ one round" if run["mode"] == "fair" else "",
            )
        )
        rows.append(
            (f"fairness ({run['mode']}): B finished as n-th of 41", run["b_finished_as"], "")
        )
        rows.append(
            (
                f"fairness ({run['mode']}): A's images done while B waited",
                run["a_finished_while_b_waited"],
                f"≤ {run['threads']} + 1" if run["mode"] == "fair" else "",
            )
        )
    return rows


def run_fairness() -> list[dict]:
    runs = []
    for fifo in (False, True):
        print(f"fairness, 40 images of A then 1 of B ({'FIFO' if fifo else 'fair'}) …", flush=True)
        runs.append(bench_fairness(fifo=fifo))
    return runs


def main() -> None:
    if sys.argv[1:] == ["fairness"]:  # only this one: `python bench/run.py fairness`
        fresh_database()
        runs = run_fairness()
        for name, value, target in fairness_rows(runs):
            print(f"{name:<60}{value!s:>14}  {target}")
        bench_results.merge({"fairness": runs})
        return
    fresh_database()
    results: dict = {
        "machine": machine(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    load_at_start = os.getloadavg()[0]
    print("big gallery (10,000 images) …", flush=True)
    results["big_gallery"] = bench_big_gallery()
    results["throughput"] = []
    for processes in (1, 2):
        print(f"pipeline throughput, {processes} worker process(es) …", flush=True)
        results["throughput"].append(bench_throughput(processes))
    one, two = results["throughput"]
    results["fairness"] = run_fairness()
    results["throughput_scaling"] = round(two["images_per_s"] / max(one["images_per_s"], 0.001), 2)

    from bench import keystrokes, live

    log_dir = Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-"))
    print("the app with live push: job done → visible, 100 users …", flush=True)
    with live.app("push", log_dir) as url:
        push = live.job_done_to_visible(url)  # first: a quiet queue, as a user would see it
        results.update(live.many_users(url))
        results["typing"] = keystrokes.run(url)
    print("the app in 2-second polling mode: job done → visible …", flush=True)
    with live.app("poll", log_dir) as url:
        poll = live.job_done_to_visible(url)
    results["done_to_visible"] = {
        "push": push,
        "poll": poll,
        "p95_ratio": round(poll["p95_ms"] / max(push["p95_ms"], 0.001), 1),
    }
    from bench import signin_storm

    print("the app under 200 sign-ins at once with random emails …", flush=True)
    results["signin_storm"] = signin_storm.run_app_and_storm(log_dir)
    from bench import burst, pipeline

    print(
        "100 users submitting at the same instant, 1 and 2 web processes, nginx + 2 backends …",
        flush=True,
    )
    results["burst"] = [burst.run(log_dir, web_workers) for web_workers in (1, 2, "deploy")]
    print("pipeline overhead: zero-cost and offline generators …", flush=True)
    results["pipeline"] = pipeline.run()
    from bench import push, transport

    results.update(push.run(log_dir, os.environ["REDIS_URL"]))
    print("a bare websocket connection, granian and uvicorn …", flush=True)
    results["transport"] = transport.run()
    # A busy machine (other jobs on its 2 cores) moves the latency figures: say how busy.
    results["load_average"] = f"{load_at_start:.1f} / {os.getloadavg()[0]:.1f}"

    visible = results["done_to_visible"]
    missed = f"{visible['push']['missing']}, {visible['poll']['missing']}"
    # Written before the table is printed, so a table bug never loses a run's figures.
    bench_results.save(results)
    spread, at_once = results["submit_to_queued_spread"], results["submit_to_queued_burst"]
    print()
    print(f"{'benchmark':<46}{'result':>16}  target")
    rows = [
        (
            "big gallery: first page p50 / p95 (ms)",
            f"{results['big_gallery']['first_page_ms_p50']} / {results['big_gallery']['first_page_ms_p95']}",
            "≤ 300 ms",
        ),
        ("big gallery: load more p50 (ms)", results["big_gallery"]["load_more_ms_p50"], ""),
        (
            "big gallery: search p50 / p95 (ms)",
            f"{results['big_gallery']['search_ms_p50']} / {results['big_gallery']['search_ms_p95']}",
            "",
        ),
        (
            "big gallery: first-page state (bytes)",
            results["big_gallery"]["first_page_state_bytes"],
            "≤ 100 KB",
        ),
        ("throughput, 1 worker process (img/s)", one["images_per_s"], ""),
        ("throughput, 2 worker processes (img/s)", two["images_per_s"], "≥ 50"),
        ("throughput scaling 1 → 2", results["throughput_scaling"], ""),
        ("done → visible, push: p50 / p95 (ms)", _p50_p95(visible["push"]), "p95 ≤ 150"),
        ("done → visible, 2 s polling: p50 / p95 (ms)", _p50_p95(visible["poll"]), ""),
        ("done → visible: polling p95 / push p95", visible["p95_ratio"], "≥ 10×"),
        ("tabs that missed an update (push, poll)", missed, "0"),
        ("submit → queued, 100 users 1-4 s apart (ms)", _p50_p95(spread), "p95 ≤ 250"),
        ("submit → queued, 100 users at once (ms)", _p50_p95(at_once), ""),
        ("submit errors (spread + at once)", spread["errors"] + at_once["errors"], "0"),
        ("backend memory per connected tab (KB)", results["memory"]["kb_per_tab"], "≤ 200"),
        (
            "  a bare socket.io connection, no state (KB)",
            results["memory"].get("kb_per_bare_connection"),
            "",
        ),
        (
            "  a bare websocket, echo app: granian / uvicorn (KB)",
            "{granian_kb_per_connection} / {uvicorn_kb_per_connection}".format(
                **results["transport"]
            ),
            "",
        ),
        *((name, value, "") for name, value in signin_storm.table(results["signin_storm"])),
        *push.table(results),
        *fairness_rows(results["fairness"]),
        *burst.table(results["burst"]),
        *pipeline.table(results["pipeline"]),
        *keystrokes.table(results["typing"]),
    ]
    for name, value, target in rows:
        print(f"{name:<46}{value!s:>16}  {target}")
    print("\nwritten to bench/results.json")
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
