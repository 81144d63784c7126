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
from imagegen.middleware import session_cookie_refresh
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
