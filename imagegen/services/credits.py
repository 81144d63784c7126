"""Credits: a per-user allowance per window in `usage`, debited atomically, with a ledger.

The debit is one SQL statement: PostgreSQL's `INSERT … ON CONFLICT DO UPDATE … WHERE`
locks the row and re-checks the limit against the latest value, so concurrent debits can
never overspend, whatever their interleaving.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel import Session, col, select

from imagegen.errors import OutOfCredits
from imagegen.models import CreditLedger
from imagegen.settings import Settings


@dataclass(frozen=True)
class Allowance:
    """What a plan grants: `limit` credits per `window`."""

    limit: int
    window: timedelta


@dataclass(frozen=True)
class Balance:
    """Credits used and left in the current window, and when it resets (None: not started)."""

    used: int
    limit: int
    resets_at: datetime | None

    @property
    def remaining(self) -> int:
        """Credits left now (more than the plan's limit while extra credits are unspent)."""
        return max(0, self.limit - self.used)

    @property
    def extra(self) -> int:
        """Granted credits beyond the plan's allowance still left (grants push `used` below
        zero).
        """
        return max(0, -self.used)


def usage_key(user_id: uuid.UUID | str) -> str:
    """The `usage` row of a user's credits."""
    return f"credits:{user_id}"


_DEBIT = text(
    """
    INSERT INTO usage (key, points, expire)
    VALUES (:key, :cost, now() + make_interval(secs => :window))
    ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN usage.expire <= now() THEN :cost ELSE usage.points + :cost END,
        expire = CASE WHEN usage.expire <= now()
                      THEN now() + make_interval(secs => :window) ELSE usage.expire END
    WHERE (CASE WHEN usage.expire <= now() THEN :cost ELSE usage.points + :cost END) <= :limit
    RETURNING points, expire
    """
)

_REFUND = text(
    """
    UPDATE usage SET points = GREATEST(points - :amount, 0)
    WHERE key = :key AND expire > now()
    RETURNING points, expire
    """
)

_BALANCE = text("SELECT points, expire FROM usage WHERE key = :key AND expire > now()")


def get_balance(*, session: Session, user_id: uuid.UUID, allowance: Allowance) -> Balance:
    """Credits used and left in the user's current window."""
    row = session.execute(_BALANCE, {"key": usage_key(user_id)}).first()
    if row is None:
        return Balance(used=0, limit=allowance.limit, resets_at=None)
    return Balance(used=int(row.points), limit=allowance.limit, resets_at=row.expire)


def debit(
    *,
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    allowance: Allowance,
    reason: str,
    image_ids: list[uuid.UUID] | None = None,
) -> Balance:
    """Take `amount` credits atomically and write the ledger.

    Args:
        session: the caller's transaction (the ledger rows commit or roll back with it).
        user_id: whose credits.
        amount: credits to take (> 0).
        allowance: the user's plan allowance.
        reason: ledger reason, e.g. "generation".
        image_ids: the images the debit pays for, one ledger row each (cost split evenly).

    Raises:
        OutOfCredits: the allowance for this window would be exceeded; nothing is taken.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    row = None
    if amount <= allowance.limit:
        row = session.execute(
            _DEBIT,
            {
                "key": usage_key(user_id),
                "cost": amount,
                "limit": allowance.limit,
                "window": allowance.window.total_seconds(),
            },
        ).first()
    if row is None:
        balance = get_balance(session=session, user_id=user_id, allowance=allowance)
        raise OutOfCredits(needed=amount, remaining=balance.remaining, resets_at=balance.resets_at)
    ids: list[uuid.UUID | None] = list(image_ids) if image_ids else [None]
    share, extra = divmod(amount, len(ids))
    for index, image_id in enumerate(ids):
        session.add(
            CreditLedger(
                user_id=user_id,
                amount=-(share + (1 if index < extra else 0)),
                reason=reason,
                image_id=image_id,
            )
        )
    return Balance(used=int(row.points), limit=allowance.limit, resets_at=row.expire)


def refund(
    *,
    session: Session,
    user_id: uuid.UUID,
    amount: int,
    reason: str,
    image_id: uuid.UUID | None = None,
) -> None:
    """Give credits back (the caller guarantees once: see generation's status transitions).

    When the window of the debit has already ended, the new window is full anyway; the
    ledger still records the refund.
    """
    if amount <= 0:
        return
    session.execute(_REFUND, {"key": usage_key(user_id), "amount": amount})
    session.add(CreditLedger(user_id=user_id, amount=amount, reason=reason, image_id=image_id))


_GRANT = text(
    """
    INSERT INTO usage (key, points, expire)
    VALUES (:key, -:amount, now() + make_interval(secs => :window))
    ON CONFLICT (key) DO UPDATE SET
        points = CASE WHEN usage.expire <= now() THEN -:amount ELSE usage.points - :amount END,
        expire = CASE WHEN usage.expire <= now()
                      THEN now() + make_interval(secs => :window) ELSE usage.expire END
    RETURNING points, expire
    """
)


def grant(
    *, session: Session, user_id: uuid.UUID, amount: int, allowance: Allowance, reason: str
) -> Balance:
    """Add `amount` credits to the current window (used may go below zero: extra credits),
    and write the ledger.
    """
    if amount <= 0:
        raise ValueError("amount must be positive")
    row = session.execute(
        _GRANT,
        {"key": usage_key(user_id), "amount": amount, "window": allowance.window.total_seconds()},
    ).one()
    session.add(CreditLedger(user_id=user_id, amount=amount, reason=reason))
    return Balance(used=int(row.points), limit=allowance.limit, resets_at=row.expire)


def ledger(*, session: Session, user_id: uuid.UUID, limit: int = 50) -> list[CreditLedger]:
    """The user's latest debits and refunds, newest first."""
    return list(
        session.exec(
            select(CreditLedger)
            .where(CreditLedger.user_id == user_id)
            .order_by(col(CreditLedger.created_at).desc())
            .limit(limit)
        )
    )


def plan_allowance(settings: Settings, plan: str) -> Allowance:
    """The allowance a plan grants under the configured limits and window."""
    return Allowance(
        limit=settings.plan_credits(plan), window=timedelta(hours=settings.credit_window_hours)
    )
