"""Sign-in storm: 200 sign-ins with random emails fired at once at `/api/auth/login` of the
running app (`imagegen run`), while `/api/health` is polled and the web process tree's RSS is
sampled. Run alone (`python bench/signin_storm.py [--per-ip N]`, merges its figures into
bench/results.json) or from `make bench`.
"""

import asyncio
import contextlib
import json
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
SIGN_INS = 200


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def web_tree(url: str) -> list[psutil.Process]:
    """The `reflex run` process serving this port and all its children (the web workers)."""
    port = url.rsplit(":", 1)[1]
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "reflex" in cmdline and f"--backend-port {port}" in cmdline:
            return [proc, *proc.children(recursive=True)]
    return []


def tree_rss(url: str) -> int:
    """Resident memory of the web process tree, in bytes."""
    total = 0
    for proc in web_tree(url):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


class RssSampler(threading.Thread):
    """Samples the web tree's RSS every 50 ms and keeps the peak."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.peak, self.stop = url, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, tree_rss(self.url))
            time.sleep(0.05)


async def _health_poll(client: httpx.AsyncClient, done: asyncio.Event) -> list[float]:
    latencies = []
    while not done.is_set():
        start = time.perf_counter()
        with contextlib.suppress(httpx.HTTPError):
            await client.get("/api/health", timeout=30)
        latencies.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.05)
    return latencies


async def _storm(url: str) -> dict:
    limits = httpx.Limits(max_connections=SIGN_INS + 10, max_keepalive_connections=SIGN_INS)
    async with (
        httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client,
        httpx.AsyncClient(base_url=url, timeout=30) as prober,
    ):
        idle_done = asyncio.Event()
        idle = asyncio.create_task(_health_poll(prober, idle_done))
        await asyncio.sleep(3)
        idle_done.set()
        idle_latencies = await idle

        async def sign_in() -> tuple[float, int, str]:
            start = time.perf_counter()
            response = await client.post(
                "/api/auth/login",
                data={
                    "email": f"storm-{secrets.token_hex(6)}@example.com",
                    "password": secrets.token_urlsafe(12),
                },
            )
            return (time.perf_counter() - start) * 1000, response.status_code, response.text

        done = asyncio.Event()
        poller = asyncio.create_task(_health_poll(prober, done))
        started = time.perf_counter()
        answers = await asyncio.gather(*(sign_in() for _ in range(SIGN_INS)))
        elapsed = time.perf_counter() - started
        done.set()
        health = await poller
    login_ms = [ms for ms, _status, _text in answers]
    statuses: dict[str, int] = {}
    for _ms, status, _text in answers:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "sign_ins": SIGN_INS,
        "seconds": round(elapsed, 2),
        "statuses": statuses,
        "login_p50_ms": round(_pct(login_ms, 0.5), 1),
        "login_p95_ms": round(_pct(login_ms, 0.95), 1),
        "health_idle_p95_ms": round(_pct(idle_latencies, 0.95), 1),
        "health_samples": len(health),
        "health_p50_ms": round(_pct(health, 0.5), 1),
        "health_p95_ms": round(_pct(health, 0.95), 1),
        "health_max_ms": round(max(health, default=0), 1),
    }


def storm(url: str) -> dict:
    """200 sign-ins at once against a running app; its RSS before and at the peak."""
    rss_before = tree_rss(url)
    sampler = RssSampler(url)
    sampler.start()
    try:
        result = asyncio.run(_storm(url))
    finally:
        sampler.stop.set()
        sampler.join()
    result["rss_before_mb"] = round(rss_before / 2**20, 1)
    result["rss_peak_mb"] = round(sampler.peak / 2**20, 1)
    return result


def run_app_and_storm(log_dir: Path, per_ip: int = 30) -> dict:
    """`imagegen run` on the bench database with LOGIN_PER_IP_PER_MINUTE=per_ip, then the storm."""
    from tests.support.stack import running_app

    env = {"GEN_WORKERS": "0", "LOGIN_PER_IP_PER_MINUTE": str(per_ip)}
    with running_app(env, log_dir / f"app-signin-storm-{per_ip}.log") as url:
        for _ in range(3):  # warm the process (imports, pools), not part of the storm
            httpx.get(f"{url}/api/health", timeout=30)
        result = storm(url)
    result["login_per_ip_per_minute"] = per_ip
    return result


def table(result: dict) -> list[tuple[str, str]]:
    """Rows for the benchmark table."""
    return [
        (
            "sign-in storm: web RSS before → peak (MB)",
            f"{result['rss_before_mb']} → {result['rss_peak_mb']}",
        ),
        (
            "sign-in storm: /api/health p95 idle → storm (ms)",
            f"{result['health_idle_p95_ms']} → {result['health_p95_ms']}",
        ),
        ("sign-in storm: 200 sign-ins took (s)", str(result["seconds"])),
    ]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    per_ip = int(sys.argv[sys.argv.index("--per-ip") + 1]) if "--per-ip" in sys.argv else 30
    bench_run.fresh_database()
    result = run_app_and_storm(Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-")), per_ip)
    for name, value in table(result):
        print(f"{name:<52}{value:>20}")
    print(json.dumps(result, indent=2))
    bench_results.merge({"signin_storm": result})


if __name__ == "__main__":
    main()
