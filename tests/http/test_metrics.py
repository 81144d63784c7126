"""GET /api/metrics (with METRICS_TOKEN) reports what the database and Redis hold, in Prometheus text format."""

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from starlette.testclient import TestClient

from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import Image
from tests.fixtures.users import create_user

pytestmark = pytest.mark.usefixtures("engine")


def _samples(body: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


@pytest.fixture
def client(monkeypatch) -> TestClient:
    """A scraper with METRICS_TOKEN (the route needs it)."""
    from imagegen.settings import get_settings

    monkeypatch.setenv("METRICS_TOKEN", "scraper-token-0123456789")
    get_settings.cache_clear()
    yield TestClient(build_api(), headers={"Authorization": "Bearer scraper-token-0123456789"})
    monkeypatch.undo()
    get_settings.cache_clear()


def test_metrics_follow_the_data(client: TestClient, redis_client) -> None:
    before = _samples(client.get("/api/metrics").text)
    with session_scope() as db:
        user = create_user(db)
        db.add(Image(user_id=user.id, prompt="done", status="completed"))
        db.add(Image(user_id=user.id, prompt="bad", status="failed"))
        db.flush()
        db.execute(
            text(
                "UPDATE image SET completed_at = created_at + interval '3 seconds' WHERE prompt = 'done' AND user_id = :u"
            ),
            {"u": user.id},
        )
    redis_client.rpush("imagegen:generation", b"m1", b"m2")
    response = client.get("/api/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)
    key = lambda status: ("imagegen_images_total", (("status", status),))  # noqa: E731
    assert after[key("completed")] == before.get(key("completed"), 0) + 1
    assert after[key("failed")] == before.get(key("failed"), 0) + 1
    assert after[("imagegen_queue_depth", (("queue", "ready"),))] == 2
    assert after[("imagegen_generation_seconds_bucket", (("le", "5"),))] >= 1
    with session_scope() as db:
        db.delete(db.get(type(user), user.id))
