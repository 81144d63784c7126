"""POST /api/webhooks/polar: signatures, idempotency, ordering, plan changes (real DB/Redis)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from imagegen import routes
from imagegen.db import session_scope
from imagegen.http.app import build_api
from imagegen.models import PlanChange, User, WebhookEvent
from imagegen.realtime import EVENTS_KEY
from imagegen.services import billing_events
from tests.fixtures.polar_events import iso, order_paid_event, sign, subscription_event
from tests.fixtures.users import create_user, unique_email

pytestmark = pytest.mark.usefixtures("engine", "redis_client")

SECRET = "whsec_imagegen_test_secret"
PRO, GOLD = "prod_pro_test", "prod_gold_test"


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_api(), base_url="http://localhost:3000")


@pytest.fixture
def member() -> tuple[str, str]:
    email = unique_email("payer")
    with session_scope() as db:
        return str(create_user(db, email=email).id), email


def plan_of(user_id: str) -> str:
    with session_scope() as db:
        return db.get(User, user_id).plan


def post(client: TestClient, body: dict, **kwargs):
    raw, headers = sign(body, SECRET, **kwargs)
    return client.post(routes.API_POLAR_WEBHOOK, content=raw, headers=headers)


def test_order_paid_upgrades_and_notifies_the_tabs(client, member, redis_client) -> None:
    user_id, email = member
    response = post(client, order_paid_event(external_id=user_id, email=email, product_id=PRO))
    assert response.status_code == 200 and response.json() == {"status": "applied"}
    assert plan_of(user_id) == "pro_user"
    with session_scope() as db:  # remembered for the admin console's paid-accounts chart
        changes = db.exec(select(PlanChange.plan).where(PlanChange.user_id == user_id)).all()
        assert changes == ["pro_user"]
    assert any(
        user_id.encode() in e and b"account" in e for e in redis_client.lrange(EVENTS_KEY, 0, -1)
    )


def test_subscription_active_for_gold(client, member) -> None:
    user_id, email = member
    assert (
        post(
            client,
            subscription_event(
                "subscription.active", external_id=user_id, email=email, product_id=GOLD
            ),
        ).status_code
        == 200
    )
    assert plan_of(user_id) == "gold_user"
    with session_scope() as db:
        sub = billing_events.get_subscription(session=db, user_id=db.get(User, user_id).id)
        assert sub.product_id == GOLD and sub.current_period_end is not None


def test_duplicate_delivery_ten_times_is_applied_once(client, member) -> None:
    user_id, email = member
    body = subscription_event(
        "subscription.active",
        external_id=user_id,
        email=email,
        product_id=PRO,
        modified_at=iso(-60),
    )
    raw, headers = sign(body, SECRET, webhook_id="msg_dup_" + user_id)
    outcomes = [
        client.post(routes.API_POLAR_WEBHOOK, content=raw, headers=headers).json()["status"]
        for _ in range(10)
    ]
    assert outcomes == ["applied"] + ["duplicate"] * 9
    with session_scope() as db:
        assert db.get(WebhookEvent, "msg_dup_" + user_id).outcome == "applied"
    assert plan_of(user_id) == "pro_user"


def test_older_event_after_a_newer_one_is_ignored(client, member) -> None:
    user_id, email = member
    sub_id = "sub_order_" + user_id[:8]
    newer = subscription_event(
        "subscription.revoked",
        external_id=user_id,
        email=email,
        product_id=PRO,
        status="canceled",
        modified_at=iso(-10),
        subscription_id=sub_id,
    )
    older = subscription_event(
        "subscription.active",
        external_id=user_id,
        email=email,
        product_id=PRO,
        modified_at=iso(-100),
        subscription_id=sub_id,
    )
    assert post(client, newer).json()["status"] == "applied"
    assert post(client, older).json()["status"] == "stale"
    assert plan_of(user_id) == "free_user"


def test_revoke_downgrades_and_cancel_at_period_end_keeps_the_plan(client, member) -> None:
    user_id, email = member
    post(
        client,
        subscription_event(
            "subscription.active",
            external_id=user_id,
            email=email,
            product_id=PRO,
            modified_at=iso(-300),
        ),
    )
    post(
        client,
        subscription_event(
            "subscription.canceled",
            external_id=user_id,
            email=email,
            product_id=PRO,
            modified_at=iso(-200),
            cancel_at_period_end=True,
        ),
    )
    assert plan_of(user_id) == "pro_user"
    post(
        client,
        subscription_event(
            "subscription.revoked",
            external_id=user_id,
            email=email,
            product_id=PRO,
            status="canceled",
            modified_at=iso(-100),
        ),
    )
    assert plan_of(user_id) == "free_user"


def test_email_fallback_is_case_insensitive(client, member) -> None:
    user_id, email = member
    response = post(
        client, order_paid_event(external_id=None, email=email.upper(), product_id=GOLD)
    )
    assert response.json()["status"] == "applied"
    assert plan_of(user_id) == "gold_user"


def test_unknown_customer_is_accepted_and_changes_nothing(client) -> None:
    response = post(
        client, order_paid_event(external_id=None, email=unique_email("nobody"), product_id=PRO)
    )
    assert response.status_code == 202 and response.json()["status"] == "unknown_customer"


@pytest.mark.parametrize("case", ["bad_secret", "missing_headers", "tampered_body"])
def test_bad_signatures_are_403_and_change_nothing(client, member, case: str) -> None:
    user_id, email = member
    body = order_paid_event(external_id=user_id, email=email, product_id=GOLD)
    raw, headers = sign(body, "whsec_not_the_secret" if case == "bad_secret" else SECRET)
    if case == "missing_headers":
        headers = {"content-type": "application/json"}
    if case == "tampered_body":
        raw = raw.replace(PRO.encode(), GOLD.encode()).replace(b'"paid": true', b'"paid": false')
    assert client.post(routes.API_POLAR_WEBHOOK, content=raw, headers=headers).status_code == 403
    assert plan_of(user_id) == "free_user"


def test_stale_timestamp_is_403(client, member) -> None:
    user_id, email = member
    body = order_paid_event(external_id=user_id, email=email, product_id=PRO)
    response = post(client, body, timestamp=datetime.now(UTC) - timedelta(minutes=10))
    assert response.status_code == 403
    assert plan_of(user_id) == "free_user"


def test_malformed_json_is_400_and_truncated_body_too(client, member) -> None:
    assert post(client, "{not json").status_code == 400
    user_id, email = member
    full = json.dumps(order_paid_event(external_id=user_id, email=email, product_id=PRO))
    assert post(client, full[: len(full) // 2]).status_code == 400
    assert plan_of(user_id) == "free_user"


def test_unknown_and_unhandled_types_are_202(client) -> None:
    assert (
        post(client, {"type": "something.new", "timestamp": iso(), "data": {}}).status_code == 202
    )
    from polar.v2026_10 import outputs

    from tests.fixtures.polar_events import sample_object

    checkout = {
        "type": "checkout.created",
        "timestamp": iso(),
        "api_version": "2026-10",
        "data": sample_object(outputs.Checkout),
    }
    assert post(client, checkout).status_code == 202


def test_huge_body_is_413(client) -> None:
    raw, headers = sign({"type": "order.paid", "pad": "x" * (1024 * 1024 + 10)}, SECRET)
    assert client.post(routes.API_POLAR_WEBHOOK, content=raw, headers=headers).status_code == 413
