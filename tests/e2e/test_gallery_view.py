"""The gallery as a user browses it: every image stays reachable live in every open tab,
the detail view (its own URL, keyboard), and keyboard submit."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from imagegen.db import session_scope
from tests.e2e.test_auth_flow import register
from tests.fixtures.live import LIVE_PAGE_SIZE, LIVE_RECONCILE_SECONDS
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e

CARDS = "[data-testid=image-card]"


def make_gold(email: str) -> None:
    """Gold: 500 credits, 24 images in progress, 60 requests a minute."""
    with session_scope() as db:
        db.execute(text("UPDATE \"user\" SET plan = 'gold_user' WHERE email = :e"), {"e": email})


def generate(page: Page, prompt: str, count: int = 1, quality: str = "Low") -> None:
    """Submit the form and wait until the new cards are in this tab."""
    before = page.locator(CARDS).count()
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    for label, value in (("Quality", quality), ("Images", str(count))):
        page.get_by_role("combobox", name=label).click()
        page.get_by_role("option", name=value, exact=True).click()
    page.get_by_role("button", name="Generate").click()
    expect(page.locator(CARDS)).to_have_count(before + count, timeout=15_000)


def load_all(page: Page) -> None:
    """Press "Load more" until it is gone."""
    more = page.get_by_role("button", name="Load more")
    for _ in range(10):
        page.wait_for_timeout(300)
        if more.count() == 0:
            return
        before = page.locator(CARDS).count()
        more.click()
        expect(page.locator(CARDS)).not_to_have_count(before)
    raise AssertionError("Load more never ended")


def all_done(page: Page, total: int) -> None:
    expect(page.locator(f"{CARDS}[data-status=completed]")).to_have_count(total, timeout=60_000)


def test_no_image_vanishes_from_any_open_tab(page: Page) -> None:
    # Given a gold user with two tabs open on an empty gallery
    email = unique_email("prolific")
    register(page, email)
    make_gold(email)
    page.reload()
    expect(page.get_by_text("Gold", exact=True)).to_be_visible()
    second = page.context.new_page()
    second.goto("/")
    expect(second.get_by_text("No images yet")).to_be_visible()

    # When more than two pages' worth of images are made while both tabs are open
    for n in range(5):
        generate(page, f"Batch {n} of a prolific afternoon", count=4)
    total = 20
    assert total > 2 * LIVE_PAGE_SIZE
    # Then each tab shows every one of them (more than the shared feed ever kept), and they
    # stay once finished (the reconcile refetch used to cut the feed back to one page)
    for tab in (page, second):
        load_all(tab)
        all_done(tab, total)
    second.wait_for_timeout((LIVE_RECONCILE_SECONDS + 1) * 1000)  # past a reconcile tick
    for tab in (page, second):
        load_all(tab)
        expect(tab.locator(CARDS)).to_have_count(total)

    # When the second tab reloads (first page + "Load more") and more images arrive
    second.reload()
    expect(second.locator(CARDS)).to_have_count(LIVE_PAGE_SIZE, timeout=15_000)
    generate(page, "One more batch after the reload", count=4)
    total += 4
    # Then nothing is lost in either tab: the first tab keeps all it had, and the second
    # reaches every image with "Load more"
    for tab in (page, second):
        load_all(tab)
        all_done(tab, total)
    ids = second.locator(CARDS).evaluate_all("els => els.map(e => e.dataset.imageId)")
    assert len(set(ids)) == total  # no duplicates either
    assert page.locator(CARDS).evaluate_all("els => els.map(e => e.dataset.imageId)") == ids
    expect(second.locator(CARDS).first).to_contain_text("One more batch")


def test_ctrl_enter_in_the_prompt_generates(page: Page) -> None:
    register(page, unique_email("keyboard"))
    prompt = page.get_by_role("textbox", name="Prompt")
    prompt.fill("A fox in the snow")
    prompt.press("Enter")  # a plain Enter is a new line
    prompt.press_sequentially("at dusk")
    expect(page.locator(CARDS)).to_have_count(0)
    prompt.press("Control+Enter")
    expect(page.locator(CARDS)).to_have_count(1)
    expect(page.locator(CARDS).first).to_contain_text("A fox in the snow\nat dusk")
    prompt.fill("A hare in the snow")
    prompt.press("Meta+Enter")  # Cmd+Enter on a Mac
    expect(page.locator(CARDS)).to_have_count(2)


def test_image_view_has_its_own_url_and_keys(
    page: Page, browser: Browser, live_server: str
) -> None:
    # Given three finished images (newest first: c, b, a)
    email = unique_email("viewer")
    register(page, email)
    for name in ("a", "b", "c"):
        generate(page, f"Picture {name}, a quiet harbour", quality="Low")
    all_done(page, 3)
    cards = page.locator(CARDS)
    ids = cards.evaluate_all("els => els.map(e => e.dataset.imageId)")

    # When the middle card's picture is clicked
    middle = cards.nth(1).get_by_role("link")
    middle.click()
    # Then the view opens on its own URL, with the prompt and settings, the picture large
    view = page.get_by_role("dialog")
    expect(page).to_have_url(f"{live_server}/images/{ids[1]}")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Picture b, a quiet harbour")
    expect(view).to_contain_text("Square · 1024×1024")
    expect(view).to_contain_text("Low")
    expect(view.get_by_test_id("view-image")).to_be_visible()
    # (focus is inside the view; Radix traps it there)
    assert page.evaluate("document.querySelector('[role=dialog]').contains(document.activeElement)")

    # → is the next (older) image, ← the previous (newer)
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(f"{live_server}/images/{ids[2]}")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Picture a, a quiet harbour")
    page.keyboard.press("ArrowRight")  # the oldest: nothing further
    page.wait_for_timeout(500)
    expect(page).to_have_url(f"{live_server}/images/{ids[2]}")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(f"{live_server}/images/{ids[1]}")
    expect(view.get_by_role("button", name="Previous image")).to_be_enabled()
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(f"{live_server}/images/{ids[0]}")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Picture c, a quiet harbour")

    # Reload keeps the view (a bookmark works)
    page.reload()
    expect(page.get_by_role("dialog").get_by_test_id("view-prompt")).to_have_text(
        "Picture c, a quiet harbour"
    )

    # Esc closes it: back to the gallery, focus on that image's card
    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(f"#card-link-{ids[0]}")).to_be_focused()
    expect(cards).to_have_count(3)

    # "Use these settings" goes home with the form filled
    page.goto(f"/images/{ids[2]}")
    page.get_by_role("dialog").get_by_role("button", name="Use these settings").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.get_by_role("textbox", name="Prompt")).to_have_value("Picture a, a quiet harbour")

    # Someone else's image looks like a made-up one: not found
    other = browser.new_context(base_url=live_server)
    stranger = other.new_page()
    register(stranger, unique_email("stranger"), name="Stranger")
    expect(stranger.get_by_role("textbox", name="Prompt")).to_be_visible()
    for image_id in (ids[0], "00000000-0000-0000-0000-000000000000", "not-an-id"):
        stranger.goto(f"/images/{image_id}")
        expect(stranger.get_by_role("dialog")).to_contain_text("Image not found")
        expect(stranger.get_by_role("dialog")).not_to_contain_text("quiet harbour")
    other.close()

    # Delete from the view asks first, then shows the next image
    page.goto(f"/images/{ids[1]}")
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    expect(page).to_have_url(f"{live_server}/images/{ids[2]}")
    page.keyboard.press("Escape")
    expect(cards).to_have_count(2)
    # Clicking a thumbnail no longer opens the raw PNG
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(cards.first.locator("a").first).to_have_attribute("href", re.compile(r"^/images/"))


def test_on_a_phone_the_new_card_comes_into_view(page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    register(page, unique_email("phone"))
    for n in range(4):  # enough cards that the gallery goes below the fold
        generate(page, f"Pocket picture {n}", quality="Low")
    all_done(page, 4)
    page.evaluate("window.scrollTo(0, 0)")
    prompt = page.get_by_role("textbox", name="Prompt")
    prompt.fill("The newest one, seen at once")
    page.get_by_role("button", name="Generate").click()
    newest = page.locator(CARDS).first
    expect(newest).to_contain_text("The newest one, seen at once")
    expect(newest).to_be_in_viewport()
    # The size picker shows its whole label
    trigger = page.get_by_role("combobox", name="Size")
    assert trigger.evaluate(
        "el => [el, ...el.querySelectorAll('span')].every(e => e.scrollWidth <= e.clientWidth)"
    )
    # Two columns of cards
    lefts = page.locator(CARDS).evaluate_all(
        "els => [...new Set(els.map(e => Math.round(e.getBoundingClientRect().left)))]"
    )
    assert len(lefts) == 2


def test_regenerate_and_variations_say_the_cost_first(page: Page) -> None:
    register(page, unique_email("variations"))
    generate(page, "A teapot shaped like a whale")  # medium: 1 credit each
    all_done(page, 1)
    first_id = page.locator(CARDS).first.get_attribute("data-image-id")
    page.goto(f"/images/{first_id}")
    view = page.get_by_role("dialog")
    variations = view.get_by_role("button", name="4 variations · 4 credits")
    expect(view.get_by_role("button", name="Remake · 1 credit")).to_be_visible()
    variations.click()
    expect(page.get_by_text("4 images queued")).to_be_visible()
    page.keyboard.press("Escape")
    all_done(page, 5)
    expect(page.get_by_text("5 credits left")).to_be_visible()  # 10 - 1 - 4
    # Variations are drawn from this image (its picture goes to the model's edit endpoint)
    with session_scope() as db:
        drawn_from = db.execute(
            text("SELECT count(*) FROM image WHERE source_image_id = CAST(:id AS uuid)"),
            {"id": first_id},
        ).scalar_one()
    assert drawn_from == 4
    # Four new pictures, each its own (the offline generator seeds each image)
    sources = page.locator(f"{CARDS} img").evaluate_all("els => els.map(e => e.src)")
    bodies = {page.request.get(src).body() for src in sources[:4]}
    assert len(bodies) == 4
    expect(page.locator(CARDS).first).to_contain_text("A teapot shaped like a whale")
    # Remake from a card: one more, same prompt and settings
    page.locator(CARDS).first.get_by_role("button", name="Remake · 1 credit").click()
    all_done(page, 6)
    expect(page.get_by_text("4 credits left")).to_be_visible()
    with session_scope() as db:  # a Remake is a fresh draw, from no source
        sources_kept = db.execute(
            text(
                "SELECT count(*) FROM image WHERE source_image_id IS NOT NULL AND user_id = "
                "(SELECT user_id FROM image WHERE id = CAST(:id AS uuid))"
            ),
            {"id": first_id},
        ).scalar_one()
    assert sources_kept == 4
    # Variations from a card, its cost on the button: four more, drawn from the Remake
    remake_id = page.locator(CARDS).first.get_attribute("data-image-id")
    page.locator(CARDS).first.get_by_role("button", name="4 variations · 4 credits").click()
    all_done(page, 10)
    expect(page.get_by_text("0 credits left")).to_be_visible()
    with session_scope() as db:
        from_remake = db.execute(
            text("SELECT count(*) FROM image WHERE source_image_id = CAST(:id AS uuid)"),
            {"id": remake_id},
        ).scalar_one()
    assert from_remake == 4


# Per row of cards (same top): how much of the grid's width the cards and gaps fill, and
# whether any card's action row wrapped onto a second line.
ROWS = """grid => {
  const g = grid.getBoundingClientRect();
  const rows = {};
  for (const card of grid.querySelectorAll('[data-testid=image-card]')) {
    const r = card.getBoundingClientRect();
    const row = (rows[Math.round(r.top)] ||= {left: r.left, right: r.right, wrapped: false});
    row.left = Math.min(row.left, r.left); row.right = Math.max(row.right, r.right);
    const buttons = [...card.querySelectorAll('button')].filter(b => b.offsetParent !== null
      && b.closest('[data-testid=card-actions]'));
    const tops = new Set(buttons.map(b => Math.round(b.getBoundingClientRect().top)));
    row.wrapped ||= tops.size > 1;
  }
  return Object.keys(rows).map(Number).sort((a, b) => a - b)
    .map(top => ({fill: (rows[top].right - rows[top].left) / g.width, wrapped: rows[top].wrapped}));
}"""


def test_mixed_shapes_fill_their_rows_and_keep_their_actions_on_one_line(page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    register(page, unique_email("shapes"))
    for shape, prompt in (
        ("Portrait 2:3", "A tall cypress"),
        ("Landscape 3:2", "A wide bay"),
        ("Square 1:1", "A round pond"),
        ("Portrait 2:3", "A lighthouse"),
        ("Landscape 3:2", "A long train"),
    ):
        page.get_by_role("combobox", name="Size").click()
        page.get_by_role("option", name=shape, exact=True).click()
        generate(page, prompt)
    all_done(page, 5)
    rows = page.get_by_test_id("gallery-grid").evaluate(ROWS)
    assert len(rows) >= 2
    # Every row but the last is packed edge to edge (justified), whatever the shapes
    assert all(row["fill"] > 0.97 for row in rows[:-1]), rows
    # No card, however narrow (a portrait alone on the last row), wraps its actions
    assert not any(row["wrapped"] for row in rows), rows


def _swipe(page: Page, cdp: object, dx: int, dy: int = 0) -> None:
    """A one-finger swipe over the picture, as real touch events (CDP Input.dispatchTouchEvent)."""
    box = page.get_by_test_id("view-swipe").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2 - dx / 2, box["y"] + box["height"] / 2
    send = cdp.send  # type: ignore[attr-defined]
    send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 6):
        point = {"x": x + dx * step / 5, "y": y + dy * step / 5}
        send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_swipe_on_a_phone_steps_through_the_images(browser: Browser, live_server: str) -> None:
    # Given three finished images (newest first: c, b, a), on a touch phone
    phone = browser.new_context(
        base_url=live_server,
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    page = phone.new_page()
    register(page, unique_email("swiper"))
    for name in ("a", "b", "c"):
        generate(page, f"Swipe {name}, a windy beach", quality="Low")
    all_done(page, 3)
    ids = page.locator(CARDS).evaluate_all("els => els.map(e => e.dataset.imageId)")
    page.goto(f"/images/{ids[1]}")
    view = page.get_by_role("dialog")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Swipe b, a windy beach")
    cdp = phone.new_cdp_session(page)

    # A swipe to the left is the next (older) image
    _swipe(page, cdp, dx=-200)
    expect(page).to_have_url(f"{live_server}/images/{ids[2]}")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Swipe a, a windy beach")
    # Nothing further at the oldest
    _swipe(page, cdp, dx=-200)
    page.wait_for_timeout(600)
    expect(page).to_have_url(f"{live_server}/images/{ids[2]}")
    # To the right: back, twice
    _swipe(page, cdp, dx=200)
    expect(page).to_have_url(f"{live_server}/images/{ids[1]}")
    expect(view.get_by_test_id("view-prompt")).to_have_text("Swipe b, a windy beach")
    _swipe(page, cdp, dx=200)
    expect(page).to_have_url(f"{live_server}/images/{ids[0]}")
    # A mostly vertical move (scrolling) and a short one are not swipes
    _swipe(page, cdp, dx=-80, dy=240)
    _swipe(page, cdp, dx=-20)
    page.wait_for_timeout(600)
    expect(page).to_have_url(f"{live_server}/images/{ids[0]}")
    phone.close()
