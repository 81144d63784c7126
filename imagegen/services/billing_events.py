"""Polar webhook events → the user's plan: applied once per delivery, never older over newer.

The route verifies the signature with polar-sdk and hands the typed payload here as a
`BillingEvent`. Recording the delivery and applying it happen in the caller's transaction.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from imagegen.models import Subscription, User, WebhookEvent, utcnow
from imagegen.services.plans import record_plan_change

log = logging.getLogger(__name__)

ACTIVE = {"active", "trialing"}
ENDED = {"canceled", "unpaid", "incomplete_expired"}
HANDLED = {
    "order.paid",
    "subscription.created",
    "subscription.active",
    "subscription.updated",
    "subscription.canceled",
    "subscription.uncanceled",
    "subscription.revoked",
}


@dataclass(frozen=True)
class BillingEvent:
    """What we need from a Polar order or subscription event."""

    webhook_id: str
    type: str
    occurred_at: datetime
    customer_external_id: str | None
    customer_email: str | None
    customer_id: str | None
    product_id: str | None
    subscription_id: str | None = None
    status: str | None = None
    cancel_at_period_end: bool = False
    current_period_end: datetime | None = None


def parse_time(value: str | None) -> datetime | None:
    """Polar's ISO 8601 timestamps."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def from_payload(webhook_id: str, payload: object) -> BillingEvent | None:
    """Pick our fields out of a polar-sdk webhook payload; None for types we do not handle."""
    event_type = getattr(payload, "type", "")
    if event_type not in HANDLED:
        return None
    data = payload.data  # type: ignore[attr-defined]
    customer = data.customer
    occurred = parse_time(getattr(data, "modified_at", None)) or parse_time(
        getattr(data, "created_at", None)
    )
    occurred = occurred or parse_time(payload.timestamp) or utcnow()  # type: ignore[attr-defined]
    is_order = event_type == "order.paid"
    return BillingEvent(
        webhook_id=webhook_id,
        type=event_type,
        occurred_at=occurred,
        customer_external_id=getattr(customer, "external_id", None),
        customer_email=getattr(customer, "email", None),
        customer_id=getattr(customer, "id", None),
        product_id=data.product_id,
        subscription_id=data.subscription_id if is_order else data.id,
        status="active" if is_order else data.status,
        cancel_at_period_end=False if is_order else bool(data.cancel_at_period_end),
        current_period_end=None if is_order else parse_time(data.current_period_end),
    )


def _find_user(session: Session, event: BillingEvent) -> User | None:
    """By our id (the checkout's customer_external_id), else by email, case-insensitively."""
    if event.customer_external_id:
        try:
            user = session.get(User, uuid.UUID(event.customer_external_id))
        except ValueError:
            user = None
        if user is not None:
            return user
    if event.customer_email:
        return session.exec(
            select(User).where(func.lower(User.email) == event.customer_email.strip().lower())
        ).first()
    return None


def _record(session: Session, event_id: str, event_type: str) -> bool:
    """Claim a delivery id; False when it was processed before (a redelivery)."""
    stmt = (
        insert(WebhookEvent)
        .values(id=event_id, source="polar", event_type=event_type, outcome="processing")
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(col(WebhookEvent.id))
    )
    return session.execute(stmt).first() is not None


def _target_plan(event: BillingEvent, plans: dict[str, str], current: str) -> str:
    """The plan this event leaves the user on."""
    paid_plan = plans.get(event.product_id or "")
    if event.type == "subscription.revoked":
        return "free_user"
    if event.type == "subscription.canceled" and event.cancel_at_period_end:
        return current  # keeps the plan until the period ends (a revoked event follows)
    if event.status in ACTIVE and paid_plan:
        return paid_plan
    if event.status in ENDED:
        period_over = event.current_period_end is None or event.current_period_end <= utcnow()
        return "free_user" if period_over else current
    return current


def apply_event(
    *, session: Session, event: BillingEvent, plans: dict[str, str]
) -> tuple[str, uuid.UUID | None]:
    """Apply one delivery. Returns (outcome, user id whose plan may have changed).

    Outcomes: applied, duplicate, stale (older than what we hold), unknown_customer.
    """
    if not _record(session, event.webhook_id, event.type):
        return "duplicate", None
    outcome, user_id = _apply(session, event, plans)
    session.get(WebhookEvent, event.webhook_id).outcome = outcome  # type: ignore[union-attr]
    return outcome, user_id


def _apply(
    session: Session, event: BillingEvent, plans: dict[str, str]
) -> tuple[str, uuid.UUID | None]:
    user = _find_user(session, event)
    if user is None:
        log.warning(
            "polar webhook %s: no user for customer %s", event.webhook_id, event.customer_id
        )
        return "unknown_customer", None
    sub = session.exec(
        select(Subscription).where(Subscription.user_id == user.id).with_for_update()
    ).first()
    if sub is None:
        sub = Subscription(user_id=user.id)
    elif sub.source_modified_at and event.occurred_at < sub.source_modified_at:
        return "stale", user.id
    plan = _target_plan(event, plans, user.plan)
    sub.polar_customer_id = event.customer_id or sub.polar_customer_id
    sub.polar_subscription_id = event.subscription_id or sub.polar_subscription_id
    sub.product_id = event.product_id or sub.product_id
    sub.status = "revoked" if event.type == "subscription.revoked" else (event.status or sub.status)
    sub.cancel_at_period_end = event.cancel_at_period_end
    sub.current_period_end = event.current_period_end or sub.current_period_end
    sub.source_modified_at = event.occurred_at
    sub.plan = plan
    record_plan_change(session, user, plan)
    session.add(sub)
    return "applied", user.id


def get_subscription(*, session: Session, user_id: uuid.UUID) -> Subscription | None:
    """The user's subscription row, if Polar ever told us of one."""
    return session.exec(select(Subscription).where(Subscription.user_id == user_id)).first()
