"""The library in the browser: delete with Undo, favorites with their filter and order,
bulk select (download as a zip, delete, favorites), and the tab title while images are made."""

import io
import zipfile

import pytest
from playwright.sync_api import Locator, Page, expect

from imagegen.state.gallery import UNDO_SHOWN_SECONDS
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def generate(page: Page, prompt: str, count: int = 1) -> None:
    """Make `count` images of `prompt` and wait until they are all finished."""
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    if count > 1:
        page.get_by_label("Images").click()
        page.get_by_role("option", name=str(count), exact=True).click()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("img", name=prompt)).to_have_count(count, timeout=30_000)
    if count > 1:  # back to one for the next call
        page.get_by_label("Images").click()
        page.get_by_role("option", name="1", exact=True).click()


def cards(page: Page) -> Locator:
    return page.locator("[data-testid=image-card]")


def card_of(page: Page, prompt: str) -> Locator:
    return cards(page).filter(has=page.get_by_role("img", name=prompt))


def test_delete_can_be_undone_for_a_few_seconds(page: Page) -> None:
    register(page, unique_email("undo"))
    generate(page, "A red kite over the dunes")
    generate(page, "A blue boat in a harbour")

    # Delete, then Undo: the card comes back (and stays after a reload)
    card_of(page, "A red kite over the dunes").get_by_role("button", name="Delete image").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("img", name="A red kite over the dunes")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Image deleted")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("img", name="A red kite over the dunes")).to_be_visible()
    expect(page.get_by_role("button", name="Undo")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("img", name="A red kite over the dunes")).to_be_visible()

    # Delete without Undo: the bar goes after a few seconds, and the image is gone for good
    card_of(page, "A blue boat in a harbour").get_by_role("button", name="Delete image").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("img", name="A blue boat in a harbour")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.get_by_role("button", name="Undo")).to_have_count(
        0, timeout=(UNDO_SHOWN_SECONDS + 5) * 1000
    )
    page.reload()
    expect(page.get_by_role("img", name="A red kite over the dunes")).to_be_visible()
    expect(page.get_by_role("img", name="A blue boat in a harbour")).to_have_count(0)

    # From the image view: Delete, then Undo in the view
    page.get_by_role("img", name="A red kite over the dunes").click()
    view = page.get_by_test_id("image-view")
    view.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("button", name="Undo").click()
    page.goto("/")
    expect(page.get_by_role("img", name="A red kite over the dunes")).to_be_visible()


def test_favorites_heart_filter_and_order(page: Page) -> None:
    register(page, unique_email("hearts"))
    generate(page, "An old oak in fog")
    generate(page, "A neon street at night")
    generate(page, "A bowl of lemons")

    # A heart on two cards: the button says what it does next
    card_of(page, "An old oak in fog").get_by_role("button", name="Add to favorites").click()
    expect(
        card_of(page, "An old oak in fog").get_by_role("button", name="Remove from favorites")
    ).to_be_visible()
    # ...and one in the image view
    page.get_by_role("img", name="A bowl of lemons").click()
    page.get_by_test_id("image-view").get_by_role("button", name="Add to favorites").click()
    expect(
        page.get_by_test_id("image-view").get_by_role("button", name="Remove from favorites")
    ).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("image-view")).to_have_count(0)
    expect(
        card_of(page, "A bowl of lemons").get_by_role("button", name="Remove from favorites")
    ).to_be_visible()

    # Favorites shows only those two, newest first; Oldest first turns them round
    page.get_by_role("radio", name="Favorites").click()
    expect(cards(page)).to_have_count(2)
    expect(page.get_by_role("img", name="A neon street at night")).to_have_count(0)
    expect(cards(page).first).to_contain_text("A bowl of lemons")
    page.get_by_label("Sort").click()
    page.get_by_role("option", name="Oldest first").click()
    expect(cards(page).first).to_contain_text("An old oak in fog")

    # Taking a heart off, then All again: every image, the hearts kept after a reload
    card_of(page, "An old oak in fog").get_by_role("button", name="Remove from favorites").click()
    page.get_by_role("radio", name="All").click()
    expect(cards(page)).to_have_count(3)
    page.reload()
    expect(
        card_of(page, "A bowl of lemons").get_by_role("button", name="Remove from favorites")
    ).to_be_visible()
    expect(
        card_of(page, "An old oak in fog").get_by_role("button", name="Add to favorites")
    ).to_be_visible()
    # (all order) newest first again after a reload
    expect(cards(page).first).to_contain_text("A bowl of lemons")


