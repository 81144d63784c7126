"""What one tab's submit goes through before any credit moves: the session re-check, the
plan's rate of generation requests, then the in-progress limit and the debit (real
PostgreSQL and Redis; the queue is Redis, no worker runs)."""

import time
import uuid

import pytest

from imagegen.db import session_scope
from imagegen.errors import TooManyAttempts
from imagegen.services import auth, credits
from imagegen.services.throttle import RateLimit
from imagegen.settings import get_settings
from tests.fixtures.images import submit_from_tab
from tests.fixtures.users import create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def signed_in(plan: str = "free_user") -> tuple[str, str]:
    with session_scope() as db:
        user = create_user(db)
        user.plan = plan
        token, _row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        return token, str(user.id)


def test_the_plan_rate_refuses_the_request_after_the_budget_and_charges_nothing(
    monkeypatch,
) -> None:
    monkeypatch.setenv("SUBMITS_PER_MINUTE_PRO_USER", "3")
    get_settings.cache_clear()
    try:
        token, user_id = signed_in("pro_user")
        for n in range(3):
            submitted = submit_from_tab(token, user_id, f"fox {n}")
            assert submitted is not None and len(submitted.images) == 1
        with pytest.raises(TooManyAttempts) as refused:
            submit_from_tab(token, user_id, "one too many")
        other_token, other_id = signed_in("pro_user")  # someone else is not slowed down
        assert submit_from_tab(other_token, other_id, "fox")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert str(refused.value).startswith(
        "Slow down: your plan allows 3 generation requests a minute. Try again in "
    )
    assert submitted.snapshot.balance.used == 3
    with session_scope() as db:
        balance = credits.get_balance(
            session=db,
            user_id=uuid.UUID(user_id),
            allowance=credits.plan_allowance(get_settings(), "pro_user"),
        )
    assert balance.used == 3  # the refused request cost nothing


def test_a_revoked_or_foreign_session_submits_nothing() -> None:
    token, user_id = signed_in()
    _other_token, other_id = signed_in()
    assert submit_from_tab(token, other_id, "not mine") is None
    assert submit_from_tab("not-a-token", user_id, "x") is None
    with session_scope() as db:
        auth.end_session(session=db, token=token)
    assert submit_from_tab(token, user_id, "after sign-out") is None


def test_rate_windows_end(redis_client) -> None:
    limit = RateLimit("test", limit=2, window=1)
    limit.hit(redis_client, "k")
    limit.hit(redis_client, "k")
    with pytest.raises(TooManyAttempts, match=r"Try again in 1 second\.$"):
        limit.hit(redis_client, "k")
    time.sleep(1.1)
    limit.hit(redis_client, "k")
