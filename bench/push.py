"""Push to the limit, idle cost and first paint (issue 18 targets 3, 4 and 7), against the
running app (`imagegen run`: production build, Dramatiq worker, watchdog).

- `stages`: one user, 3 Chromium tabs on the gallery, 20 single-image jobs 0.6 s apart, three
  runs. For each job and tab: the worker's commit (`image.completed_at`) → the card showing
  `completed` in the tab, split into stages by the relay's trace (`RELAY_TRACE=1`, see
  `imagegen/relay.py`) and a MutationObserver in each page.
- `idle`: server CPU (the `reflex run` process tree) per idle connected tab per minute, with
  live push and with the gallery polling every 2 s and every 0.15 s (`LIVE_UPDATES=poll`).
- `first_paint`: a signed-in home page opened in Chromium, on this machine and with the slow
  phone profile (4x CPU throttling, 150 ms latency): first contentful paint, the shell on
  screen, the prompt box usable (on screen, enabled and hydrated: React handles its events),
  and the gallery filled.

`python bench/push.py` runs these alone and merges them into bench/results.json.
"""

import json
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
# The relay's trace list (imagegen.relay.TRACE_KEY; not imported before the bench environment).
TRACE_KEY = "imagegen:relay-trace"

# Stamps, in the page (ms since navigation start), when the shell, the usable prompt box and
# the filled gallery first show.
FIRST_PAINT = """
window.__paint = {};
const stamp = (name) => { if (!(name in window.__paint)) window.__paint[name] = performance.now(); };
const look = () => {
  if (document.querySelector('nav, header')) stamp('shell');
  const box = document.querySelector('textarea');
  if (box && !box.disabled && box.offsetParent !== null
      && Object.keys(box).some((k) => k.startsWith('__reactProps'))) stamp('usable');
  if (document.querySelector('[data-testid=image-card]')
      || [...document.querySelectorAll('p, span')].some((el) => el.textContent === 'No images yet'))
    stamp('gallery');
  if (!('usable' in window.__paint && 'gallery' in window.__paint)) requestAnimationFrame(look);
};
new MutationObserver(look).observe(document, {subtree: true, childList: true, attributes: true});
requestAnimationFrame(look);
"""

STAGES = (
    ("commit → notify", "committed", "at"),
    ("notify → relay pop", "at", "popped"),
    ("relay pop → row read", "popped", "read"),
    ("row read → state updated", "read", "state"),
    ("state updated → delta sent", "state", "sent"),
    ("delta sent → DOM", "sent", "dom"),
)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _p(values: list[float]) -> dict[str, float]:
    if not values:
        return {"samples": 0}
    return {
        "samples": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p95_ms": round(pct(values, 0.95), 2),
    }


@contextmanager
def app(log_dir: Path, **env: str) -> Iterator[str]:
    """The whole app as `make run` starts it, on the bench database and Redis db."""
    from tests.support.stack import running_app

    settings = {
        "OFFLINE_DELAY_SECONDS": "0.2",
        "GEN_WORKERS": "1",
        "GEN_THREADS": "8",
        "RELAY_TRACE": "1",
        **env,
    }
    name = "-".join(f"{k}={v}" for k, v in env.items()) or "push"
    with running_app(settings, log_dir / f"app-{name}.log") as url:
        yield url


def backend_processes(url: str) -> list[psutil.Process]:
    """The web backend: the `reflex run` process serving this port and its children."""
    port = url.rsplit(":", 1)[1]
    found: dict[int, psutil.Process] = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "reflex" in cmdline and f"--backend-port {port}" in cmdline:
            found[proc.pid] = proc
            for child in proc.children(recursive=True):
                found[child.pid] = child
    return list(found.values())


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _browser(playwright):
    from tests.support.stack import CHROMIUM, CHROMIUM_ARGS

    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def _signed_in_context(browser, url: str, cookie: str):
    name, value = cookie.split("=", 1)
    context = browser.new_context(base_url=url)
    context.add_cookies([{"name": name, "value": value, "url": url, "httpOnly": True}])
    return context


def _open_gallery(page: Page) -> None:
    page.goto("/")
    page.get_by_role("heading", name="Your images").wait_for()
    page.get_by_text("No images yet").first.wait_for()


# -- target 3: push to the limit, by stage ------------------------------------


