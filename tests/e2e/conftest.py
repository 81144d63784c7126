"""Browser tests: the production build served by `imagegen run` (what `make run` starts),
driven by Playwright in Debian's Chromium."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.stack import CHROMIUM, CHROMIUM_ARGS, running_app

if TYPE_CHECKING:
    from tests.standins.oauth_server import OAuthStandIn
    from tests.standins.polar_server import PolarStandIn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def polar_standin() -> Iterator["PolarStandIn"]:
    """Polar's API for the app's polar-sdk client (checkout, customer sessions)."""
    from tests.standins.polar_server import PolarStandIn

    with PolarStandIn(access_token="polar_e2e_token") as server:
        yield server


@pytest.fixture(scope="session")
def oauth_standin() -> Iterator["OAuthStandIn"]:
    """GitHub and Google for the app's authlib client."""
    from tests.standins.oauth_server import OAuthStandIn

    with OAuthStandIn() as server:
        yield server


@pytest.fixture(scope="session")
def live_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's DATA_DIR (local images, and the outbox where its emails land)."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def live_server(
    engine: object,
    polar_standin: "PolarStandIn",
    oauth_standin: "OAuthStandIn",
    live_data_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The app on a free port against the test database; its own Redis db, so its Dramatiq
    worker never takes the worker tests' messages."""
    env = {
        "REDIS_URL": os.environ.get("TEST_E2E_REDIS_URL", "redis://127.0.0.1:6379/10"),
        "DATA_DIR": str(live_data_dir),
        "POLAR_ACCESS_TOKEN": "polar_e2e_token",
        "POLAR_API_URL": polar_standin.base_url,
        **oauth_standin.env(),
    }
    with running_app(env, tmp_path_factory.mktemp("server") / "server.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page per test."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()
