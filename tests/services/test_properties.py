"""Property-based tests (hypothesis) against the real database: the credit service under
random sequences and interleavings of debits, refunds and window expiry, and the billing
webhook under any delivery order with duplicates."""

import threading
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlmodel import Session
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.errors import OutOfCredits
from imagegen.http.app import build_api
from imagegen.models import User
from imagegen.services import billing_events, credits
from tests.fixtures.polar_events import iso, sign, subscription_event
from tests.fixtures.users import create_user, unique_email

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]

DAY = timedelta(days=1)
PROPERTY = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("debit"), st.integers(1, 12)),
        st.tuples(st.just("refund"), st.integers(0, 12)),
        st.tuples(st.just("expire"), st.just(0)),
    ),
    max_size=25,
)


@PROPERTY
@given(limit=st.integers(1, 10), steps=ops)
def test_credits_follow_the_model_and_stay_within_the_allowance(limit: int, steps) -> None:
    allowance = credits.Allowance(limit=limit, window=DAY)
    with session_scope() as db:
        user_id = create_user(db).id
    used = 0  # the model
    for op, amount in steps:
        with session_scope() as db:
            if op == "debit":
                debit = {"session": db, "user_id": user_id, "amount": amount, "reason": "p"}
                if used + amount > limit:
                    with pytest.raises(OutOfCredits) as refused:
                        credits.debit(**debit, allowance=allowance)
                    assert refused.value.remaining == limit - used
                else:
                    balance = credits.debit(**debit, allowance=allowance)
                    used += amount
                    assert balance.used == used
            elif op == "refund":
                credits.refund(session=db, user_id=user_id, amount=amount, reason="p")
                used = max(0, used - amount)
            else:
                db.execute(
                    text("UPDATE usage SET expire = now() - interval '1 second' WHERE key = :k"),
                    {"k": credits.usage_key(user_id)},
                )
                used = 0
        with session_scope() as db:
            balance = credits.get_balance(session=db, user_id=user_id, allowance=allowance)
        assert balance.used == used and 0 <= balance.remaining <= limit


@settings(max_examples=8, deadline=None)
@given(
    limit=st.integers(1, 8),
    plans=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=8), min_size=4, max_size=4),
    refund_mask=st.lists(st.booleans(), min_size=32, max_size=32),
)
def test_concurrent_debits_and_refunds_never_overspend(limit, plans, refund_mask) -> None:
    """Four threads, each with its own connection, debit and refund (only what they got) at
    once; the balance never exceeds the allowance and ends at debited minus refunded."""
    allowance = credits.Allowance(limit=limit, window=DAY)
    with session_scope() as db:
        user_id = create_user(db).id
        url = db.get_bind().url
    wide = create_engine(url, pool_size=5, max_overflow=0)
    barrier = threading.Barrier(4)
    totals = {"debited": 0, "refunded": 0}
    seen: list[int] = []
    lock = threading.Lock()

    def worker(amounts: list[int], offset: int) -> None:
        barrier.wait()
        for n, amount in enumerate(amounts):
            with Session(wide) as s:
                try:
                    balance = credits.debit(
                        session=s, user_id=user_id, amount=amount, allowance=allowance, reason="p"
                    )
                    s.commit()
                except OutOfCredits:
                    s.rollback()
                    continue
            with lock:
                totals["debited"] += amount
                seen.append(balance.used)
            if refund_mask[(offset + n) % 32]:
                with Session(wide) as s:
                    credits.refund(session=s, user_id=user_id, amount=amount, reason="p")
                    s.commit()
                with lock:
                    totals["refunded"] += amount

    threads = [threading.Thread(target=worker, args=(p, i * 8)) for i, p in enumerate(plans)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wide.dispose()
    assert all(0 < used <= limit for used in seen)
    with session_scope() as db:
        final = credits.get_balance(session=db, user_id=user_id, allowance=allowance).used
    assert final == totals["debited"] - totals["refunded"]
    assert 0 <= final <= limit


PRO, GOLD = "prod_pro_test", "prod_gold_test"
# Self-describing subscription events: (type, status, product, plan it leaves, status kept).
KINDS = [
    ("subscription.active", "active", PRO, "pro_user", "active"),
    ("subscription.updated", "active", GOLD, "gold_user", "active"),
    ("subscription.revoked", "canceled", PRO, "free_user", "revoked"),
    ("subscription.updated", "canceled", GOLD, "free_user", "canceled"),
]


@PROPERTY
@given(
    history=st.lists(st.sampled_from(range(len(KINDS))), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_delivery_order_with_duplicates_ends_in_the_newest_state(history, data) -> None:
    """Polar sends a subscription's events; we receive them in any order, some many times."""
    client = TestClient(build_api(), base_url="http://localhost:3000")
    email = unique_email("order")
    with session_scope() as db:
        user_id = str(create_user(db, email=email).id)
    sub_id = "sub_" + uuid.uuid4().hex[:10]
    deliveries = []
    for age, kind in enumerate(reversed(history)):  # the last one of `history` is the newest
        event_type, status, product, _plan, _kept = KINDS[kind]
        body = subscription_event(
            event_type,
            external_id=user_id,
            email=email,
            product_id=product,
            status=status,
            modified_at=iso(-60 * (age + 1)),
            current_period_end=iso(-30),  # a canceled period that is over
            subscription_id=sub_id,
        )
        deliveries.append(sign(body, "whsec_imagegen_test_secret"))
    order = data.draw(st.permutations(deliveries))
    repeats = data.draw(st.lists(st.sampled_from(deliveries), max_size=4))
    for raw, headers in [*order, *repeats]:
        response = client.post(routes.API_POLAR_WEBHOOK, content=raw, headers=headers)
        assert response.status_code == 200
        assert response.json()["status"] in {"applied", "stale", "duplicate"}
    _type, _status, product, plan, kept = KINDS[history[-1]]
    with session_scope() as db:
        user = db.get(User, uuid.UUID(user_id))
        sub = billing_events.get_subscription(session=db, user_id=user.id)
        assert (user.plan, sub.plan, sub.status, sub.product_id) == (plan, plan, kept, product)
