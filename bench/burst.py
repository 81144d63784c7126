"""Burst: 100 signed-in users (Reflex websocket clients, as in bench/live.py) all submit at the
same instant against the running app; submit → queued card p50/p95, and the web process tree's
CPU per submit (user + system CPU of the `reflex run` tree during the burst, divided by the
submits). With `WEB_WORKERS=1` and `WEB_WORKERS=2`. `python bench/burst.py [runs]` runs it
alone and merges its figures (medians of the runs) into bench/results.json.
"""

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
USERS = 100


def _tree(url: str) -> list[psutil.Process]:
    port = url.rsplit(":", 1)[1]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "reflex" in cmdline and f"--backend-port {port}" in cmdline:
            return [proc, *proc.children(recursive=True)]
    return []


def tree_cpu(url: str) -> float:
    """CPU seconds (user + system) used so far by the web process tree."""
    total = 0.0
    for proc in _tree(url):
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


async def _burst(url: str, users: list, *, profile: bool = False) -> dict:
    from bench import live
    from imagegen.state.feed import UserFeed
    from imagegen.state.gallery import GalleryState

    feed, form = UserFeed.get_full_name(), GalleryState.get_full_name()
    tabs = await asyncio.gather(*(live._connect(url, cookie, feed) for _, cookie in users))
    await asyncio.sleep(3)
    spy = _start_profile(url) if profile else None
    cpu_before = tree_cpu(url)
    result = await live._submits(tabs, feed, form, lambda _n: 0.0, rounds=1)
    await asyncio.sleep(0.5)  # the last deltas are out; the tabs are quiet
    cpu = tree_cpu(url) - cpu_before
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    await asyncio.gather(*(tab.close() for tab in tabs))
    result["web_cpu_ms_per_submit"] = round(cpu * 1000 / max(result["samples"], 1), 2)
    return result


def _start_profile(url: str) -> "subprocess.Popen[bytes] | None":
    """BENCH_PROFILE=file: py-spy records the web tree (collapsed stacks) during the burst."""
    profile = os.environ.get("BENCH_PROFILE")
    if not profile:
        return None
    spy = subprocess.Popen(
        [
            *("py-spy", "record", "-p", str(_tree(url)[0].pid), "--subprocesses"),
            *("--nonblocking", "-r", "200", "-f", "raw", "-o", profile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    return spy


def burst(url: str, users: int = USERS) -> dict:
    """Warm the app with 2 users, then `users` users submitting at the same instant."""
    from bench import live

    asyncio.run(_burst(url, live.signed_in_users(2)))
    return asyncio.run(_burst(url, live.signed_in_users(users), profile=True))


def run(log_dir: Path, web_workers: int = 1, runs: int = 1) -> dict:
    """`imagegen run` with WEB_WORKERS=web_workers, then `runs` bursts; medians of the runs."""
    from tests.support.stack import running_app

    env = {
        "LIVE_UPDATES": "push",
        "OFFLINE_DELAY_SECONDS": "0.2",
        "GEN_WORKERS": "1",
        "GEN_THREADS": "8",
        "WEB_WORKERS": str(web_workers),
    }
    each = []
    with running_app(env, log_dir / f"app-burst-{web_workers}.log") as url:
        for _ in range(runs):
            each.append(burst(url))
            time.sleep(3)  # the workers drain the burst
    median = {
        key: round(statistics.median(r[key] for r in each), 1)
        for key in ("p50_ms", "p95_ms", "max_ms", "web_cpu_ms_per_submit")
    }
    return {
        "web_workers": web_workers,
        "runs": each,
        **median,
        "errors": sum(r["errors"] for r in each),
    }


def table(results: list[dict]) -> list[tuple[str, str, str]]:
    """Rows for the benchmark table."""
    rows = []
    for result in results:
        n = result["web_workers"]
        rows.append(
            (
                f"burst, 100 at once, {n} web process(es): p50 / p95 (ms)",
                f"{result['p50_ms']} / {result['p95_ms']}",
                "p95 ≤ 250" if n == 1 else "",
            )
        )
        rows.append(
            (
                f"burst, {n} web process(es): web CPU per submit (ms)",
                str(result["web_cpu_ms_per_submit"]),
                "",
            )
        )
    return rows


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    workers = [int(n) for n in sys.argv[2].split(",")] if len(sys.argv) > 2 else [1, 2]
    bench_run.fresh_database()
    log_dir = Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-"))
    results = [run(log_dir, n, runs) for n in workers]
    for name, value, target in table(results):
        print(f"{name:<60}{value:>16}  {target}")
    print(json.dumps(results, indent=2))
    path = ROOT / "bench" / "results.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged["burst"] = results
    path.write_text(json.dumps(merged, indent=2))
    print("\nmerged into bench/results.json")


if __name__ == "__main__":
    main()
