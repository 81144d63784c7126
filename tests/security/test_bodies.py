"""Bodies: every route that reads one stops at its limit while reading (413), whatever the
Content-Length says or when there is none (chunked); /api/v1 answers malformed bodies with a
400 in OpenAI's error shape, never a 500."""

import json

import anyio
import pytest
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.services import api_keys
from tests.fixtures.users import create_user

pytestmark = pytest.mark.usefixtures("engine", "redis_client")

CHUNK = 64 * 1024
TOTAL = 32 * 2**20  # what the attacker would send: 512 chunks


def post_chunked(path: str, headers: dict[str, str]) -> tuple[int, int, bytes]:
    """POST an endless-looking chunked body (no Content-Length) straight into the ASGI app;
    returns (status, chunks the app pulled, response body)."""
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        if pulled * CHUNK >= TOTAL:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": b"a" * CHUNK, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost:3000"),
            (b"transfer-encoding", b"chunked"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("203.0.113.9", 40000),
        "server": ("localhost", 3000),
    }
    anyio.run(build_api(), scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], pulled, body


@pytest.fixture
def api_key() -> str:
    with session_scope() as db:
        user = create_user(db)
        key, _row = api_keys.create_key(session=db, user_id=user.id, name="attacker")
        return key


def test_a_chunked_webhook_body_stops_at_one_mebibyte() -> None:
    status, pulled, _body = post_chunked(
        routes.API_POLAR_WEBHOOK, {"content-type": "application/json"}
    )
    assert status == 413
    assert pulled * CHUNK <= 2**20 + CHUNK  # read up to the limit, not the 32 MB sent


def test_a_chunked_generation_body_stops_at_64_kb(api_key: str) -> None:
    status, pulled, body = post_chunked(
        "/api/v1/images/generations",
        {"content-type": "application/json", "authorization": f"Bearer {api_key}"},
    )
    assert status == 413
    assert pulled * CHUNK <= 64 * 1024 + CHUNK
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    "path",
    [routes.API_LOGIN, routes.API_REGISTER, routes.API_FORGOT_PASSWORD, routes.API_RESET_PASSWORD],
)
def test_a_chunked_auth_form_stops_at_16_kb(path: str) -> None:
    status, pulled, _body = post_chunked(
        path, {"content-type": "application/x-www-form-urlencoded"}
    )
    assert status == 413
    assert pulled * CHUNK <= 16 * 1024 + CHUNK


def test_a_declared_oversize_body_is_refused_unread() -> None:
    client = TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False)
    big = "email=" + "a" * 20_000
    response = client.post(
        routes.API_LOGIN, content=big, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


MALFORMED = [
    {"prompt": "x", "quality": ["high"]},
    {"a": 1},
    {"prompt": ["x"]},
    {"prompt": "x", "n": "2"},
    {"prompt": "x", "n": True},
    {"prompt": "x", "n": 1.5},
    {"prompt": "x", "size": {"w": 1}},
    {"prompt": "x", "style": 7},
    {"prompt": "x", "async": "yes"},
    {"prompt": "x", "response_format": ["url"]},
    {"prompt": "x", "model": ["gpt"]},
    {"prompt": "x", "n": 10**400},
    {"prompt": "x", "quality": {"hd": True}},
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_generation_bodies_are_400_in_openais_shape(api_key: str, body) -> None:
    client = TestClient(build_api(), base_url="http://localhost:3000")
    response = client.post(
        "/api/v1/images/generations",
        content=json.dumps(body),
        headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "raw", [b"[" * 50_000 + b"]" * 50_000, b"\xff\xfe", b"null", b'"x"', b"{"], ids=range(5)
)
def test_unreadable_generation_bodies_are_400(api_key: str, raw: bytes) -> None:
    client = TestClient(build_api(), base_url="http://localhost:3000")
    response = client.post(
        "/api/v1/images/generations",
        content=raw[: 64 * 1024],
        headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