def test_bulk_select_download_favorite_delete(page: Page) -> None:
    register(page, unique_email("bulk"))
    generate(page, "A snowy cabin", count=2)
    generate(page, "A desert road")
    generate(page, "A koi pond")
    expect(cards(page)).to_have_count(4)

    page.get_by_role("button", name="Select", exact=True).click()
    bar = page.get_by_test_id("bulk-bar")
    expect(bar).to_contain_text("0 selected")

    # Click toggles; shift-click selects the range from the last card clicked
    boxes = page.get_by_role("checkbox")
    expect(boxes).to_have_count(4)
    boxes.nth(0).click()
    boxes.nth(0).click()
    expect(bar).to_contain_text("0 selected")
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    expect(bar).to_contain_text("3 selected")
    for index in (0, 1, 2):
        expect(boxes.nth(index)).to_have_attribute("aria-checked", "true")
    expect(boxes.nth(3)).to_have_attribute("aria-checked", "false")

    # Two selected: Download gives a zip holding those two pictures
    bar.get_by_role("button", name="Clear").click()
    expect(bar).to_contain_text("0 selected")
    card_of(page, "A koi pond").get_by_role("checkbox").click()
    card_of(page, "A desert road").get_by_role("checkbox").click()
    expect(bar).to_contain_text("2 selected")
    with page.expect_download() as download:
        bar.get_by_role("button", name="Download").click()
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
        names = archive.namelist()
        assert len(names) == 2, names
        assert sorted(name.split("_")[2] for name in names) == ["a-desert-road", "a-koi-pond"]
        assert all(archive.read(name).startswith(b"\x89PNG") for name in names)
    # The page is still there, the selection too
    expect(bar).to_contain_text("2 selected")

    # Add to favorites: both get a heart
    bar.get_by_role("button", name="Add to favorites").click()
    page.get_by_role("button", name="Done").click()
    for prompt in ("A koi pond", "A desert road"):
        expect(
            card_of(page, prompt).get_by_role("button", name="Remove from favorites")
        ).to_be_visible()

    # Select all on screen, Delete (one confirmation), then Undo brings all four back
    page.get_by_role("button", name="Select", exact=True).click()
    bar.get_by_role("button", name="Select all on screen").click()
    expect(bar).to_contain_text("4 selected")
    bar.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete", exact=True).click()
    expect(cards(page)).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="4 images deleted")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    expect(cards(page)).to_have_count(4)


# Counts every title the tab shows (polled faster than the app changes it).
RECORD_TITLES = """() => {
  window.__titles = [];
  setInterval(() => {
    const t = document.title;
    if (window.__titles[window.__titles.length - 1] !== t) window.__titles.push(t);
  }, 50);
}"""


def test_tab_title_shows_progress_then_ready_while_in_the_background(page: Page) -> None:
    register(page, unique_email("title"))
    expect(page).to_have_title("Generate · imagegen")
    page.evaluate(RECORD_TITLES)

    # The tab goes to the background, then two images are made
    page.get_by_role("textbox", name="Prompt").fill("A lantern in the snow")
    page.get_by_label("Images").click()
    page.get_by_role("option", name="2", exact=True).click()
    page.evaluate(  # the tab goes to the background, as a browser tells the page
        "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        " document.hasFocus = () => false;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    page.get_by_role("button", name="Generate").click()
    expect(page).to_have_title("✓ 2 ready · imagegen", timeout=30_000)
    titles = page.evaluate("window.__titles")
    assert any(t.startswith("⏳ ") and t.endswith(" generating · imagegen") for t in titles), titles

    # It stays until the tab is looked at again
    page.wait_for_timeout(1500)
    expect(page).to_have_title("✓ 2 ready · imagegen")
    page.evaluate(
        "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
        " document.hasFocus = () => true; window.dispatchEvent(new Event('focus')); }"
    )
    expect(page).to_have_title("Generate · imagegen")


def test_account_export_and_email_when_done(page: Page) -> None:
    register(page, unique_email("export"))
    generate(page, "A paper crane")
    page.goto("/account")

    # The switch is off, turns on, and stays on after a reload
    switch = page.get_by_role("switch", name="Email me when a long job finishes")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "true")
    page.reload()
    expect(switch).to_have_attribute("aria-checked", "true")

    # Export my data: prepared in the background, then a download of a zip with the image
    page.get_by_role("button", name="Export my data").click()
    download = page.get_by_role("link", name="Download my data")
    expect(download).to_be_visible(timeout=30_000)
    expect(page.locator("#export")).to_contain_text("Ready: 1 images")
    response = page.request.get(download.get_attribute("href"))
    assert response.status == 200
    with zipfile.ZipFile(io.BytesIO(response.body())) as archive:
        names = archive.namelist()
    assert any(name.endswith(".json") for name in names), names
    assert sum(name.endswith(".png") for name in names) == 1, names


