"""Split origins: static files at APP_URL, the backend at API_URL. Everything the browser
sends to the backend is built from API_URL, the backend's redirects to pages go back to
APP_URL, and the session cookie can carry a Domain. With one origin nothing changes."""

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.http import urls
from imagegen.http.app import build_api
from imagegen.http.middleware import frontend_redirects
from imagegen.settings import get_settings, load_settings
from tests.fixtures.users import DEFAULT_PASSWORD, unique_email

APP = "http://app.example.test"
API = "http://api.example.test"


@pytest.fixture
def split(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APP_URL", APP)
    monkeypatch.setenv("API_URL", API + "/")
    monkeypatch.setenv("COOKIE_DOMAIN", "example.test")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_reflex_api_url_is_read_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_URL", raising=False)
    monkeypatch.setenv("REFLEX_API_URL", API)
    settings = load_settings(app_url=APP)
    assert settings.backend_url == API and settings.split_origins
    monkeypatch.delenv("REFLEX_API_URL")
    one = load_settings(app_url=APP)
    assert one.backend_url == APP and not one.split_origins


def test_one_origin_keeps_relative_paths() -> None:
    assert not get_settings().split_origins
    assert urls.backend(routes.API_LOGIN) == routes.API_LOGIN
    assert urls.frontend(routes.HOME) == routes.HOME


@pytest.mark.usefixtures("split")
def test_split_urls_point_at_each_side() -> None:
    assert urls.backend(routes.API_LOGIN) == f"{API}/api/auth/login"
    assert urls.backend("/api/images/file/u/i.png") == f"{API}/api/images/file/u/i.png"
    assert urls.absolute_backend(routes.share_path("t")) == f"{API}/s/t"
    assert urls.frontend("/login?flash=x") == f"{APP}/login?flash=x"
    assert urls.frontend("https://elsewhere.example/x") == "https://elsewhere.example/x"


@pytest.mark.usefixtures("split")
def test_backend_redirects_to_pages_go_to_the_app() -> None:
    app = Starlette(
        routes=[
            Route("/page", lambda _: RedirectResponse("/account?flash=1", status_code=303)),
            Route("/file", lambda _: RedirectResponse("/api/images/file/x", status_code=302)),
            Route("/away", lambda _: RedirectResponse("https://cdn.example/x", status_code=302)),
        ]
    )
    client = TestClient(frontend_redirects(app), follow_redirects=False)
    assert client.get("/page").headers["location"] == f"{APP}/account?flash=1"
    assert client.get("/file").headers["location"] == "/api/images/file/x"
    assert client.get("/away").headers["location"] == "https://cdn.example/x"


@pytest.mark.usefixtures("split", "engine", "redis_client")
def test_register_from_the_app_signs_in_on_the_api_host_and_returns_to_the_app() -> None:
    client = TestClient(frontend_redirects(build_api()), base_url=API, follow_redirects=False)
    response = client.post(
        routes.API_REGISTER,
        data={"name": "Ada", "email": unique_email("split"), "password": DEFAULT_PASSWORD},
        headers={"Origin": APP},
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{APP}/"
    cookie = response.headers["set-cookie"]
    assert "Domain=example.test" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie

    # Another site posting the same form is still refused.
    refused = client.post(routes.API_LOGOUT, headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403
    response = client.post(routes.API_LOGOUT, headers={"Origin": APP})
    assert response.headers["location"] == f"{APP}/login"
    assert "Domain=example.test" in response.headers["set-cookie"]


@pytest.mark.usefixtures("split", "engine", "redis_client")
def test_oauth_callback_and_email_links_use_the_backend_url() -> None:
    from imagegen.db import session_scope
    from imagegen.http import oauth
    from imagegen.services import accounts
    from tests.fixtures.users import create_user

    assert oauth._oauth_redirect_uri("github") == f"{API}/api/auth/oauth/github/callback"
    with session_scope() as db:
        user = create_user(db)
        mail = accounts.verification_email(
            session=db, user=user, api_url=get_settings().backend_url
        )
    assert f"{API}/api/auth/verify-email?token=" in mail.text
