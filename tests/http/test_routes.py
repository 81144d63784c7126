"""The cookie-setting auth routes and health, through Starlette's test client (real DB/Redis)."""

import pytest
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.services import auth
from tests.fixtures.images import draw, queue_images
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email

pytestmark = pytest.mark.usefixtures("engine", "redis_client")


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)


@pytest.fixture
def registered() -> str:
    email = unique_email()
    with session_scope() as db:
        create_user(db, email=email)
    return email


def _flash(client: TestClient, location: str) -> str:
    from imagegen.redis_client import get_redis
    from imagegen.services import flash

    flash_id = location.split("flash=")[1].split("&")[0]
    return flash.pop(get_redis(), flash_id) or ""


def test_register_sets_httponly_session_cookie(client: TestClient) -> None:
    email = unique_email()
    response = client.post(
        routes.API_REGISTER, data={"name": "Ada", "email": email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{routes.SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=604800" in cookie
    assert "Secure" not in cookie  # APP_URL is http in tests
    token = cookie.split(";")[0].split("=", 1)[1]
    with session_scope() as db:
        signed_in = auth.resolve_session(session=db, token=token)
        assert signed_in is not None and signed_in.user.email == email


def test_register_existing_email_keeps_the_fields(client: TestClient, registered: str) -> None:
    response = client.post(
        routes.API_REGISTER, data={"name": "Ada", "email": registered, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/register?") and "name=Ada" in location
    assert "set-cookie" not in response.headers
    assert _flash(client, location) == "An account with this email already exists. Sign in instead."


def test_login_right_and_wrong_password(client: TestClient, registered: str) -> None:
    wrong = client.post(routes.API_LOGIN, data={"email": registered, "password": "nope-nope"})
    assert wrong.status_code == 303 and wrong.headers["location"].startswith("/login?")
    assert "set-cookie" not in wrong.headers
    assert _flash(client, wrong.headers["location"]) == "Invalid email or password."
    right = client.post(routes.API_LOGIN, data={"email": registered, "password": DEFAULT_PASSWORD})
    assert right.status_code == 303 and right.headers["location"] == "/"
    assert "HttpOnly" in right.headers["set-cookie"]


def test_unknown_email_gets_the_same_message(client: TestClient) -> None:
    response = client.post(
        routes.API_LOGIN, data={"email": unique_email(), "password": "whatever1"}
    )
    assert _flash(client, response.headers["location"]) == "Invalid email or password."


def test_sixth_failure_is_throttled_even_with_the_right_password(
    client: TestClient, registered: str
) -> None:
    for _ in range(5):
        client.post(routes.API_LOGIN, data={"email": registered, "password": "wrong-password"})
    response = client.post(
        routes.API_LOGIN, data={"email": registered, "password": DEFAULT_PASSWORD}
    )
    assert "set-cookie" not in response.headers
    assert _flash(client, response.headers["location"]).startswith("Too many failed attempts.")


def test_logout_deletes_session_and_cookie(client: TestClient, registered: str) -> None:
    login = client.post(routes.API_LOGIN, data={"email": registered, "password": DEFAULT_PASSWORD})
    token = login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    client.cookies.set(routes.SESSION_COOKIE, token)
    response = client.post(routes.API_LOGOUT)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert 'imagegen_session=""' in response.headers["set-cookie"]
    with session_scope() as db:
        assert auth.resolve_session(session=db, token=token) is None


def test_cross_site_post_is_refused(client: TestClient, registered: str) -> None:
    response = client.post(
        routes.API_LOGIN,
        data={"email": registered, "password": DEFAULT_PASSWORD},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_health_reports_both_engines(client: TestClient) -> None:
    response = client.get(routes.API_HEALTH)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_is_503_when_redis_is_down(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    from imagegen.http import ops

    monkeypatch.setattr(ops, "get_redis", lambda: redis.Redis(port=1, socket_connect_timeout=0.2))
    response = client.get(routes.API_HEALTH)
    assert response.status_code == 503
    assert response.json()["redis"] == "down" and response.json()["database"] == "ok"


def _signed_in_client(email: str) -> TestClient:
    client = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    login = client.post(routes.API_LOGIN, data={"email": email, "password": DEFAULT_PASSWORD})
    client.cookies.set(
        routes.SESSION_COOKIE, login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    )
    return client


def test_image_file_and_download_are_the_owners_only(tmp_path) -> None:
    from imagegen.models import User
    from imagegen.services import generation

    owner_email, other_email = unique_email("owner"), unique_email("other")
    with session_scope() as db:
        owner = create_user(db, email=owner_email)
        create_user(db, email=other_email)
        (image,) = queue_images(db, owner, prompt="mine")
        image_id = image.id
    outcome = draw(image_id)
    assert outcome == "completed"
    with session_scope() as db:
        url = db.get(generation.Image, image_id).image_url
    owner_client, other_client = _signed_in_client(owner_email), _signed_in_client(other_email)
    anonymous = TestClient(build_api(), base_url="http://localhost:3000")
    download = routes.image_download_url(image_id)

    assert owner_client.get(url).content[:4] == b"\x89PNG"
    assert owner_client.get(f"{url}?w=256").headers["content-type"] == "image/webp"
    response = owner_client.get(download)
    assert response.status_code == 200
    assert (
        response.headers["content-disposition"] == f'attachment; filename="imagegen-{image_id}.png"'
    )
    for client in (other_client, anonymous):
        for path in (url, f"{url}?w=256", download):
            assert client.get(path).status_code == 404, path
    # Ids that are not ids, and keys that try to escape, are simply not found.
    assert owner_client.get("/api/images/not-a-uuid/download").status_code == 404
    assert owner_client.get("/api/images/file/../../etc/passwd").status_code == 404
    with session_scope() as db:
        for email in (owner_email, other_email):
            db.delete(db.exec(generation.select(User).where(User.email == email)).one())


def test_ready_when_engines_answer_and_schema_is_current(client: TestClient) -> None:
    response = client.get("/api/ready")
    assert response.status_code == 200
    assert response.json() == {"ready": True, "database": "ok", "redis": "ok", "schema": "current"}


def test_under_https_the_session_cookie_is_secure_httponly_and_samesite(
    registered: str, monkeypatch
) -> None:
    from imagegen.settings import get_settings

    monkeypatch.setenv("APP_URL", "https://imagegen.example")
    get_settings.cache_clear()
    try:
        client = TestClient(
            build_api(), base_url="https://imagegen.example", follow_redirects=False
        )
        response = client.post(
            routes.API_LOGIN, data={"email": registered, "password": DEFAULT_PASSWORD}
        )
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert response.status_code == 303 and response.headers["location"] == routes.HOME
    attributes = {part.strip().lower() for part in response.headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= attributes


def test_not_ready_while_start_up_work_runs(client: TestClient) -> None:
    from imagegen.http import webhooks

    warm = webhooks.begin_warm_up()  # what the app does at import, before its lifespan runs it
    response = client.get("/api/ready")
    assert response.status_code == 503
    assert response.json()["startup"] == "warming up"
    warm()  # builds polar-sdk's webhook validator, then the process is ready
    assert client.get("/api/ready").status_code == 200
