"""Generation in the browser: live cards in every tab of the user (and no one else's),
delete with confirmation, out of credits, bad prompts."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from imagegen.db import session_scope
from imagegen.services.credits import usage_key
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def credits_left(page: Page) -> int:
    return int(
        re.search(r"(\d+) credits left", page.locator("#credits-left").inner_text()).group(1)
    )


def test_image_appears_live_in_every_tab_of_the_user_only(
    page: Page, browser: Browser, live_server: str
) -> None:
    # Given Ada with two tabs, and Bob in another browser
    register(page, unique_email("ada"))
    expect(page.get_by_text("10 credits left")).to_be_visible()
    second_tab = page.context.new_page()
    second_tab.goto("/")
    expect(second_tab.get_by_text("No images yet")).to_be_visible()
    bob_context = browser.new_context(base_url=live_server)
    bob = bob_context.new_page()
    register(bob, unique_email("bob"), name="Bob")
    expect(bob.get_by_text("No images yet")).to_be_visible()

    # When Ada generates
    prompt = "A lighthouse on a cliff at dawn, oil painting"
    page.get_by_label("Prompt").fill(prompt)
    expect(page.get_by_text("Costs 1 credit")).to_be_visible()
    page.get_by_role("button", name="Generate").click()

    # Then a queued/generating card shows at once, then the image, without reload, in both tabs
    expect(page.locator("[data-testid=image-card]").first).to_be_visible(timeout=5000)
    for tab in (page, second_tab):
        expect(tab.get_by_role("img", name=prompt)).to_be_visible(timeout=30_000)
        expect(tab.get_by_text("9 credits left")).to_be_visible()
    # The picture really loads (the thumbnail is made on first request).
    page.wait_for_function(
        "alt => [...document.images].some(i => i.alt === alt && i.complete && i.naturalWidth > 0)",
        arg=prompt,
    )
    # And Bob's tab did not change
    expect(bob.get_by_text("No images yet")).to_be_visible()
    assert bob.locator("[data-testid=image-card]").count() == 0
    expect(bob.get_by_text("10 credits left")).to_be_visible()
    bob_context.close()

    # The image file is the owner's only
    src = page.get_by_role("img", name=prompt).get_attribute("src")
    assert page.request.get(src).status == 200
    other = browser.new_context(base_url=live_server)
    assert other.request.get(src).status == 404
    other.close()

    # Download gives the PNG as a file; Copy prompt confirms
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    assert download.value.suggested_filename.endswith(".png")
    page.get_by_role("button", name="More actions").click()  # the card's less used actions
    page.get_by_role("menuitem", name="Copy prompt").click()
    expect(page.get_by_text("Prompt copied")).to_be_visible()

    # The account page lists the debit
    second_tab.goto("/account")
    expect(second_tab.locator("#credit-history table")).to_contain_text("Image generation")
    expect(second_tab.locator("#credit-history table")).to_contain_text("-1")
    second_tab.goto("/")

    # Delete asks first, then removes it from both tabs
    page.get_by_role("button", name="Delete image").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    for tab in (page, second_tab):
        expect(tab.get_by_role("img", name=prompt)).to_have_count(0)
        expect(tab.get_by_text("No images yet")).to_be_visible()
    assert page.request.get(src).status == 404


def test_a_new_card_on_top_leaves_the_other_cards_elements_alone(page: Page) -> None:
    # Cards are keyed by their image, not their place: the picture already shown keeps its
    # element (no src swapped under it, no re-decode) when a newer card arrives above it.
    register(page, unique_email("keyed"))
    first = "A red kite over a green field"
    page.get_by_label("Prompt").fill(first)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("img", name=first)).to_be_visible(timeout=30_000)
    card = page.locator("[data-testid=image-card]").first
    image_id = card.get_attribute("data-image-id")
    card.evaluate("el => { el.__seen = true; el.querySelector('img').__seen = true; }")

    page.get_by_label("Prompt").fill("A blue boat on a grey sea")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("[data-testid=image-card]")).to_have_count(2)
    expect(page.locator("[data-testid=image-card]").first).not_to_have_attribute(
        "data-image-id", image_id or ""
    )
    old = page.locator(f"[data-testid=image-card][data-image-id='{image_id}']")
    assert old.evaluate("el => el.__seen === true && el.querySelector('img').__seen === true")
    new = page.locator("[data-testid=image-card]").first
    assert new.evaluate("el => el.__seen === undefined")


def test_out_of_credits_says_when_and_links_to_billing(page: Page) -> None:
    email = unique_email("broke")
    register(page, email)
    expect(page.get_by_text("10 credits left")).to_be_visible()
    with session_scope() as db:
        user_id = db.execute(
            text('SELECT id FROM "user" WHERE email = :e'), {"e": email}
        ).scalar_one()
        db.execute(
            text(
                "INSERT INTO usage (key, points, expire) VALUES (:k, 10, now() + interval '1 day')"
            ),
            {"k": usage_key(user_id)},
        )
    page.get_by_label("Prompt").fill("one more, please")
    page.get_by_role("button", name="Generate").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Out of credits")
    expect(alert).to_contain_text("reset")
    expect(alert.get_by_role("link", name=re.compile("Billing"))).to_have_attribute(
        "href", "/billing"
    )
    expect(page.locator("[data-testid=image-card]")).to_have_count(0)
    expect(page.get_by_label("Prompt")).to_have_value("one more, please")


def test_bad_prompts_get_a_clear_message_and_lose_nothing(page: Page) -> None:
    register(page, unique_email("typo"))
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text("the prompt is empty")
    long_prompt = "a" * 10_000
    page.get_by_label("Prompt").fill(long_prompt)
    expect(page.get_by_text("10,000 / 4,000")).to_be_visible()
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "The prompt is 10,000 characters; the limit is 4,000."
    )
    expect(page.get_by_label("Prompt")).to_have_value(long_prompt)
    expect(page.get_by_text("10 credits left")).to_be_visible()


def test_share_link_is_public_until_sharing_stops(page: Page, browser: Browser) -> None:
    register(page, unique_email("sharer"))
    prompt = "A paper boat on a puddle, shared with friends"
    page.get_by_role("textbox", name="Prompt").fill(prompt)
    page.get_by_role("button", name="Generate").click()
    card = page.locator("[data-testid=image-card][data-status=completed]")
    expect(card).to_have_count(1, timeout=30_000)
    expect(card.get_by_test_id("shared")).to_have_count(0)  # private by default
    card.get_by_role("button", name="More actions").click()
    page.get_by_role("menuitem", name="Share").click()
    link = card.get_by_role("link", name="Public link")
    expect(link).to_be_visible()
    url = link.get_attribute("href")
    assert re.search(r"/s/[A-Za-z0-9_-]{32}$", url)

    stranger = browser.new_context()  # not signed in
    public = stranger.new_page()
    public.goto(url)
    expect(public.get_by_text(prompt)).to_be_visible()
    public.wait_for_function(
        "() => [...document.images].some(i => i.complete && i.naturalWidth > 0)"
    )
    assert (
        public.locator('meta[property="og:image"]').get_attribute("content").endswith("/image.png")
    )

    card.get_by_role("button", name="Stop sharing").click()
    expect(card.get_by_test_id("shared")).to_have_count(0)
    card.get_by_role("button", name="More actions").click()
    expect(page.get_by_role("menuitem", name="Share")).to_be_visible()  # can share again
    page.keyboard.press("Escape")
    assert public.goto(url).status == 404
    expect(public.get_by_text("This link does not work")).to_be_visible()
    stranger.close()
