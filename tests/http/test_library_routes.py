"""The browser's library routes: the bulk-select zip (session cookie, same-origin form post,
streamed with flat memory), the data-export download, and strangers who get 404."""

import io
import os
import shutil
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import Image
from imagegen.providers.compose import get_storage
from tests.fixtures.images import add_image
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email
from tests.standins.server import ThreadedServer

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def signed_in(prompts: list[str], size: int = 0) -> tuple[TestClient, list[str], str]:
    """A signed-in client with these images (their files under the storage's root)."""
    email = unique_email()
    with session_scope() as db:
        user = create_user(db, email=email)
        ids = [
            str(
                add_image(
                    db,
                    user.id,
                    prompt=p,
                    storage=get_storage(),
                    data=os.urandom(size) if size else f"PNG {p}".encode(),
                ).id
            )
            for p in prompts
        ]
    client = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    login = client.post(routes.API_LOGIN, data={"email": email, "password": DEFAULT_PASSWORD})
    token = login.cookies[routes.SESSION_COOKIE]
    client.cookies.set(routes.SESSION_COOKIE, token)
    return client, ids, token


def test_bulk_zip_for_the_owner_only() -> None:
    ada, ada_ids, _token = signed_in(["a fox", "an owl", "a cat"])
    bob, _ids, _token = signed_in(["bob's"])
    answer = ada.post(routes.API_IMAGES_ZIP, data={"ids": f"{ada_ids[0]},{ada_ids[2]}"})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith('attachment; filename="imagegen-')
    with zipfile.ZipFile(io.BytesIO(answer.content)) as opened:
        assert sorted(opened.read(n) for n in opened.namelist()) == [b"PNG a cat", b"PNG a fox"]
    # Bob, anonymous, a bad id, or a cross-site form: nothing.
    assert bob.post(routes.API_IMAGES_ZIP, data={"ids": ada_ids[0]}).status_code == 404
    anonymous = TestClient(build_api(), base_url="http://localhost:3000")
    assert anonymous.post(routes.API_IMAGES_ZIP, data={"ids": ada_ids[0]}).status_code == 404
    assert ada.post(routes.API_IMAGES_ZIP, data={"ids": f"{ada_ids[0]},nope"}).status_code == 404
    assert ada.post(routes.API_IMAGES_ZIP, data={"ids": str(uuid.uuid4())}).status_code == 404
    cross_site = ada.post(
        routes.API_IMAGES_ZIP,
        data={"ids": ada_ids[0]},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403


def _peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak resident size


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def test_a_500_image_zip_streams_with_flat_memory(request: pytest.FixtureRequest) -> None:
    """The server (in this process) streams 500 images of 200 KB; the client reads it in
    chunks. Peak resident memory grows by far less than the 100 MB archive."""
    _client, ids, cookie = signed_in([f"study {n}" for n in range(500)], size=200_000)
    with session_scope() as db:
        folder = get_storage().root / str(db.get(Image, uuid.UUID(ids[0])).user_id)
    request.addfinalizer(lambda: shutil.rmtree(folder, ignore_errors=True))  # 100 MB
    with ThreadedServer(build_api()) as base_url:
        _peak_rss_reset()
        before = _status("VmRSS")
        total = 0
        with httpx.stream(
            "POST",
            f"{base_url}{routes.API_IMAGES_ZIP}",
            data={"ids": ",".join(ids)},
            cookies={routes.SESSION_COOKIE: cookie},
            timeout=120,
        ) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                total += len(chunk)
        grown = _status("VmHWM") - before
    print(f"\n500-image zip over HTTP: {total / 1e6:.1f} MB sent, peak RSS +{grown / 1e6:.1f} MB")
    assert total > 100_000_000
    assert grown < 25_000_000
