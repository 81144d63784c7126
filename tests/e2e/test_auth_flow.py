"""The whole email/password journey in a real browser against the production build."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from imagegen import routes
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e

PASSWORD = "crunchy-armchair-42"


def expect_signed_in(page: Page, name: str = "Ada Lovelace") -> None:
    expect(page.get_by_label("Prompt")).to_be_visible()
    expect(page.get_by_text(name, exact=True)).to_be_visible()


def register(page: Page, email: str, name: str = "Ada Lovelace", *, lands: bool = True) -> None:
    """Register through the form; unless `lands=False`, return once the home page (prompt box)
    shows, so a reload or a new tab right after never races the redirect."""
    page.goto(routes.REGISTER)
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    if lands:
        page.wait_for_url(lambda url: url.split("?")[0].endswith("/") and "/register" not in url)
        expect(page.get_by_label("Prompt")).to_be_visible(timeout=30_000)


def test_register_sign_out_sign_in_reload(page: Page, live_server: str) -> None:
    email = unique_email("ada")
    # Register → land on the home page, signed in.
    register(page, email)
    expect(page).to_have_url(f"{live_server}/")
    expect_signed_in(page)
    expect(page.get_by_text("Free", exact=True)).to_be_visible()

    # The session cookie is HttpOnly, SameSite=Lax, and invisible to JavaScript.
    cookie = next(c for c in page.context.cookies() if c["name"] == routes.SESSION_COOKIE)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert routes.SESSION_COOKIE not in page.evaluate("document.cookie")

    # A signed-in user who opens /login goes home.
    page.goto(routes.LOGIN)
    expect(page).to_have_url(f"{live_server}/")

    # Sign out → login page; the cookie is gone.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login/?$"))
    assert not [c for c in page.context.cookies() if c["name"] == routes.SESSION_COOKIE]

    # Wrong password → the alert, and the email is kept.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not-my-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Invalid email or password.")
    expect(page.get_by_label("Email")).to_have_value(email)

    # Right password → home; a reload stays signed in.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect_signed_in(page)
    page.reload()
    expect_signed_in(page)
    expect(page).to_have_url(f"{live_server}/")


def test_home_without_cookie_redirects_to_login(page: Page, live_server: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/?$"))
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    # The prerendered home page carries no private content.
    html = httpx.get(f"{live_server}/").text
    assert "credits left" not in html and "Sign out" not in html


def test_forged_cookie_is_not_a_session(page: Page, live_server: str) -> None:
    page.context.add_cookies(
        [{"name": routes.SESSION_COOKIE, "value": "forged", "url": live_server}]
    )
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/login/?$"))


def test_register_with_taken_email_says_so_and_keeps_fields(page: Page) -> None:
    email = unique_email("taken")
    register(page, email)
    page.get_by_role("button", name="Sign out").click()
    register(page, email, name="Someone Else", lands=False)
    expect(page.get_by_role("alert")).to_contain_text("already exists")
    expect(page.get_by_label("Name")).to_have_value("Someone Else")
    expect(page.get_by_label("Email")).to_have_value(email)
    # The way out is a link that keeps the address
    page.get_by_role("alert").get_by_role("link", name="Sign in instead.").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(email)


def test_navigation_and_pages_are_reachable(page: Page) -> None:
    register(page, unique_email("nav"))
    page.get_by_role("link", name="Account").first.click()
    expect(page.get_by_text("Profile")).to_be_visible()
    page.get_by_role("link", name="Billing").first.click()
    expect(page.get_by_role("button", name="Upgrade to Pro")).to_be_visible()


def test_cors_only_allows_app_url(live_server: str) -> None:
    evil = httpx.options(
        f"{live_server}/api/health",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert evil.headers.get("access-control-allow-origin") != "https://evil.example"
    ours = httpx.options(
        f"{live_server}/api/health",
        headers={"Origin": live_server, "Access-Control-Request-Method": "GET"},
    )
    assert ours.headers.get("access-control-allow-origin") == live_server


def test_health_endpoint_on_the_running_app(live_server: str) -> None:
    response = httpx.get(f"{live_server}/api/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"
