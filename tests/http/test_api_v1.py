"""The REST API through the official `openai` client, pointed at our /api/v1 on a real HTTP
server, with a real Dramatiq worker making the images: key auth, credits, limits, errors in
OpenAI's shape, async ids, pagination, owner checks, and the gallery notified live."""

import base64
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import dramatiq
import httpx
import openai
import pytest
from sqlmodel import select

from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import CreditLedger, Image, User
from imagegen.realtime import EVENTS_KEY
from imagegen.services import api_keys
from imagegen.settings import get_settings
from tests.fixtures.users import create_user
from tests.standins.server import ThreadedServer


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with ThreadedServer(build_api()) as base_url:
        yield base_url


@pytest.fixture
def worker(engine, redis_client) -> Iterator[None]:
    """A Dramatiq worker in this process: the offline generator and local storage."""
    from workers.broker import broker

    broker.flush_all()
    w = dramatiq.Worker(broker, worker_threads=4, worker_timeout=50)
    w.start()
    yield
    w.stop()
    broker.flush_all()


def new_key(plan: str = "free_user") -> tuple[str, uuid.UUID]:
    with session_scope() as db:
        user = create_user(db)
        user.plan = plan
        key, _row = api_keys.create_key(session=db, user_id=user.id, name="script")
        return key, user.id


