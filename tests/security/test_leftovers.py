"""Leftovers: thumbnails only in fixed widths, API keys revoked by a password reset, metrics
behind a bearer token, private images revalidated by the browser, and the admin page's static
file gated like /admin."""

import re
import uuid

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import Image, User
from imagegen.services import api_keys, auth
from tests.fixtures.images import draw, queue_images
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def signed_in(email: str) -> TestClient:
    client = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    login = client.post(routes.API_LOGIN, data={"email": email, "password": DEFAULT_PASSWORD})
    client.cookies.set(
        routes.SESSION_COOKIE, login.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    )
    return client


@pytest.fixture
def owner_image() -> tuple[str, uuid.UUID, str]:
    """(owner's email, a completed image of theirs, its file URL), stored locally."""

    email = unique_email("owner")
    with session_scope() as db:
        owner = create_user(db, email=email)
        (image,) = queue_images(db, owner, prompt="mine")
        image_id = image.id
    outcome = draw(image_id)
    assert outcome == "completed"
    with session_scope() as db:
        url = db.get(Image, image_id).image_url
    return email, image_id, url


def test_only_fixed_thumbnail_widths_are_ever_written(owner_image) -> None:
    from imagegen.providers.compose import get_storage

    email, image_id, url = owner_image
    client = signed_in(email)
    for width in [*range(16, 1024, 37), 257, 511, 513, 999999]:
        response = client.get(f"{url}?w={width}")
        assert response.status_code == 200
    with session_scope() as db:
        key = db.get(Image, image_id).storage_key
    stored = get_storage().path_for(key)
    thumbs = sorted(p.name for p in stored.parent.glob(f"{stored.stem}.w*.webp"))
    assert len(thumbs) <= 3, thumbs


def test_private_images_are_revalidated_and_gone_after_sign_out(owner_image) -> None:
    email, _image_id, url = owner_image
    client = signed_in(email)
    first = client.get(url)
    assert first.status_code == 200
    cache = first.headers["cache-control"]
    assert "private" in cache and ("no-cache" in cache or "max-age=" in cache)
    if "no-cache" not in cache:
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) <= 60
    etag = first.headers["etag"]
    again = client.get(url, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    # Signed out, the browser's revalidation gets nothing, not even a 304.
    client.post(routes.API_LOGOUT)
    client.cookies.clear()
    assert client.get(url, headers={"if-none-match": etag}).status_code == 404


def test_a_password_reset_revokes_the_api_keys_and_lists_them_as_revoked() -> None:
    from imagegen.services import tokens

    email = unique_email("reset")
    with session_scope() as db:
        user = create_user(db, email=email)
        key, _row = api_keys.create_key(session=db, user_id=user.id, name="old script")
        user_id = user.id
    client = TestClient(build_api(), base_url="http://localhost:3000")
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/images", headers=headers).status_code == 200
    with session_scope() as db:
        token = tokens.issue(session=db, purpose=tokens.RESET_PASSWORD, user_id=user_id)
    reset = client.post(
        routes.API_RESET_PASSWORD,
        data={"token": token, "password": "a-brand-new-one-9"},
        follow_redirects=False,
    )
    assert reset.status_code == 303
    assert client.get("/api/v1/images", headers=headers).status_code == 401
    with session_scope() as db:
        listed = api_keys.listed_keys(session=db, user_id=user_id)
        assert [(row.name, row.revoked_at is not None) for row in listed] == [("old script", True)]
        assert auth.get_user_by_email(db, email) is not None


def test_metrics_need_the_bearer_token(limits) -> None:
    client = TestClient(build_api(), base_url="http://localhost:3000")
    limits(METRICS_TOKEN="")
    assert client.get("/api/metrics").status_code in (403, 404)
    limits(METRICS_TOKEN="metrics-token-for-tests-1234")
    assert client.get("/api/metrics").status_code == 401
    wrong = {"Authorization": "Bearer metrics-token-for-tests-0000"}
    assert client.get("/api/metrics", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer metrics-token-for-tests-1234"}
    response = client.get("/api/metrics", headers=right)
    assert response.status_code == 200 and "imagegen_" in response.text


ADMIN_SPELLINGS = [
    "/admin",
    "/admin/",
    "/admin.html",
    "/admin/index.html",
    "//admin.html",
    "/x/../admin.html",
    "/ADMIN",
    "/Admin.html",
    "/admin.html.gz",
    "/admin/index.html.gz",
]


def test_no_spelling_of_the_admin_page_renders_its_shell_for_non_admins(tmp_path) -> None:
    from imagegen.http.middleware import admin_gate

    # The static export as Reflex writes it: admin.html, admin/index.html and their .gz.
    shell = b"<html>ADMIN SHELL</html>"
    (tmp_path / "admin").mkdir()
    for name in ("admin.html", "admin/index.html", "admin.html.gz", "admin/index.html.gz"):
        (tmp_path / name).write_bytes(shell)
    (tmp_path / "index.html").write_bytes(b"<html>home</html>")
    static = Starlette(routes=[Mount("/", StaticFiles(directory=tmp_path, html=True))])
    client = TestClient(admin_gate(static), base_url="http://localhost:3000")
    with session_scope() as db:
        normal = create_user(db)
        boss = create_user(db)
        boss.role = "admin"
        tokens = {
            who: auth.create_session(session=db, user=u, ip_address=None, user_agent=None)[0]
            for who, u in (("normal", normal), ("admin", boss))
        }
    for path in ADMIN_SPELLINGS:
        for who in (None, "normal"):
            client.cookies.clear()
            if who:
                client.cookies.set(routes.SESSION_COOKIE, tokens[who])
            assert b"ADMIN SHELL" not in client.get(path).content, (path, who)
    client.cookies.set(routes.SESSION_COOKIE, tokens["admin"])
    assert b"ADMIN SHELL" in client.get("/admin.html").content
    assert client.get("/").content == b"<html>home</html>"
    with session_scope() as db:
        for user in (normal, boss):
            db.delete(db.get(User, user.id))