def test_prompt_box_suggests_recent_prompts_by_keyboard(page: Page) -> None:
    register(page, unique_email("prompts"))
    generate(page, "A kite festival on the beach")
    generate(page, "A foggy harbour at dawn")
    box = page.get_by_role("textbox", name="Prompt")
    box.fill("")
    page.get_by_role("heading", name="Your images").click()  # away, then back into the box

    # Focus: the recent prompts, newest first
    box.focus()
    options = page.get_by_role("listbox", name="Suggestions").get_by_role("option")
    expect(options).to_have_text(["A foggy harbour at dawn", "A kite festival on the beach"])
    # ↓ ↓ Enter takes the second; the list closes
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("A kite festival on the beach")
    expect(page.get_by_role("listbox", name="Suggestions")).to_have_count(0)

    # Typing narrows them down; Esc closes the list and keeps what was typed
    box.fill("")
    box.press_sequentially("fog")
    expect(options).to_have_text(["A foggy harbour at dawn"])
    box.press("Escape")
    expect(page.get_by_role("listbox", name="Suggestions")).to_have_count(0)
    expect(box).to_have_value("fog")


def test_collections_create_add_open_share(page: Page) -> None:
    register(page, unique_email("folders"))
    generate(page, "A mountain hut in summer")
    generate(page, "A city tram at dusk")
    generate(page, "A plate of dumplings")

    # A new collection, then two selected images go in it
    page.get_by_role("button", name="New collection").click()
    page.get_by_label("Name").fill("Trips")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("button", name="Open collection Trips")).to_be_visible()
    page.get_by_role("button", name="Select", exact=True).click()
    card_of(page, "A mountain hut in summer").get_by_role("checkbox").click()
    card_of(page, "A city tram at dusk").get_by_role("checkbox").click()
    page.get_by_test_id("bulk-bar").get_by_label("Add to collection").click()
    page.get_by_role("option", name="Trips").click()
    expect(page.get_by_text("2 images added to “Trips”")).to_be_visible()
    page.get_by_role("button", name="Done").click()

    # Open it: just those two
    page.get_by_role("button", name="Open collection Trips").click()
    view = page.get_by_test_id("collection-view")
    expect(view.locator("[data-testid=image-card]")).to_have_count(2)
    expect(view.get_by_role("img", name="A plate of dumplings")).to_have_count(0)

    # Its public link lists the two images, until sharing stops
    view.get_by_role("button", name="Share collection").click()
    link = view.get_by_role("link", name="Public link")
    expect(link).to_be_visible()
    url = link.get_attribute("href")
    stranger = page.context.browser.new_context()
    shared = stranger.request.get(url)
    assert shared.status == 200
    assert "A mountain hut in summer" in shared.text()
    assert "A plate of dumplings" not in shared.text()
    view.get_by_role("button", name="Stop sharing").click()
    expect(view.get_by_role("button", name="Share collection")).to_be_visible()
    assert stranger.request.get(url).status == 404
    stranger.close()

    # Back to all images
    view.get_by_role("button", name="All images").click()
    expect(cards(page)).to_have_count(3)


def _row_tops(locator: Locator) -> list[int]:
    """The top of each card, in the page's order."""
    return locator.evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().top))")


