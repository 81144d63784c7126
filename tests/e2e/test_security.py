"""Security headers that the production build satisfies (no CSP violation on any page),
CORS limited to APP_URL, and hostile prompts shown as text, never run as markup."""

import httpx
import pytest
from playwright.sync_api import Page, expect

from imagegen import routes
from tests.e2e.test_auth_flow import register
from tests.fixtures.users import unique_email

pytestmark = pytest.mark.e2e

# Records every CSP violation and uncaught error the page meets.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
"""

HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize(
    "path", ["/", routes.LOGIN, routes.REGISTER, "/no-such-page", routes.API_HEALTH]
)
def test_every_response_carries_the_security_headers(live_server: str, path: str) -> None:
    response = httpx.get(f"{live_server}{path}", headers={"Accept": "text/html"})
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "script-src 'self' 'unsafe-inline' 'unsafe-eval'" in csp  # no other script origin
    assert "strict-transport-security" not in response.headers  # plain http here
    assert len(response.headers["x-request-id"]) == 32


def test_cors_answers_only_our_own_origin(live_server: str) -> None:
    def preflight(origin: str) -> httpx.Response:
        return httpx.options(
            f"{live_server}{routes.API_HEALTH}",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )

    ours = preflight(live_server)
    assert ours.headers.get("access-control-allow-origin") == live_server
    evil = preflight("https://evil.example")
    assert "access-control-allow-origin" not in evil.headers
    plain = httpx.get(
        f"{live_server}{routes.API_HEALTH}", headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in plain.headers


HOSTILE = [
    '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> a red fox',
    "سلام دنیا، a lighthouse in Persian 🌅🦊",
    "{{7*7}} ${7*7} <b>bold?</b> javascript:alert(1)",
]


def test_pages_run_under_the_csp_and_hostile_prompts_stay_text(page: Page) -> None:
    page.context.add_init_script(WATCH)
    register(page, unique_email("csp"))
    expect(page.get_by_text("No images yet")).to_be_visible()
    for prompt in HOSTILE:
        page.get_by_role("textbox", name="Prompt").fill(prompt)
        page.get_by_role("button", name="Generate").click()
        expect(page.get_by_role("img", name=prompt)).to_be_visible(timeout=30_000)
        # The prompt is on the card as text, exactly as typed.
        expect(page.get_by_text(prompt, exact=True).first).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x], b:text('bold?')").count() == 0
    for path in ("/", routes.BILLING, routes.ACCOUNT):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__violations") == [], path
        assert page.evaluate("window.__errors") == [], path
    # The login page, signed out.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == []
