"""schemathesis against /api/openapi.json: generated requests (valid and invalid) to every
HTTP route never get a 500, and every answer matches the documented status codes, content
types, headers and bodies. Real PostgreSQL and Redis behind the routes."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from imagegen.api import build_api

schema = schemathesis.openapi.from_asgi("/api/openapi.json", build_api())


@pytest.mark.usefixtures("engine", "redis_client")
@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_holds_its_schema(case) -> None:
    case.call_and_validate(headers={"Host": "localhost:3000"})