def test_collection_masonry_rename_remove_and_delete(page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    register(page, unique_email("curator"))
    generate(page, "Still life number", count=4)
    generate(page, "Another still life", count=2)
    page.get_by_role("button", name="New collection").click()
    page.get_by_label("Name").fill("Studio")
    page.get_by_role("button", name="Create").click()
    page.get_by_role("button", name="Select", exact=True).click()
    page.get_by_role("button", name="Select all on screen").click()
    page.get_by_test_id("bulk-bar").get_by_label("Add to collection").click()
    page.get_by_role("option", name="Studio").click()
    expect(page.get_by_text("6 images added to “Studio”")).to_be_visible()
    page.get_by_role("button", name="Done").click()

    # Opened on a desktop: the gallery's rows (3 squares a row at this width), not one long
    # column
    page.get_by_role("button", name="Open collection Studio").click()
    view = page.get_by_test_id("collection-view")
    in_view = view.locator("[data-testid=image-card]")
    expect(in_view).to_have_count(6)
    tops = _row_tops(in_view)
    assert tops[0] == tops[1] == tops[2] < tops[3] == tops[4] == tops[5]
    # On a phone: two columns that fill the width, as the gallery's (not quarter-width cards)
    page.set_viewport_size({"width": 390, "height": 844})
    expect(in_view.first).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=collection-view] [data-testid=image-card]')"
        ".getBoundingClientRect().width < 200"
    )
    full = view.evaluate("el => el.getBoundingClientRect().width")
    widths = in_view.evaluate_all("els => els.map(e => e.getBoundingClientRect().width)")
    assert all(0.42 * full <= w <= 0.5 * full for w in widths), (full, widths)
    assert len(set(_row_tops(in_view))) == 3  # 2 a row
    page.set_viewport_size({"width": 1440, "height": 900})

    # Rename: the heading and the chip follow; a taken or empty name is refused in place
    view.get_by_role("button", name="Rename").click()
    name = page.get_by_label("New name")
    expect(name).to_have_value("Studio")
    name.fill("Studio shots")
    page.get_by_role("button", name="Save name").click()
    expect(view.get_by_test_id("collection-name")).to_have_text("Studio shots")
    expect(page.get_by_role("button", name="Open collection Studio shots")).to_be_visible()
    expect(page.get_by_label("New name")).to_have_count(0)

    # Remove one image: it leaves the collection, not the gallery
    view.get_by_role("button", name="Remove from collection").first.click()
    expect(in_view).to_have_count(5)
    expect(page.get_by_text("Removed from “Studio shots”")).to_be_visible()
    page.reload()
    page.get_by_role("button", name="Open collection Studio shots").click()
    expect(
        page.get_by_test_id("collection-view").locator("[data-testid=image-card]")
    ).to_have_count(5)

    # Delete the collection, after a confirmation: the images stay
    page.get_by_test_id("collection-view").get_by_role("button", name="Delete collection").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("its images stay in your gallery")
    dialog.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("collection-view")).to_have_count(0)
    expect(page.get_by_role("button", name="Open collection Studio shots")).to_have_count(0)
    expect(cards(page)).to_have_count(6)
    page.reload()
    expect(page.get_by_role("button", name="Open collection Studio shots")).to_have_count(0)
    expect(cards(page)).to_have_count(6)


# Records what the page does with the Notification API (the real one still decides).
RECORD_NOTICES = """
window.__asked = 0; window.__notices = [];
const RealNotification = window.Notification;
if (RealNotification) {
  window.Notification = class {
    constructor(title) { window.__notices.push(title); }
    static get permission() { return RealNotification.permission; }
    static requestPermission() { window.__asked += 1; return RealNotification.requestPermission(); }
  };
}
"""


def test_browser_notifications_are_asked_for_only_after_a_click(page: Page) -> None:
    page.context.add_init_script(RECORD_NOTICES)
    page.context.grant_permissions(["notifications"])
    register(page, unique_email("notices"))
    generate(page, "A paper boat on a pond")
    page.goto("/account")
    notices = page.get_by_test_id("browser-notices")
    expect(notices).to_contain_text("Get a notification")
    page.wait_for_timeout(500)
    assert page.evaluate("window.__asked") == 0  # never on load

    page.get_by_role("button", name="Notify me in this browser").click()
    expect(notices).to_contain_text("On in this browser")
    assert page.evaluate("window.__asked") == 1
    page.reload()
    expect(notices).to_contain_text("On in this browser")
    assert page.evaluate("window.__asked") == 0

    # In the background, a finished image is one notification
    page.goto("/")
    expect(cards(page)).to_have_count(1)
    page.get_by_role("textbox", name="Prompt").fill("A paper plane over a field")
    page.evaluate(  # the tab goes to the background, as a browser tells the page
        "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
        " document.hasFocus = () => false;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function("window.__notices.length > 0", timeout=30_000)
    assert page.evaluate("window.__notices") == ["✓ 1 ready · imagegen"]

    # Turned off: no more
    page.goto("/account")
    page.get_by_role("button", name="Turn off").click()
    expect(notices).to_contain_text("Get a notification")
