"""What operators and load balancers call: health, readiness and Prometheus metrics."""

import asyncio
import functools
import logging
import weakref
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    Response,
)

from imagegen import security
from imagegen.db import get_engine
from imagegen.http import webhooks
from imagegen.http.files import NOT_FOUND
from imagegen.http.session import (
    bearer_token,
)
from imagegen.redis_client import get_redis
from imagegen.services import (
    health,
)
from imagegen.settings import get_settings

log = logging.getLogger(__name__)


_health_limiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]"
_health_limiters = weakref.WeakKeyDictionary()


def health_limiter() -> anyio.CapacityLimiter:
    """Threads of /api/health's own: it never queues behind a storm of other requests."""
    loop = asyncio.get_running_loop()
    limiter = _health_limiters.get(loop)
    if limiter is None:
        limiter = _health_limiters[loop] = anyio.CapacityLimiter(2)
    return limiter


async def health_check(_: Request) -> JSONResponse:
    """GET /api/health: 200 when PostgreSQL and Redis answer, 503 otherwise."""

    def check() -> tuple[bool, bool]:
        return health.database_ok(get_engine()), health.redis_ok(get_redis())

    db_up, redis_up = await anyio.to_thread.run_sync(check, limiter=health_limiter())
    ok = db_up and redis_up
    body = {
        "status": "ok" if ok else "degraded",
        "database": "ok" if db_up else "down",
        "redis": "ok" if redis_up else "down",
    }
    return JSONResponse(body, status_code=200 if ok else 503)


@functools.lru_cache(maxsize=1)
def _migration_head() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    root = Path(__file__).resolve().parents[2]
    return ScriptDirectory.from_config(Config(str(root / "alembic.ini"))).get_current_head()


async def readiness(_: Request) -> JSONResponse:
    """GET /api/ready: 200 only when the engines answer, the schema is at the code's head
    (a load balancer keeps traffic away during a deploy's migration) and start-up work is done.
    """

    def check() -> dict[str, str]:
        db_up = health.database_ok(get_engine())
        redis_up = health.redis_ok(get_redis())
        schema = health.schema_version(get_engine()) if db_up else None
        return {
            "database": "ok" if db_up else "down",
            "redis": "ok" if redis_up else "down",
            "schema": "current" if schema and schema == _migration_head() else f"at {schema}",
        }

    body = await anyio.to_thread.run_sync(check)
    ready = body["database"] == "ok" and body["redis"] == "ok" and body["schema"] == "current"
    if webhooks.warming():  # start-up work still running: serve, but not yet at full speed
        body["startup"], ready = "warming up", False
    return JSONResponse({"ready": ready, **body}, status_code=200 if ready else 503)


def metrics_allowed(request: Request) -> Response | None:
    """None when the request carries METRICS_TOKEN; else 404 (no token configured: the route
    does not exist) or 401.
    """
    expected = get_settings().metrics_token
    if not expected:
        return NOT_FOUND
    sent = bearer_token(request)
    if sent is None or not security.tokens_equal(sent, expected):
        return Response(
            "A bearer token is required.",
            status_code=401,
            media_type="text/plain",
            headers={"www-authenticate": 'Bearer realm="metrics"'},
        )
    return None


async def metrics(request: Request) -> Response:
    """GET /api/metrics: Prometheus text format, for `Authorization: Bearer <METRICS_TOKEN>`."""
    if (refused := metrics_allowed(request)) is not None:
        return refused
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from imagegen.services.metrics import ImagegenCollector

    def scrape() -> bytes:
        registry = CollectorRegistry()
        registry.register(ImagegenCollector(get_engine(), get_redis()))
        return generate_latest(registry)

    return Response(await anyio.to_thread.run_sync(scrape), media_type=CONTENT_TYPE_LATEST)
