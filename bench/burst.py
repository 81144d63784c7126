"""Burst: 100 signed-in users (Reflex websocket clients, as in bench/live.py) all submit at the
same instant against the running app; submit → queued card p50/p95, and the web process tree's
CPU per submit (user + system CPU of the `reflex run` tree during the burst, divided by the
submits). With `WEB_WORKERS=1` and `WEB_WORKERS=2` (`imagegen run`), and through the deploy
topology: the README's Deploying section as `tests/deploy/test_deploy.py` runs it (static
export, two backends behind the shipped `deploy/nginx.conf`, a worker, the watchdog); the
tabs dial nginx, which spreads their sockets over both backends. `python bench/burst.py [runs]
[1,2,deploy]` runs it alone and merges its figures (medians of the runs) into
bench/results.json.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
USERS = 100


@dataclass(frozen=True)
class Site:
    """Where the tabs dial, the page origin they send, and the web backends' ports."""

    url: str
    origin: str
    ports: tuple[int, ...]


def _site(url: str) -> Site:
    """An `imagegen run` app: one backend, dialled directly."""
    return Site(url=url, origin=url, ports=(int(url.rsplit(":", 1)[1]),))


def _tree(port: int) -> list[psutil.Process]:
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "reflex" in cmdline and f"--backend-port {port}" in cmdline:
            return [proc, *proc.children(recursive=True)]
    return []


def tree_cpu(site: Site) -> float:
    """CPU seconds (user + system) used so far by the web process trees."""
    total = 0.0
    for port in site.ports:
        for proc in _tree(port):
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
    return total


async def _burst(site: Site, users: list, *, profile: bool = False) -> dict:
    from bench import live
    from imagegen.state.feed import UserFeed
    from imagegen.state.gallery import GalleryState

    feed, form = UserFeed.get_full_name(), GalleryState.get_full_name()
    tabs = await asyncio.gather(
        *(live._connect(site.url, cookie, feed, site.origin) for _, cookie in users)
    )
    await asyncio.sleep(3)
    spy = _start_profile(site) if profile else None
    cpu_before = tree_cpu(site)
    result = await live._submits(tabs, feed, form, lambda _n: 0.0, rounds=1)
    await asyncio.sleep(0.5)  # the last deltas are out; the tabs are quiet
    cpu = tree_cpu(site) - cpu_before
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)
    await asyncio.gather(*(tab.close() for tab in tabs))
    result["web_cpu_ms_per_submit"] = round(cpu * 1000 / max(result["samples"], 1), 2)
    return result


def _start_profile(site: Site) -> "subprocess.Popen[bytes] | None":
    """BENCH_PROFILE=file: py-spy records the web tree (collapsed stacks) during the burst."""
    profile = os.environ.get("BENCH_PROFILE")
    if not profile:
        return None
    spy = subprocess.Popen(
        [
            *("py-spy", "record", "-p", str(_tree(site.ports[0])[0].pid), "--subprocesses"),
            *("--nonblocking", "-r", "200", "-f", "raw", "-o", profile),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1)
    return spy


def burst(site: Site, users: int = USERS) -> dict:
    """Warm the app with 2 users, then `users` users submitting at the same instant."""
    from bench import live

    asyncio.run(_burst(site, live.signed_in_users(2)))
    return asyncio.run(_burst(site, live.signed_in_users(users), profile=True))


@contextlib.contextmanager
def _app(log_dir: Path, web_workers: int | str) -> Iterator[Site]:
    """`imagegen run` with WEB_WORKERS=web_workers, or the deploy topology ("deploy")."""
    if web_workers == "deploy":
        # The deploy test's Redis db is the bench's (it flushes it at start).
        os.environ["TEST_DEPLOY_REDIS_URL"] = os.environ["REDIS_URL"]
        from tests.deploy.test_deploy import deployment

        with (
            tempfile.TemporaryDirectory(prefix="imagegen-bench-deploy-") as tmp,
            deployment("one-origin", Path(tmp)) as deployed,
        ):
            proxy = int(deployed.app_url.rsplit(":", 1)[1])
            yield Site(
                url=f"http://127.0.0.1:{proxy}",
                origin=deployed.app_url,
                ports=tuple(deployed.backends),
            )
        return
    from tests.support.stack import running_app

    env = {
        "LIVE_UPDATES": "push",
        "OFFLINE_DELAY_SECONDS": "0.2",
        "GEN_WORKERS": "1",
        "GEN_THREADS": "8",
        "WEB_WORKERS": str(web_workers),
    }
    with running_app(env, log_dir / f"app-burst-{web_workers}.log") as url:
        yield _site(url)


def run(log_dir: Path, web_workers: int | str = 1, runs: int = 1) -> dict:
    """The app (see `_app`), then `runs` bursts; medians of the runs."""
    each = []
    with _app(log_dir, web_workers) as site:
        for _ in range(runs):
            each.append(burst(site))
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
        where = "nginx + 2 backends" if n == "deploy" else f"{n} web process(es)"
        rows.append(
            (
                f"burst, 100 at once, {where}: p50 / p95 (ms)",
                f"{result['p50_ms']} / {result['p95_ms']}",
                "p95 ≤ 250" if n == 1 else "",
            )
        )
        rows.append(
            (
                f"burst, {where}: web CPU per submit (ms)",
                str(result["web_cpu_ms_per_submit"]),
                "",
            )
        )
    return rows


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    workers: list[int | str] = [
        int(n) if n.isdigit() else n
        for n in (sys.argv[2] if len(sys.argv) > 2 else "1,2,deploy").split(",")
    ]
    bench_run.fresh_database()
    log_dir = Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-"))
    results = [run(log_dir, n, runs) for n in workers]
    for name, value, target in table(results):
        print(f"{name:<60}{value:>16}  {target}")
    print(json.dumps(results, indent=2))
    bench_results.merge({"burst": results})


if __name__ == "__main__":
    main()
