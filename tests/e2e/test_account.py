"""Account lifecycle in the browser: forgot → reset → sign in; revoking a session from
another browser signs that browser out on its next action; the verification banner."""

import email
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from imagegen import routes
from tests.e2e.test_auth_flow import PASSWORD, register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def latest_mail_to(outbox: Path, address: str, subject: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            if message["To"] == address and message["Subject"] == subject:
                return message.get_payload(decode=True).decode()
        time.sleep(0.1)
    pytest.fail(f"no {subject!r} mail to {address}")


def test_forgot_reset_then_sign_in_with_the_new_password(page: Page, live_data_dir: Path) -> None:
    address = unique_email("forgetful")
    register(page, address)
    page.get_by_role("button", name="Sign out").click()

    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    page.get_by_label("Email").fill(address)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account exists for that email")

    body = latest_mail_to(live_data_dir / "outbox", address, "Reset your imagegen password")
    link = re.search(r"http://\S+/reset-password\?token=[\w-]+", body).group(0)
    page.goto(link)
    page.get_by_label("New password").fill("short")
    page.get_by_label("New password").evaluate("el => el.removeAttribute('minlength')")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("8 to 128")
    page.get_by_label("New password").fill("a-much-better-password")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was changed")

    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    page.get_by_label("Password").fill("a-much-better-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Prompt")).to_be_visible()

    # The used link does not work twice.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("third-password-here")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("alert")).to_contain_text("already been used")


def test_revoking_a_session_signs_that_browser_out_on_its_next_action(
    page: Page, browser: Browser, live_server: str
) -> None:
    address = unique_email("twodevices")
    register(page, address)
    other = browser.new_context(
        base_url=live_server, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
    )
    laptop = other.new_page()
    laptop.goto(routes.LOGIN)
    laptop.get_by_label("Email").fill(address)
    laptop.get_by_label("Password").fill(PASSWORD)
    laptop.get_by_role("button", name="Sign in").click()
    expect(laptop.get_by_label("Prompt")).to_be_visible()

    page.goto(routes.ACCOUNT)
    rows = page.locator("#sessions tbody tr")
    expect(rows).to_have_count(2)
    firefox_row = rows.filter(has_text="Firefox on Linux")
    expect(firefox_row).to_have_count(1)
    firefox_row.get_by_role("button", name="Sign out this session").click()
    expect(rows).to_have_count(1)

    # The laptop's next action (a generation) finds the session gone and goes to sign-in.
    laptop.get_by_label("Prompt").fill("a cat on a laptop")
    laptop.get_by_role("button", name="Generate").click()
    expect(laptop).to_have_url(re.compile(r"/login/?$"))
    other.close()


def test_new_account_sees_the_verification_banner_until_verified(
    page: Page, live_data_dir: Path
) -> None:
    address = unique_email("verify")
    register(page, address)
    expect(page.get_by_text("Please confirm your email")).to_be_visible()
    body = latest_mail_to(live_data_dir / "outbox", address, "Confirm your email for imagegen")
    page.goto(re.search(r"http://\S+/api/auth/verify-email\?token=[\w-]+", body).group(0))
    expect(page.get_by_text("Thanks, your email address is confirmed.")).to_be_visible()
    expect(page.get_by_text("Please confirm your email")).to_have_count(0)


def test_continue_with_github_signs_in_through_the_provider(page: Page, oauth_standin) -> None:
    from tests.standins.oauth_server import Person

    oauth_standin.deny = False
    oauth_standin.person = Person(
        id="9001", name="Octo Browser", email=unique_email("octo"), verified=True
    )
    page.goto(routes.LOGIN)
    page.get_by_role("button", name="Continue with GitHub").click()
    expect(page.get_by_label("Prompt")).to_be_visible()
    expect(page.get_by_text("Octo Browser", exact=True)).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == routes.SESSION_COOKIE)
    assert cookie["httpOnly"] is True


def test_denied_consent_lands_on_login_with_an_alert(page: Page, oauth_standin) -> None:
    oauth_standin.deny = True
    try:
        page.goto(routes.REGISTER)
        page.get_by_role("button", name="Continue with Google").click()
        expect(page.get_by_role("alert")).to_have_text("Sign-in with Google was cancelled.")
    finally:
        oauth_standin.deny = False


def test_api_key_shown_once_works_with_the_openai_client_and_revokes(
    page: Page, live_server: str
) -> None:
    import openai

    register(page, unique_email("apikey"))
    gallery = page.context.new_page()
    gallery.goto("/")
    expect(gallery.get_by_text("No images yet")).to_be_visible()
    page.goto("/account")
    expect(page.get_by_text("No keys yet.")).to_be_visible()
    page.get_by_label("Key name").fill("my script")
    page.get_by_role("button", name="Create key").click()
    shown = page.locator("#new-api-key")
    expect(shown).to_have_text(re.compile(r"^ig_[0-9a-f]{8}_"))
    key = shown.inner_text()
    row = page.locator("[data-api-key]")
    expect(row).to_contain_text("my script")
    expect(row).to_contain_text(key[:11])
    expect(row).to_contain_text("never")
    page.get_by_role("button", name="Done").click()
    expect(shown).to_have_count(0)
    page.reload()
    expect(row).to_contain_text("my script")
    assert key not in page.content()  # never shown again

    # The official client, pointed at our API: the image shows up live in the open gallery.
    client = openai.OpenAI(api_key=key, base_url=f"{live_server}/api/v1", max_retries=0)
    result = client.images.generate(prompt="Made through the API", quality="low")
    assert result.data[0].url.endswith(".png")
    expect(gallery.get_by_role("img", name="Made through the API")).to_be_visible()
    page.reload()
    expect(row).not_to_contain_text("never")  # last used

    page.get_by_role("button", name="Revoke key my script").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Scripts using this key stop working")
    confirm.get_by_role("button", name="Keep").click()  # asked first: nothing happened yet
    expect(row).to_contain_text("my script")
    page.get_by_role("button", name="Revoke key my script").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("No keys yet.")).to_be_visible()
    with pytest.raises(openai.AuthenticationError):
        client.images.generate(prompt="after revoking")


def test_deleting_the_account_says_so_on_the_sign_in_page(page: Page) -> None:
    email_address = unique_email("leaving")
    register(page, email_address)
    page.goto(routes.ACCOUNT)
    page.get_by_label("Type your email to confirm").fill(email_address)
    page.get_by_role("button", name="Delete account").click()
    expect(page).to_have_url(re.compile(r"/login/?\?flash="))
    expect(page.get_by_role("status")).to_have_text("Your account and all its images were deleted.")


# Nothing wider than the screen: no sideways scrolling of the page.
FITS = "document.documentElement.scrollWidth <= window.innerWidth"


def test_account_page_fits_a_phone(browser: Browser, live_server: str) -> None:
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    page = phone.new_page()
    register(page, unique_email("pocket"))
    page.goto(routes.ACCOUNT)
    devices = page.locator("#sessions")
    expect(devices.get_by_role("button", name="Sign out this session")).to_be_visible()
    expect(devices).to_contain_text("this device")
    assert page.evaluate(FITS), page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    # The sign-out button of the device is on screen, not past its right edge
    box = devices.get_by_role("button", name="Sign out this session").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390
    phone.close()