def _one_run(url: str, redis_url: str, tabs: int, jobs: int) -> dict:
    from bench.live import OBSERVER, _completed_at_ms, _submit_one, signed_in_users

    client = redis.Redis.from_url(redis_url)
    client.delete(TRACE_KEY)
    [(user_id, cookie)] = signed_in_users(1)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        context = _signed_in_context(browser, url, cookie)
        context.add_init_script(OBSERVER)
        pages = [context.new_page() for _ in range(tabs)]
        for page in pages:
            _open_gallery(page)
        ids = []
        for n in range(jobs):
            ids.append(_submit_one(user_id, f"push stages {n} {uuid.uuid4().hex[:6]}"))
            time.sleep(0.6)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = [page.evaluate("window.__completedAt") for page in pages]
            if all(len(s) >= jobs for s in seen):
                break
            time.sleep(0.25)
        browser.close()
    committed = _completed_at_ms(ids)
    # The relay's last trace of each image is its `completed` event.
    traced: dict[str, dict] = {}
    for raw in client.lrange(TRACE_KEY, 0, -1):
        entry = json.loads(raw)
        if entry.get("image_id") in committed and entry.get("sent_at"):
            traced[entry["image_id"]] = entry
    totals: list[float] = []
    stages: dict[str, list[float]] = {name: [] for name, _a, _b in STAGES}
    for tab_seen in seen:
        for image_id, commit_ms in committed.items():
            if image_id not in tab_seen:
                continue
            totals.append(tab_seen[image_id] - commit_ms)
            entry = traced.get(image_id)
            if entry is None:
                continue
            at = {
                "committed": commit_ms,
                "at": float(entry["sent_at"]) * 1000,
                "popped": entry["popped"] * 1000,
                "read": entry["read"] * 1000,
                "state": entry["state"] * 1000,
                "sent": entry["sent"] * 1000,
                "dom": tab_seen[image_id],
            }
            for name, start, end in STAGES:
                stages[name].append(at[end] - at[start])
    result = _p(totals)
    result["missing"] = tabs * jobs - len(totals)
    result["stages"] = {name: _p(values) for name, values in stages.items()}
    return result


def stages(url: str, redis_url: str, *, runs: int = 3, tabs: int = 3, jobs: int = 20) -> dict:
    """Job done → visible in each of `tabs` tabs, `runs` runs: medians of the runs' p50/p95."""
    done = [_one_run(url, redis_url, tabs, jobs) for _ in range(runs)]
    return {
        "tabs": tabs,
        "jobs": jobs,
        "runs": done,
        "p50_ms": round(statistics.median(r["p50_ms"] for r in done), 1),
        "p95_ms": round(statistics.median(r["p95_ms"] for r in done), 1),
        "missing": sum(r["missing"] for r in done),
        "stages": {
            name: {
                "p50_ms": round(statistics.median(r["stages"][name]["p50_ms"] for r in done), 2),
                "p95_ms": round(statistics.median(r["stages"][name]["p95_ms"] for r in done), 2),
            }
            for name, _a, _b in STAGES
            if all(r["stages"][name]["samples"] for r in done)
        },
    }


# -- target 4: idle cost -------------------------------------------------------


def idle_cost(url: str, *, tabs: int = 5, seconds: float = 60) -> dict:
    """Server CPU per idle connected tab per minute: the backend's CPU over `seconds` with
    `tabs` idle tabs on the gallery, minus its CPU with no tab over the same time.
    """
    from bench.live import signed_in_users

    processes = backend_processes(url)
    time.sleep(3)
    start = cpu_seconds(processes)
    time.sleep(seconds)
    baseline = cpu_seconds(processes) - start
    [(_user_id, cookie)] = signed_in_users(1)
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        context = _signed_in_context(browser, url, cookie)
        pages = [context.new_page() for _ in range(tabs)]
        for page in pages:
            _open_gallery(page)
        time.sleep(5)  # hydrated, on_load done
        processes = backend_processes(url)
        start = cpu_seconds(processes)
        time.sleep(seconds)
        busy = cpu_seconds(processes) - start
        browser.close()
    per_tab = max(busy - baseline, 0.0) / tabs * (60 / seconds)
    return {
        "tabs": tabs,
        "seconds": seconds,
        "cpu_s_no_tabs": round(baseline, 3),
        "cpu_s_with_tabs": round(busy, 3),
        "cpu_ms_per_tab_per_min": round(per_tab * 1000, 1),
    }


# -- target 7: first paint -----------------------------------------------------


