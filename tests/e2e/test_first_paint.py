"""Private pages paint their shell at once: before the websocket has answered (here: never),
a signed-in user sees the navigation and the page's outline, not a blank "Loading…" screen."""

import re

import pytest
from playwright.sync_api import Page, expect

from imagegen import routes
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def without_socket(page: Page) -> None:
    """From now on the page's websocket opens but never answers (no session check, no state)."""
    page.route_web_socket(re.compile(r".*/_event.*"), lambda _ws: None)


def test_the_shell_paints_before_the_session_check(page: Page, live_server: str) -> None:
    register(page, unique_email("shell"))
    expect(page).to_have_url(f"{live_server}/")
    without_socket(page)

    page.goto(routes.HOME)
    expect(page.get_by_text("Loading…")).to_have_count(0)
    expect(page.get_by_role("navigation").first).to_be_visible()
    expect(page.get_by_role("heading", name="Generate").first).to_be_visible()
    expect(page.locator("[aria-busy=true]").first).to_be_visible()  # the content's outline

    page.goto(routes.ACCOUNT)
    expect(page.get_by_text("Loading…")).to_have_count(0)
    expect(page.get_by_role("navigation").first).to_be_visible()
    expect(page.locator("[aria-busy=true]").first).to_be_visible()  # the content's outline
