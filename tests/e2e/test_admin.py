"""/admin in the browser: a normal user gets 404 (and no Admin link); an admin made with
`imagegen admin grant` changes a user's plan, grants credits and disables the account, and
each action shows in the audit log."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from imagegen import cli
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e


def test_admin_console(page: Page, browser: Browser, live_server: str) -> None:
    # A normal user: no link, and the route does not exist for them.
    member_email = unique_email("member")
    member = browser.new_context(base_url=live_server).new_page()
    register(member, member_email, name="Member Mo")
    expect(member.get_by_role("link", name="Billing")).to_be_visible()
    expect(member.get_by_role("link", name="Admin")).to_have_count(0)
    assert member.goto("/admin").status == 404
    expect(member.get_by_text("There is no page here.")).to_be_visible()

    # An admin, made from the command line.
    boss_email = unique_email("boss")
    register(page, boss_email, name="Boss Bea")
    assert cli.run_command(["admin", "grant", boss_email]) == 0
    page.reload()
    page.get_by_role("link", name="Admin").first.click()
    expect(page).to_have_url(re.compile(r"/admin/?$"))
    expect(page.get_by_text("Signups per day (by current plan)")).to_be_visible()
    page.get_by_label("Search users").fill(member_email)
    row = page.locator(f"[data-user='{member_email}']")
    expect(row).to_have_count(1)
    expect(page.locator("[data-user]")).to_have_count(1)

    # Change the plan, grant credits, disable.
    row.get_by_label(f"Plan of {member_email}").click()
    page.get_by_role("option", name="Gold").click()
    page.mouse.move(0, 0)
    expect(page.get_by_text("Plan set to Gold.")).to_be_visible()
    expect(page.get_by_text("Plan set to Gold.")).to_be_hidden(timeout=10_000)  # uncovers the row
    row.get_by_label(f"Credits to grant {member_email}").fill("7")
    row.get_by_role("button", name=f"Grant credits to {member_email}").click()
    page.mouse.move(0, 0)  # a toast under the pointer keeps itself open (Sonner pauses on hover)
    expect(page.get_by_text("Granted 7 credits.")).to_be_visible()
    expect(page.get_by_text("Granted 7 credits.")).to_be_hidden(timeout=10_000)  # uncovers the row
    row.get_by_role("button", name=f"Disable {member_email}").click()
    expect(row.get_by_text("disabled")).to_be_visible()

    # The member is signed out at their next action.
    member.goto("/")
    expect(member).to_have_url(re.compile(r"/login/?$"))

    # Every action is in the audit log.
    page.get_by_role("tab", name="Audit log").click()
    for action in ("user.plan", "user.credits", "user.disable", "role.admin"):
        expect(page.get_by_role("cell", name=action, exact=True).first).to_be_visible()
    member.context.close()


def test_admin_tabs_and_tables_fit_a_phone(browser: Browser, live_server: str) -> None:
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    page = phone.new_page()
    email = unique_email("pocketboss")
    register(page, email, name="Pocket Boss")
    assert cli.main(["admin", "grant", email]) == 0
    page.goto("/admin")
    expect(page.get_by_text("Signups per day (by current plan)")).to_be_visible()
    for tab in ("Users", "Recent jobs", "Failures", "Webhooks", "Audit log"):
        box = page.get_by_role("tab", name=tab).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (tab, box)
    page.get_by_role("tab", name="Audit log").click()
    expect(page.get_by_role("cell", name="role.admin", exact=True).first).to_be_attached()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("tab", name="Users").click()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.close()