def _slow_phone(page: Page) -> None:
    """4x CPU throttling and 150 ms of latency (as tests/e2e/test_typing_while_loading.py)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 150, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})


def first_paint(url: str, *, loads: int = 7) -> dict:
    """The signed-in home page, loaded `loads` times per profile (after one warming load, as
    a returning user with the app's files cached): medians of each moment, in ms.
    """
    from bench.live import signed_in_users

    [(_user_id, cookie)] = signed_in_users(1)
    result = {}
    with sync_playwright() as playwright:
        browser = _browser(playwright)
        for profile in ("this machine", "slow phone"):
            context = _signed_in_context(browser, url, cookie)
            context.add_init_script(FIRST_PAINT)
            page = context.new_page()
            if profile == "slow phone":
                _slow_phone(page)
            _open_gallery(page)  # warm the cache
            moments: dict[str, list[float]] = {"fcp": [], "shell": [], "usable": [], "gallery": []}
            for _ in range(loads):
                page.goto("/", wait_until="commit")
                page.wait_for_function(
                    "window.__paint && 'usable' in window.__paint && 'gallery' in window.__paint",
                    timeout=30_000,
                )
                stamps = page.evaluate("window.__paint")
                fcp = page.evaluate(
                    "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
                )
                moments["fcp"].append(fcp)
                for name in ("shell", "usable", "gallery"):
                    moments[name].append(stamps[name])
            result[profile] = {
                f"{name}_ms": round(statistics.median(values), 1)
                for name, values in moments.items()
            }
            context.close()
        browser.close()
    return result


def run(log_dir: Path, redis_url: str) -> dict:
    """All three, side by side in one run: push (stages, idle, first paint), then the two
    polling modes (idle)."""
    out: dict = {}
    print("push: job done → visible in 3 tabs, by stage (3 runs) …", flush=True)
    with app(log_dir) as url:
        out["push_stages"] = stages(url, redis_url)
        print("first paint of the home page …", flush=True)
        out["first_paint"] = first_paint(url)
        print("idle cost with live push …", flush=True)
        idle = {"push": idle_cost(url)}
    for label, interval in (("poll 2 s", "2"), ("poll 0.15 s", "0.15")):
        print(f"idle cost with {label} …", flush=True)
        with app(log_dir, LIVE_UPDATES="poll", POLL_INTERVAL_SECONDS=interval) as url:
            idle[label] = idle_cost(url)
    push_cost = max(idle["push"]["cpu_ms_per_tab_per_min"], 0.1)
    idle["fast_poll_over_push"] = round(
        idle["poll 0.15 s"]["cpu_ms_per_tab_per_min"] / push_cost, 1
    )
    out["idle_cost"] = idle
    return out


def table(results: dict) -> list[tuple[str, str, str]]:
    """Rows for the benchmark table printed by bench/run.py."""
    stages_, idle, paint = results["push_stages"], results["idle_cost"], results["first_paint"]
    return [
        (
            "push, 3 tabs: p50 / p95 (ms, median of 3)",
            f"{stages_['p50_ms']} / {stages_['p95_ms']}",
            "≤ 15 / ≤ 50",
        ),
        *(
            (f"  {name} (ms)", f"{v['p50_ms']} / {v['p95_ms']}", "")
            for name, v in stages_["stages"].items()
        ),
        *(
            (f"idle CPU per tab per min, {label} (ms)", v["cpu_ms_per_tab_per_min"], "")
            for label, v in idle.items()
            if isinstance(v, dict)
        ),
        ("idle: 0.15 s polling / push", idle["fast_poll_over_push"], "≥ 20×"),
        ("home usable, this machine (ms)", paint["this machine"]["usable_ms"], "≤ 250"),
        ("home usable, 4x CPU + 150 ms (ms)", paint["slow phone"]["usable_ms"], "≤ 800"),
    ]


def main() -> None:
    import os
    import tempfile

    sys.path.insert(0, str(ROOT))
    from bench import results as bench_results
    from bench import run as bench_run  # sets the bench environment (database, Redis db)

    bench_run.fresh_database()
    load_at_start = os.getloadavg()[0]
    log_dir = Path(tempfile.mkdtemp(prefix="imagegen-bench-logs-"))
    figures = run(log_dir, os.environ["REDIS_URL"])
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    earlier = bench_results.load()
    print(json.dumps(figures, indent=2))
    bench_results.merge(
        {
            **figures,
            "push_when": when,
            "when": earlier.get("when", when),
            "machine": earlier.get("machine", bench_run.machine()),
            "load_average": f"{load_at_start:.1f} / {os.getloadavg()[0]:.1f}",
        }
    )


if __name__ == "__main__":
    main()
