"""Typing in the prompt box stays in the browser: no event reaches the server until the
form is submitted, and the submit is one event that carries the prompt."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email
from tests.support.socket_events import SentEvents

pytestmark = pytest.mark.e2e

TYPED = "A red fox asleep in fresh snow, at dusk."  # 40 characters


def test_typing_sends_no_events_and_the_submit_sends_one(page: Page) -> None:
    sent = SentEvents(page)
    register(page, unique_email("keys"))
    box = page.get_by_role("textbox", name="Prompt")
    expect(box).to_be_editable()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)  # the page's own loading events are over

    # Click into the box and type 40 characters: the counter follows, nothing is sent
    mark = len(sent.names)
    box.click()
    box.press_sequentially(TYPED, delay=20)
    expect(page.get_by_text(f"{len(TYPED)} / 4,000")).to_be_visible()
    page.wait_for_timeout(1000)  # a debounced send would have gone by now
    assert sent.since(mark) == []

    # Generate: one event, the submit, and the image is made of what was typed
    mark = len(sent.names)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("img", name=TYPED)).to_have_count(1, timeout=30_000)
    assert [name for name in sent.since(mark) if name != "refetch"] == ["submit"]
    expect(box).to_have_value(TYPED)
