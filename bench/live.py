"""Benchmarks against the running app (`imagegen run`: production build, Dramatiq workers,
watchdog): job done → visible (push vs polling), submit → queued with 100 simulated users,
backend memory per connected tab. Called by bench/run.py after it prepared the database.
"""

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import socketio
from playwright.sync_api import sync_playwright
from sqlalchemy import text

from imagegen import routes
from imagegen.db import session_scope
from imagegen.models import User
from imagegen.services import auth
from tests.fixtures.images import queue_images
from tests.support.reflex_client import ReflexTab
from tests.support.stack import CHROMIUM, CHROMIUM_ARGS, running_app

# Records, in the page, when each image card first shows as completed (epoch ms).
OBSERVER = """
window.__completedAt = {};
const seen = () => {
  for (const el of document.querySelectorAll('[data-testid=image-card][data-status=completed]')) {
    const id = el.dataset.imageId;
    if (id && !(id in window.__completedAt)) window.__completedAt[id] = performance.timeOrigin + performance.now();
  }
};
new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true,
  attributeFilter: ['data-status']});
"""


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    """p50/p95/max in ms and the sample count."""
    return {
        "samples": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(pct(values, 0.95), 1),
        "max_ms": round(max(values), 1),
    }


def signed_in_users(count: int) -> list[tuple[uuid.UUID, str]]:
    """Gold users with a session each: (user id, Cookie header)."""
    made = []
    with session_scope() as db:
        for _ in range(count):
            user = auth.register_user(
                session=db,
                name="Bench",
                email=f"tab-{uuid.uuid4().hex[:10]}@example.com",
                password="bench-password",
            )
            user.plan = "gold_user"
            token, _row = auth.create_session(
                session=db, user=user, ip_address="127.0.0.1", user_agent="bench"
            )
            made.append((user.id, f"{routes.SESSION_COOKIE}={token}"))
    return made


@contextmanager
def app(live_updates: str, log_dir: Path) -> Iterator[str]:
    """The whole app as `make run` starts it, on the bench database and Redis db."""
    env = {
        "LIVE_UPDATES": live_updates,
        "OFFLINE_DELAY_SECONDS": os.environ.get("BENCH_PROVIDER_DELAY", "0.2"),
        "GEN_WORKERS": "1",
        "GEN_THREADS": "8",
    }
    with running_app(env, log_dir / f"app-{live_updates}.log") as url:
        yield url


def backend_rss(url: str) -> int:
    """Resident memory of the web backend (the `reflex run` process tree serving this port)."""
    port = url.rsplit(":", 1)[1]
    total = 0
    for proc in psutil.process_iter(["cmdline", "memory_info"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "reflex" in cmdline and f"--backend-port {port}" in cmdline:
            total += proc.info["memory_info"].rss
    return total


def _submit_one(user_id: uuid.UUID, prompt: str) -> uuid.UUID:
    from workers.generate_image import enqueue_generation

    with session_scope() as db:
        (image,) = queue_images(
            db, db.get(User, user_id), prompt=prompt, enqueue=enqueue_generation
        )
        return image.id


def _completed_at_ms(image_ids: list[uuid.UUID]) -> dict[str, float]:
    with session_scope() as db:
        rows = db.execute(
            text(
                "SELECT id, extract(epoch FROM completed_at) * 1000 FROM image "
                "WHERE id = ANY(:ids) AND status = 'completed'"
            ),
            {"ids": image_ids},
        ).all()
    return {str(image_id): float(ms) for image_id, ms in rows}


def job_done_to_visible(url: str, *, tabs: int = 3, jobs: int = 20) -> dict:
    """One user with `tabs` Chromium tabs on the gallery; `jobs` single-image generations
    submitted one after another; for each tab and job, the time from the worker's
    `completed` commit (image.completed_at) to the card showing `completed` in that tab.
    """
    [(user_id, cookie)] = signed_in_users(1)
    name, value = cookie.split("=", 1)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=url)
        context.add_cookies([{"name": name, "value": value, "url": url, "httpOnly": True}])
        context.add_init_script(OBSERVER)
        pages = [context.new_page() for _ in range(tabs)]
        for page in pages:
            page.goto("/")
            page.get_by_role("heading", name="Your images").wait_for()
            page.get_by_text("No images yet").first.wait_for()
        ids = []
        for n in range(jobs):
            ids.append(_submit_one(user_id, f"visible benchmark {n} {uuid.uuid4().hex[:6]}"))
            time.sleep(0.6)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = [page.evaluate("window.__completedAt") for page in pages]
            if all(len(s) >= jobs for s in seen):
                break
            time.sleep(0.25)
        browser.close()
    committed = _completed_at_ms(ids)
    latencies = [
        tab_seen[image_id] - committed[image_id]
        for tab_seen in seen
        for image_id in committed
        if image_id in tab_seen
    ]
    result = summary(latencies)
    result["missing"] = tabs * jobs - len(latencies)
    return result


async def _bare_connection(url: str) -> socketio.AsyncClient:
    """A socket.io connection to the app's event endpoint that sends nothing (no hydrate, no
    session): the transport's own memory, without any state."""
    connection = socketio.AsyncClient(reconnection=False)
    await connection.connect(
        f"{url}?token={uuid.uuid4()}",
        socketio_path="/_event",
        namespaces=["/_event"],
        transports=["websocket"],
        headers={"Origin": url},
        wait_timeout=30,
    )
    return connection


async def _connect(url: str, cookie: str, feed: str, origin: str | None = None) -> ReflexTab:
    tab = ReflexTab(url, cookie, origin=origin)
    await tab.open("/")
    await tab.wait_for(lambda: tab.get(feed, "loaded") is True)
    return tab


async def _submits(
    tabs: list[ReflexTab],
    feed: str,
    form: str,
    pause: Callable[[int], float],
    rounds: int,
) -> dict:
    """Every tab submits `rounds` prompts, waiting `pause(n)` seconds before the n-th; the
    latency is from sending the submit event to the new card being in the tab's state."""
    errors = 0
    latencies: list[float] = []
    submit = f"{form}.submit"

    async def submit_once(tab: ReflexTab, n: int) -> None:
        nonlocal errors
        before = {item["id"] for item in tab.get(feed, "items", [])}
        start = time.perf_counter()
        form_data = {
            "__reflex_form_data__": [
                ["prompt", f"benchmark user prompt {n} {uuid.uuid4().hex[:6]}"],
                ["size", "1024x1024"],
                ["quality", "low"],
                ["count", "1"],
                ["style", "none"],
            ]
        }
        await tab.send(submit, form_data=form_data)
        try:
            done = await tab.wait_for(
                lambda: any(item["id"] not in before for item in tab.get(feed, "items", [])),
                timeout=30,
            )
        except TimeoutError:
            errors += 1
            return
        if tab.get(form, "form_error") or tab.get(form, "out_of_credits"):
            errors += 1
        latencies.append((done - start) * 1000)

    async def user(tab: ReflexTab) -> None:
        for n in range(rounds):
            await asyncio.sleep(pause(n))
            await submit_once(tab, n)

    started = time.perf_counter()
    await asyncio.gather(*(user(tab) for tab in tabs))
    result = summary(latencies)
    result["errors"] = errors
    result["submits_per_s"] = round(len(latencies) / (time.perf_counter() - started), 1)
    return result


async def _tabs_and_submits(url: str, users: list[tuple[uuid.UUID, str]], rounds: int) -> dict:
    from imagegen.state.feed import UserFeed
    from imagegen.state.gallery import GalleryState

    feed, form = UserFeed.get_full_name(), GalleryState.get_full_name()
    # What a connection costs before any state: as many bare socket.io connections (no
    # hydrate, no user), kept open while the tabs connect.
    rss_start = backend_rss(url)
    bare = await asyncio.gather(*(_bare_connection(url) for _ in users))
    await asyncio.sleep(3)
    rss_before = backend_rss(url)
    tabs = await asyncio.gather(*(_connect(url, cookie, feed) for _, cookie in users))
    await asyncio.sleep(3)
    rss_after = backend_rss(url)
    await asyncio.gather(*(connection.disconnect() for connection in bare))

    burst = await _submits(tabs, feed, form, lambda _n: 0.0, rounds=1)
    await asyncio.sleep(5)  # let the workers drain the burst
    spread = await _submits(tabs, feed, form, lambda _n: random.uniform(1.0, 4.0), rounds=rounds)
    await asyncio.gather(*(tab.close() for tab in tabs))
    return {
        "submit_to_queued_spread": spread,
        "submit_to_queued_burst": burst,
        "memory": {
            "tabs": len(tabs),
            "backend_rss_before_mb": round(rss_before / 2**20, 1),
            "backend_rss_after_mb": round(rss_after / 2**20, 1),
            "kb_per_tab": round((rss_after - rss_before) / len(tabs) / 1024, 1),
            "kb_per_bare_connection": round((rss_before - rss_start) / len(bare) / 1024, 1),
        },
    }


def many_users(url: str, *, users: int = 100, rounds: int = 3) -> dict:
    """`users` simulated tabs, each a different signed-in user: backend memory before and
    after they connect; then all of them submit at the same instant (the worst case), and then
    each submits `rounds` prompts 1 to 4 s apart (roughly 30 submits/s from 100 users)."""
    made = signed_in_users(users)
    # Warm the backend (first-connection imports and caches are not per-tab memory).
    asyncio.run(_tabs_and_submits(url, signed_in_users(2), rounds=1))
    return asyncio.run(_tabs_and_submits(url, made, rounds))
