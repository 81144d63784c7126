"""Billing in the browser: a signed webhook changes the plan badge live; checkout and portal
redirect to the URLs the real polar-sdk got from the Polar stand-in."""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from imagegen import routes
from imagegen.db import session_scope
from tests.e2e.test_auth_flow import register
from tests.fixtures.polar_events import order_paid_event, sign
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def _user_id(email: str) -> str:
    with session_scope() as db:
        return str(
            db.execute(text('SELECT id FROM "user" WHERE email = :e'), {"e": email}).scalar_one()
        )


def test_order_paid_webhook_turns_the_badge_pro_without_reload(
    page: Page, live_server: str
) -> None:
    email = unique_email("upgrader")
    register(page, email)
    badge = page.locator("#plan-badge")
    expect(badge).to_have_text("Free")
    expect(page.get_by_text("10 credits left")).to_be_visible()
    second_tab = page.context.new_page()
    second_tab.goto(routes.BILLING)
    expect(second_tab.locator("[data-plan=free_user]").get_by_text("Current plan")).to_be_visible()

    body = order_paid_event(external_id=_user_id(email), email=email, product_id="prod_pro_test")
    raw, headers = sign(body, "whsec_imagegen_test_secret")
    response = httpx.post(f"{live_server}{routes.API_POLAR_WEBHOOK}", content=raw, headers=headers)
    assert response.status_code == 200, response.text

    expect(badge).to_have_text("Pro", timeout=10_000)
    expect(page.get_by_text("100 credits left")).to_be_visible()
    expect(second_tab.locator("[data-plan=pro_user]").get_by_text("Current plan")).to_be_visible()
    expect(second_tab.get_by_role("button", name="Manage billing")).to_be_visible()
    assert page.url.rstrip("/") == live_server  # no navigation happened


def test_forged_webhook_changes_nothing(page: Page, live_server: str) -> None:
    email = unique_email("victim")
    register(page, email)
    body = order_paid_event(external_id=_user_id(email), email=email, product_id="prod_gold_test")
    raw, headers = sign(body, "whsec_guessed_secret")
    assert (
        httpx.post(
            f"{live_server}{routes.API_POLAR_WEBHOOK}", content=raw, headers=headers
        ).status_code
        == 403
    )
    page.reload()
    expect(page.locator("#plan-badge")).to_have_text("Free")
    expect(page.get_by_text(re.compile(r"^10 credits left$"))).to_be_visible()


def test_upgrade_redirects_to_the_polar_checkout(page: Page, polar_standin) -> None:
    email = unique_email("buyer")
    register(page, email)
    page.goto(routes.BILLING)
    page.get_by_role("button", name="Upgrade to Gold").click()
    page.wait_for_url(re.compile(re.escape(polar_standin.base_url) + r"/checkout/"))
    sent = [r for r in polar_standin.requests if "checkout" in r["path"]][-1]
    assert sent["json"]["products"] == ["prod_gold_test"]
    assert sent["json"]["external_customer_id"] == _user_id(email)
    assert sent["json"]["customer_email"] == email
    assert sent["json"]["success_url"].endswith("/billing?checkout=success")


def test_manage_billing_redirects_to_the_customer_portal(
    page: Page, live_server: str, polar_standin
) -> None:
    email = unique_email("subscriber")
    register(page, email)
    body = order_paid_event(external_id=_user_id(email), email=email, product_id="prod_pro_test")
    raw, headers = sign(body, "whsec_imagegen_test_secret")
    httpx.post(
        f"{live_server}{routes.API_POLAR_WEBHOOK}", content=raw, headers=headers
    ).raise_for_status()
    page.goto(routes.BILLING)
    page.get_by_role("button", name="Manage billing").click()
    page.wait_for_url(re.compile(re.escape(polar_standin.base_url) + r"/portal/"))
    sent = [r for r in polar_standin.requests if "customer-session" in r["path"]][-1]
    assert sent["json"]["external_customer_id"] == _user_id(email)
