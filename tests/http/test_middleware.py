"""The session cookie follows the session row's sliding expiry on full page loads."""

from datetime import timedelta

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.middleware import session_cookie_refresh
from imagegen.services import auth
from tests.fixtures.users import create_user

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture
def client() -> TestClient:
    inner = Starlette(routes=[Route("/{path:path}", lambda r: PlainTextResponse("page"))])
    return TestClient(session_cookie_refresh(inner), base_url="http://localhost:3000")


def _session(days_old: float = 0) -> str:
    with session_scope() as db:
        user = create_user(db)
        token, row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        db.execute(
            text(
                "UPDATE session SET expires_at = expires_at - make_interval(secs => :s) WHERE id = :id"
            ),
            {"s": timedelta(days=days_old).total_seconds(), "id": row.id},
        )
    return token


def test_page_load_after_a_day_slides_the_cookie_to_seven_days(client: TestClient) -> None:
    token = _session(days_old=2)
    response = client.get(
        "/", headers={"accept": "text/html", "cookie": f"{routes.SESSION_COOKIE}={token}"}
    )
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    max_age = int(cookie.split("Max-Age=")[1].split(";")[0])
    assert 7 * 86400 - 60 < max_age <= 7 * 86400


def test_dead_cookie_is_cleared(client: TestClient) -> None:
    response = client.get(
        "/account", headers={"accept": "text/html", "cookie": f"{routes.SESSION_COOKIE}=forged"}
    )
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_assets_and_api_calls_are_left_alone(client: TestClient) -> None:
    token = _session()
    for path, accept in (
        ("/api/health", "text/html"),
        ("/assets/app.js", "*/*"),
        ("/", "application/json"),
    ):
        response = client.get(
            path, headers={"accept": accept, "cookie": f"{routes.SESSION_COOKIE}={token}"}
        )
        assert "set-cookie" not in response.headers, path


def test_csp_allows_the_imagekit_endpoint_and_our_socket_origin() -> None:
    from imagegen.http.middleware import content_security_policy
    from imagegen.settings import load_settings

    local = content_security_policy(load_settings(app_url="http://localhost:3000"))
    assert "connect-src 'self' ws://localhost:3000" in local
    assert "img-src 'self' data: blob:;" in local
    hosted = content_security_policy(
        load_settings(
            app_url="https://imagegen.example",
            imagekit_url_endpoint="https://ik.imagekit.io/acme/images",
        )
    )
    assert "connect-src 'self' wss://imagegen.example" in hosted
    assert "img-src 'self' data: blob: https://ik.imagekit.io;" in hosted


def test_security_headers_on_every_response_and_hsts_only_under_https(monkeypatch) -> None:
    from imagegen.http.middleware import security_headers
    from imagegen.settings import get_settings

    inner = Starlette(routes=[Route("/{path:path}", lambda r: PlainTextResponse("page"))])
    plain = TestClient(security_headers(inner)).get("/anything")
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert plain.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in plain.headers["content-security-policy"]
    assert "strict-transport-security" not in plain.headers
    monkeypatch.setenv("APP_URL", "https://imagegen.example")
    get_settings.cache_clear()
    try:
        secure = TestClient(security_headers(inner)).get("/anything")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")


def test_admin_pages_are_404_for_everyone_but_admins() -> None:
    from imagegen.http.middleware import admin_gate

    inner = Starlette(routes=[Route("/{path:path}", lambda r: PlainTextResponse("console"))])
    client = TestClient(admin_gate(inner), base_url="http://localhost:3000")
    with session_scope() as db:
        normal = create_user(db)
        boss = create_user(db)
        boss.role = "admin"
        tokens = {
            who: auth.create_session(session=db, user=u, ip_address=None, user_agent=None)[0]
            for who, u in (("normal", normal), ("admin", boss))
        }
    for path in ("/admin", "/admin/", "/admin/anything"):
        assert client.get(path).status_code == 404  # anonymous
        client.cookies.set(routes.SESSION_COOKIE, tokens["normal"])
        assert client.get(path).status_code == 404
        assert "There is no page here" in client.get(path).text
        client.cookies.set(routes.SESSION_COOKIE, tokens["admin"])
        assert client.get(path).text == "console"
        client.cookies.clear()
    assert client.get("/administrator").text == "console"  # only /admin itself is gated
