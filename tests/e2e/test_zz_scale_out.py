"""Two web processes (Reflex state and sockets in Redis): the live push still reaches every
tab of the user, whichever process holds each tab's socket. Runs last (it rebuilds .web)."""

import os
from collections.abc import Iterator

import psutil
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email
from tests.support.stack import running_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def two_process_server(engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "WEB_WORKERS": "2",
        "REDIS_URL": os.environ.get("TEST_SCALE_REDIS_URL", "redis://127.0.0.1:6379/11"),
        "DATA_DIR": str(tmp_path_factory.mktemp("data2")),
    }
    with running_app(env, tmp_path_factory.mktemp("server2") / "server.log") as url:
        yield url


def _reflex_processes(port: str) -> int:
    """The `reflex run` process and the backend workers forked from it (same command line)."""
    return sum(
        1
        for proc in psutil.process_iter(["cmdline"])
        if "reflex" in " ".join(proc.info["cmdline"] or [])
        and f"--backend-port {port}" in " ".join(proc.info["cmdline"] or [])
    )


def test_push_reaches_every_tab_across_two_web_processes(
    browser: Browser, two_process_server: str
) -> None:
    assert _reflex_processes(two_process_server.rsplit(":", 1)[1]) >= 3  # runner + 2 workers
    context = browser.new_context(base_url=two_process_server)
    first = context.new_page()
    register(first, unique_email("scale"))
    tabs = [first]
    for _ in range(3):
        tab = context.new_page()
        tab.goto("/")
        expect(tab.get_by_text("No images yet")).to_be_visible()
        tabs.append(tab)
    prompt = "Two processes, one gallery"
    first.get_by_label("Prompt").fill(prompt)
    first.get_by_role("button", name="Generate").click()
    for tab in tabs:
        expect(tab.get_by_role("img", name=prompt)).to_be_visible(timeout=30_000)
        expect(tab.get_by_text("9 credits left")).to_be_visible()
    context.close()
