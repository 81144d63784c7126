"""PostgreSQL and Redis going away while requests run: every answer is a success or a clean
503 (never a 500 or a traceback), nothing is half-written, and the app recovers by itself.

The database outage is what a restart looks like from the app: every connection is killed
and new ones are refused for a while (ALLOW_CONNECTIONS false), on the test database only, so
the machine's other databases are untouched."""

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from tests.fixtures.users import unique_email

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]

ADMIN = os.environ.get("TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "crunchy-armchair-42"


@contextmanager
def database_down() -> Iterator[None]:
    name = os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def _client() -> TestClient:
    return TestClient(
        build_api(),
        base_url="http://localhost:3000",
        follow_redirects=False,
        raise_server_exceptions=False,
    )


def test_database_restart_while_people_register_and_sign_in() -> None:
    stop = threading.Event()
    answers: Counter[int] = Counter()
    succeeded: list[str] = []
    failed: list[str] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def visitor() -> None:
        client = _client()
        while not stop.is_set():
            email = unique_email("restart")
            response = client.post(
                routes.API_REGISTER,
                data={"name": "Restart", "email": email, "password": PASSWORD},
            )
            with lock:
                answers[response.status_code] += 1
                if response.status_code == 303 and "flash" not in response.headers["location"]:
                    succeeded.append(email)
                else:
                    failed.append(email)
                    bodies.append(response.text)
            health = client.get(routes.API_HEALTH)
            with lock:
                answers[health.status_code] += 1

    threads = [threading.Thread(target=visitor) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1)
    with database_down():
        time.sleep(2)
    time.sleep(2)  # recovered: new connections work again
    stop.set()
    for t in threads:
        t.join(timeout=30)

    assert set(answers) <= {200, 303, 503}, answers  # never a 500
    assert answers[503] > 0 and answers[303] > 0
    assert all("Back in a moment" in body or "unavailable" in body for body in bodies if body)
    with session_scope() as db:

        def sessions_of(email: str) -> int:
            return db.execute(
                text(
                    'SELECT count(*) FROM session s JOIN "user" u ON u.id = s.user_id '
                    "WHERE u.email = :e"
                ),
                {"e": email},
            ).scalar_one()

        def exists(email: str) -> bool:
            return (
                db.execute(
                    text('SELECT count(*) FROM "user" WHERE email = :e'), {"e": email}
                ).scalar_one()
                == 1
            )

        # Every success is whole: the account and its session.
        assert all(exists(e) and sessions_of(e) == 1 for e in succeeded)
        # A refused registration either never happened or left a whole account without a
        # session (the user signs in); never a session without its account.
        for email in failed:
            assert sessions_of(email) == 0
    # And afterwards everything works again, without a restart of the app.
    after = _client().post(
        routes.API_REGISTER,
        data={"name": "After", "email": unique_email("after"), "password": PASSWORD},
    )
    assert after.status_code == 303 and "flash" not in after.headers["location"]


def test_redis_down_answers_503_and_recovers(monkeypatch) -> None:
    from imagegen import redis_client

    client = _client()
    email = unique_email("noredis")
    _client().post(routes.API_REGISTER, data={"name": "R", "email": email, "password": PASSWORD})
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    from imagegen.settings import get_settings

    get_settings.cache_clear()
    redis_client.get_redis.cache_clear()
    try:
        down = client.post(routes.API_LOGIN, data={"email": email, "password": PASSWORD})
        health = client.get(routes.API_HEALTH)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        redis_client.get_redis.cache_clear()
    assert down.status_code == 503 and down.headers["retry-after"] == "5"
    assert "Back in a moment" in down.text and "queue" in down.text
    assert health.status_code == 503
    back = client.post(routes.API_LOGIN, data={"email": email, "password": PASSWORD})
    assert back.status_code == 303 and back.headers["location"] == routes.HOME
