"""Nothing a person types is replaced by a late state update, on a slow phone too: the auth
forms are typed into while the page still hydrates."""

import pytest
from playwright.sync_api import Page, expect

from imagegen import routes
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e

TRIES = 2


def slow_phone(page: Page) -> None:
    """4x CPU throttling and 150 ms of latency (Chrome DevTools' slow-phone profile)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 150, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})


def type_at_once(page: Page, path: str, label: str, typed: str) -> None:
    """Open `path` and type into the field as soon as it exists, then let the page settle."""
    page.goto(path, wait_until="commit")
    page.get_by_label(label, exact=True).press_sequentially(typed)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)  # hydration and on_load are over by now
    expect(page.get_by_label(label, exact=True)).to_have_value(typed)


@pytest.mark.parametrize(
    ("path", "label"),
    [
        (routes.LOGIN, "Email"),
        (routes.REGISTER, "Email"),
        (routes.REGISTER, "Name"),
        (routes.FORGOT_PASSWORD, "Email"),
    ],
)
def test_typing_while_an_auth_page_loads_is_kept(page: Page, path: str, label: str) -> None:
    slow_phone(page)
    for attempt in range(TRIES):
        # The tab last showed the form filled from its URL (as after a failed sign-in)...
        page.goto(f"{path}?email=a@b.com&name=Someone")
        expect(page.get_by_label(label, exact=True)).not_to_have_value("")
        # ...then the plain page is opened and typed into at once
        typed = "me@example.org" if label == "Email" else f"Grace Hopper {attempt}"
        type_at_once(page, path, label, typed)


def test_forgot_password_keeps_the_address_of_the_failed_sign_in(page: Page) -> None:
    slow_phone(page)
    email = unique_email("forgetful")
    page.goto(routes.LOGIN)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    expect(page.get_by_label("Password")).to_be_focused()  # the address is kept: retype this
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("button", name="Send reset link")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(1500)
    expect(page.get_by_label("Email")).to_have_value(email)


def test_typing_in_the_prompt_box_while_the_home_page_loads_is_kept(page: Page) -> None:
    register(page, unique_email("eager"))
    expect(page.get_by_role("textbox", name="Prompt")).to_be_editable()
    slow_phone(page)
    for attempt in range(TRIES):
        typed = f"A lighthouse at dawn, take {attempt}"
        type_at_once(page, routes.HOME, "Prompt", typed)
        expect(page.get_by_text(f"{len(typed)} / 4,000")).to_be_visible()
