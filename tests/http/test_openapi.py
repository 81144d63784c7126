"""schemathesis against /api/openapi.json: generated requests (valid and invalid) to every
HTTP route never get a 500, and every answer matches the documented status codes, content
types, headers and bodies. Real PostgreSQL and Redis behind the routes."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from imagegen.http.app import build_api

schema = schemathesis.openapi.from_asgi("/api/openapi.json", build_api())


@pytest.mark.usefixtures("engine", "redis_client")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_holds_its_schema(case) -> None:
    case.call_and_validate(headers={"Host": "localhost:3000"})


v1 = schemathesis.openapi.from_asgi("/api/v1/openapi.json", build_api()).include(method="GET")


@pytest.fixture
def api_key(engine, redis_client) -> str:
    from imagegen.db import session_scope
    from imagegen.services import api_keys
    from tests.fixtures.users import create_user

    with session_scope() as db:
        user = create_user(db)
        key, _row = api_keys.create_key(session=db, user_id=user.id, name="schemathesis")
        return key


@v1.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_rest_api_reads_hold_their_schema(case, api_key: str) -> None:
    """GET /api/v1/images and /api/v1/images/{id} with a real key (the generation route is
    covered through the openai client in test_api_v1). Unknown query parameters are ignored,
    as OpenAI's API does, so "negative data must be rejected" is not asked of them."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        excluded_checks=[negative_data_rejection],
    )


v1_write = schemathesis.openapi.from_asgi("/api/v1/openapi.json", build_api()).include(
    method="POST"
)


@pytest.fixture
def answers_at_once(monkeypatch):
    """The write route answers 202 at once (no worker here) and never runs out of budget."""
    from imagegen.settings import get_settings

    for name, value in {
        "API_WAIT_SECONDS": "0",
        "CREDITS_FREE_USER": "1000000",
        "IN_PROGRESS_FREE_USER": "1000000",
        "SUBMITS_PER_MINUTE_FREE_USER": "1000000",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def negative_data_rejected_or_too_large(ctx, response, case):
    """Schemathesis' "invalid data is rejected", where 413 also counts as rejecting: a
    generated list long enough to break `maxItems` is also past the route's body limit, and
    the body limit answers first."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


@v1_write.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_rest_api_write_holds_its_schema(case, answers_at_once, api_key: str) -> None:
    """POST /api/v1/images/generations with generated bodies, valid and not: never a 500,
    every malformed body a 4xx in OpenAI's error shape, every answer as documented. A prompt
    the schema allows may still be refused (control characters, moderation: rules the schema
    only approximates), so "schema-valid data must be accepted" is not asked."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
        additional_checks=[negative_data_rejected_or_too_large],
    )


v1_other = schemathesis.openapi.from_asgi("/api/v1/openapi.json", build_api()).include(
    method=["PUT", "PATCH", "DELETE"]
)


@v1_other.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_library_routes_hold_their_schema(case, api_key: str) -> None:
    """PUT/PATCH/DELETE of favorites, images and collections with a real key: generated ids
    are nobody's (404 in OpenAI's shape), bodies valid or not never give a 500."""
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        excluded_checks=[positive_data_acceptance],
    )
