"""The queue as a user sees it, on an app whose one worker thread is kept busy (each image
takes seconds): a queued card's place in line and estimate move up live, the image view of a
queued image turns into the picture without a reload, and the tab's icon counts the images in
progress. Runs late: its own app (it rebuilds .web)."""

import os
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email
from tests.support.stack import running_app

pytestmark = pytest.mark.e2e

CARDS = "[data-testid=image-card]"
# Seconds each image takes on the slow app's single worker thread.
IMAGE_SECONDS = 2.5


@pytest.fixture(scope="module")
def slow_server(engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "REDIS_URL": os.environ.get("TEST_SCALE_REDIS_URL", "redis://127.0.0.1:6379/11"),
        "DATA_DIR": str(tmp_path_factory.mktemp("data-slow")),
        "GEN_THREADS": "1",
        "OFFLINE_DELAY_SECONDS": str(IMAGE_SECONDS),
        "GENERATION_TIME_LIMIT_SECONDS": "30",
    }
    with running_app(env, tmp_path_factory.mktemp("server-slow") / "server.log") as url:
        yield url


@pytest.fixture
def slow_page(browser: Browser, slow_server: str) -> Iterator[Page]:
    context = browser.new_context(base_url=slow_server, viewport={"width": 1440, "height": 900})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def submit(page: Page, prompt: str, count: int) -> None:
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    page.get_by_role("combobox", name="Quality").click()
    page.get_by_role("option", name="Low", exact=True).click()
    page.get_by_role("combobox", name="Images").click()
    page.get_by_role("option", name=str(count), exact=True).click()
    page.get_by_role("button", name="Generate").click()


# Every distinct text of one card's place in line, and its status, as they change.
WATCH_CARD = """(id) => {
  window.__spots = [];
  setInterval(() => {
    const card = document.querySelector(`[data-testid=image-card][data-image-id="${id}"]`);
    if (!card) return;
    const spot = card.querySelector('[data-testid=queue-spot]');
    const text = spot ? spot.textContent : card.dataset.status;
    if (window.__spots[window.__spots.length - 1] !== text) window.__spots.push(text);
  }, 50);
}"""


def test_a_queued_card_shows_its_place_and_estimate_and_both_move_up(slow_page: Page) -> None:
    page = slow_page
    register(page, unique_email("waiting"))
    expect(page.get_by_text("No images yet")).to_be_visible()

    # Four images at once on a worker that makes one at a time: one is made, three wait
    submit(page, "A queue of umbrellas in the rain", 4)
    cards = page.locator(CARDS)
    expect(cards).to_have_count(4)
    last = cards.filter(has=page.get_by_test_id("queue-spot").filter(has_text="3rd in line"))
    expect(last.get_by_test_id("queue-spot")).to_have_text(
        re.compile(r"^3rd in line · ready in about \d+ (s|min)$")
    )
    last = page.locator(f"{CARDS}[data-image-id='{last.get_attribute('data-image-id')}']")
    page.evaluate(WATCH_CARD, last.get_attribute("data-image-id"))

    # The favicon counts what is in progress (in <head>, where React puts it)
    icon = page.locator("head link[data-testid=progress-favicon]")
    expect(icon).to_have_count(1)
    assert "image/svg+xml" in (icon.get_attribute("href") or "")

    # The last card moves up, live, until it is made
    expect(last).to_have_attribute("data-status", "completed", timeout=40_000)
    # (the watcher samples every 50 ms: let it record what the card now shows)
    page.wait_for_function("window.__spots[window.__spots.length - 1] === 'completed'")
    spots = page.evaluate("window.__spots")
    places = [s.split(" · ")[0] for s in spots if " in line" in s]
    assert places[-1] == "Next in line", spots
    assert "2nd in line" in places, spots
    assert places == sorted(set(places), key=places.index), spots  # never back down the line
    estimates = {s.split(" · ")[1] for s in spots if " in line" in s}
    assert len(estimates) >= 2, spots  # the estimate moved too
    assert spots[-2:] == ["generating", "completed"], spots

    # Nothing in progress: the app's own icon again
    expect(icon).to_have_count(0)


def test_the_image_view_of_a_queued_image_shows_it_when_done_without_a_reload(
    slow_page: Page, slow_server: str
) -> None:
    page = slow_page
    register(page, unique_email("patient"))
    submit(page, "A kettle coming to the boil", 3)
    cards = page.locator(CARDS)
    expect(cards).to_have_count(3)
    newest = cards.first  # the last of the three to be made
    image_id = newest.get_attribute("data-image-id")
    expect(newest).to_have_attribute("data-status", re.compile("queued|generating"))

    page.goto(f"/images/{image_id}")
    view = page.get_by_role("dialog")
    expect(view.get_by_test_id("view-prompt")).to_have_text("A kettle coming to the boil")
    expect(view.get_by_test_id("view-image")).to_have_count(0)
    expect(view).to_contain_text(re.compile("Queued|in line|Generating"))
    expect(view.get_by_role("button", name="Download")).to_have_count(0)
    page.evaluate("window.__sameDocument = true")

    # The worker finishes it: the picture and its actions appear in the open view
    expect(view.get_by_test_id("view-image")).to_be_visible(timeout=40_000)
    expect(view.get_by_role("button", name="Download")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true")  # no reload happened
    expect(page).to_have_url(f"{slow_server}/images/{image_id}")