def client_for(server: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{server}/api/v1", max_retries=0, timeout=60)


def charges(user_id: uuid.UUID) -> list[int]:
    with session_scope() as db:
        return sorted(
            db.exec(select(CreditLedger.amount).where(CreditLedger.user_id == user_id)).all()
        )


def local(server: str, url: str) -> str:
    """The file route of an image URL, on the test server."""
    return server + urlsplit(url).path


def test_generate_waits_and_answers_like_openai(server, worker, redis_client) -> None:
    key, user_id = new_key()
    result = client_for(server, key).images.generate(
        prompt="A lighthouse at dawn", n=2, size="1024x1024", quality="low", model="gpt-image-1"
    )
    assert len(result.data) == 2 and result.created > 0
    for image in result.data:
        assert image.url.startswith(get_settings().app_url + "/api/images/file/")
        png = httpx.get(local(server, image.url), headers={"Authorization": f"Bearer {key}"})
        assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
        assert httpx.get(local(server, image.url)).status_code == 404  # no key, no file
    assert charges(user_id) == [-1, -1]  # debited exactly as the UI does
    # Each image was announced to the user's open tabs (the relay pushes it into the gallery).
    events = b"".join(redis_client.lrange(EVENTS_KEY, 0, -1))
    assert all(image.id.encode() in events for image in result.data)
    with session_scope() as db:
        [row] = api_keys.list_keys(session=db, user_id=user_id)
        assert row.last_used_at is not None and key.startswith(row.prefix)


def test_b64_json_returns_the_png_bytes(server, worker) -> None:
    key, _user = new_key()
    result = client_for(server, key).images.generate(
        prompt="A fox", quality="low", response_format="b64_json"
    )
    assert base64.b64decode(result.data[0].b64_json)[:4] == b"\x89PNG"


def test_async_returns_ids_at_once_then_get_and_paginate(server, worker) -> None:
    key, _user = new_key("pro_user")
    client = client_for(server, key)
    ids = []
    for n in range(5):
        queued = client.images.generate(
            prompt=f"study {n}", quality="low", extra_body={"async": True}
        )
        assert queued.data[0].status == "queued"  # type: ignore[attr-defined]
        ids.append(queued.data[0].id)  # type: ignore[attr-defined]
    auth = {"Authorization": f"Bearer {key}"}
    one = httpx.get(f"{server}/api/v1/images/{ids[0]}", headers=auth).json()
    assert one["id"] == ids[0] and one["prompt"] == "study 0" and one["object"] == "image"
    pages, after = [], None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        page = httpx.get(f"{server}/api/v1/images", headers=auth, params=params).json()
        pages.append([image["id"] for image in page["data"]])
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == list(reversed(ids))  # newest first, no overlap


def test_errors_use_openais_shapes_and_status_codes(server, monkeypatch) -> None:
    key, user_id = new_key()
    client = client_for(server, key)
    with pytest.raises(openai.AuthenticationError) as bad_key:
        client_for(server, "ig_not_a_real_key").images.generate(prompt="x")
    assert bad_key.value.code == "invalid_api_key"
    with pytest.raises(openai.BadRequestError) as empty:
        client.images.generate(prompt="   ")
    assert "the prompt is empty" in empty.value.message
    with pytest.raises(openai.BadRequestError, match="1 to 4 images"):
        client.images.generate(prompt="too many", n=5)
    with pytest.raises(openai.BadRequestError, match="Size must be one of"):
        client.images.generate(prompt="odd size", size="256x256")
    # Out of credits: 402, and nothing charged.
    with session_scope() as db:
        db.get(User, user_id).plan = "free_user"
    from sqlalchemy import text

    from imagegen.services.credits import usage_key

    with session_scope() as db:
        db.execute(
            text(
                "INSERT INTO usage (key, points, expire) VALUES (:k, 10, now() + interval '1 day')"
            ),
            {"k": usage_key(user_id)},
        )
    with pytest.raises(openai.APIStatusError) as broke:
        client.images.generate(prompt="one more")
    assert broke.value.status_code == 402 and broke.value.code == "insufficient_credits"
    assert charges(user_id) == []
    # Revoked: 401 from then on.
    with session_scope() as db:
        [row] = api_keys.list_keys(session=db, user_id=user_id)
        api_keys.revoke_key(session=db, user_id=user_id, key_id=row.id)
    with pytest.raises(openai.AuthenticationError):
        client.images.generate(prompt="after revoking")


def test_rate_limit_is_429(server, monkeypatch) -> None:
    monkeypatch.setenv("SUBMITS_PER_MINUTE_PRO_USER", "2")
    get_settings.cache_clear()
    try:
        key, _user = new_key("pro_user")
        client = client_for(server, key)
        for _ in range(2):
            client.images.generate(prompt="quick", quality="low", extra_body={"async": True})
        with pytest.raises(openai.RateLimitError) as limited:
            client.images.generate(prompt="quick", quality="low", extra_body={"async": True})
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert limited.value.code == "rate_limit_exceeded"
    assert "2 generation requests a minute" in limited.value.message


def test_nobody_reads_another_users_images(server, worker) -> None:
    ada_key, _ada = new_key()
    bob_key, _bob = new_key()
    made = client_for(server, ada_key).images.generate(prompt="Ada's", quality="low")
    image_id, url = made.data[0].id, made.data[0].url
    bob = {"Authorization": f"Bearer {bob_key}"}
    missing = httpx.get(f"{server}/api/v1/images/{image_id}", headers=bob)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert httpx.get(f"{server}/api/v1/images/{uuid.uuid4()}", headers=bob).json() == (
        missing.json()
    )
    assert httpx.get(f"{server}/api/v1/images", headers=bob).json()["data"] == []
    assert httpx.get(local(server, url), headers=bob).status_code == 404
    after_other = httpx.get(f"{server}/api/v1/images", headers=bob, params={"after": image_id})
    assert after_other.json()["data"] == []


def wait_done(server: str, key: str, image_id: str) -> dict:
    auth = {"Authorization": f"Bearer {key}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{server}/api/v1/images/{image_id}", headers=auth).json()
        if found["status"] in ("completed", "failed", "cancelled"):
            return found
        time.sleep(0.1)
    pytest.fail(f"image {image_id} did not finish")


def test_variations_of_your_own_image_are_queued_charged_and_drawn_from_it(server, worker) -> None:
    ada_key, ada = new_key()
    bob_key, bob = new_key()
    made = client_for(server, ada_key).images.generate(
        prompt="A harbour at night", quality="low", size="1536x1024"
    )
    source_id = made.data[0].id
    ada_auth = {"Authorization": f"Bearer {ada_key}"}
    answer = httpx.post(
        f"{server}/api/v1/images/{source_id}/variations", headers=ada_auth, json={"n": 2}
    )
    assert answer.status_code == 202, answer.text
    queued = answer.json()["data"]
    assert [item["status"] for item in queued] == ["queued", "queued"]
    for item in queued:
        done = wait_done(server, ada_key, item["id"])
        assert done["status"] == "completed", done["error"]
        assert (done["prompt"], done["size"], done["quality"]) == (
            "A harbour at night",
            "1536x1024",
            "low",
        )
        with session_scope() as db:
            assert db.get(Image, uuid.UUID(item["id"])).source_image_id == uuid.UUID(source_id)
    assert charges(ada) == [-1, -1, -1]  # the source and two variations, as the UI charges

    # Someone else's image, an unknown id, a bad count: refused, and nothing is charged.
    bob_auth = {"Authorization": f"Bearer {bob_key}"}
    for image_id in (source_id, str(uuid.uuid4()), "not-an-id"):
        refused = httpx.post(
            f"{server}/api/v1/images/{image_id}/variations", headers=bob_auth, json={"n": 1}
        )
        assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    too_many = httpx.post(
        f"{server}/api/v1/images/{source_id}/variations", headers=ada_auth, json={"n": 9}
    )
    assert too_many.status_code == 400 and "1 to 4" in too_many.json()["error"]["message"]
    wrong_type = httpx.post(
        f"{server}/api/v1/images/{source_id}/variations", headers=ada_auth, json={"n": "2"}
    )
    assert wrong_type.status_code == 400
    assert httpx.post(f"{server}/api/v1/images/{source_id}/variations").status_code == 401
    assert charges(bob) == []
    assert charges(ada) == [-1, -1, -1]


def test_the_schema_is_served(server) -> None:
    schema = httpx.get(f"{server}/api/v1/openapi.json").json()
    assert {"/images/generations", "/images", "/images/{image_id}"} <= set(schema["paths"])
    variations = schema["paths"]["/images/{image_id}/variations"]["post"]
    assert "202" in variations["responses"] and "404" in variations["responses"]
    body = variations["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema["components"]["schemas"][body.rsplit("/", 1)[-1]]["properties"].keys() == {"n"}
    # The library: favorites, delete/restore, zip, collections, exports.
    assert {
        "/images/favorite",
        "/images/delete",
        "/images/restore",
        "/images/download",
        "/collections",
        "/collections/{collection_id}",
        "/exports",
        "/exports/{export_id}",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_a_flagged_prompt_is_a_content_policy_error_and_costs_nothing(server, monkeypatch) -> None:
    from tests.standins.openai_server import OpenAIStandIn

    key, user_id = new_key()
    with OpenAIStandIn() as standin:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-mod-test")
        monkeypatch.setenv("OPENAI_BASE_URL", standin.base_url)
        get_settings.cache_clear()
        try:
            with pytest.raises(openai.BadRequestError) as refused:
                client_for(server, key).images.generate(prompt="a forbidden scene")
        finally:
            monkeypatch.undo()
            get_settings.cache_clear()
        assert len(standin.moderation_requests) == 1
    assert refused.value.code == "content_policy_violation"
    assert "flagged by moderation" in refused.value.message
    assert charges(user_id) == []


def test_queued_images_carry_their_place_in_line_and_an_estimate(
    server, engine, redis_client
) -> None:
    # No worker runs: everything stays queued. Another user queued first.
    first_key, _ = new_key()
    key, _ = new_key()
    headers = {"Authorization": f"Bearer {key}"}
    client_for(server, first_key).images.generate(
        prompt="ahead of you", n=2, quality="low", extra_body={"async": True}
    )
    made = client_for(server, key).images.generate(
        prompt="waiting", n=2, quality="low", extra_body={"async": True}
    )
    ids = [image.id for image in made.data]
    mine = [httpx.get(f"{server}/api/v1/images/{i}", headers=headers).json() for i in ids]
    # Round robin: the first user's 1st image, mine, theirs, mine.
    assert [m["queue_position"] for m in mine] == [2, 4]
    assert all(m["eta_seconds"] >= 1 for m in mine)
    assert mine[0]["eta_seconds"] < mine[1]["eta_seconds"]
    listed = httpx.get(f"{server}/api/v1/images", headers=headers).json()["data"]
    assert {m["id"]: m["queue_position"] for m in listed} == {ids[0]: 2, ids[1]: 4}
