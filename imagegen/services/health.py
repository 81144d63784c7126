"""Liveness of the engines the service needs, for `/api/health` and load balancers."""

import redis
from sqlalchemy import Engine, text


def database_ok(engine: Engine) -> bool:
    """True when PostgreSQL answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def redis_ok(client: redis.Redis) -> bool:
    """True when Redis answers PING."""
    try:
        return bool(client.ping())
    except Exception:
        return False


def schema_version(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None when unknown)."""
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:
        return None
