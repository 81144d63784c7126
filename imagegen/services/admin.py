"""The admin console's reads and actions. Every function takes the acting user and refuses
anyone who is not an admin with the same "not found" an unknown page gets; every action
writes an audit row in the same transaction.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, func, or_, text
from sqlmodel import Session, col, select

from imagegen.errors import ImagegenError, InvalidInput
from imagegen.models import (
    PLANS,
    ApiKey,
    AuditLog,
    Image,
    Usage,
    User,
    UserSession,
    WebhookEvent,
    utcnow,
)
from imagegen.services import auth, credits
from imagegen.services.plans import record_plan_change
from imagegen.settings import Settings

CLI_ACTOR = "command line"
MAX_GRANT = 100_000


class NotFound(ImagegenError):
    """What a non-admin gets from anything admin: the page or action does not exist."""

    message = "Not found."


def require_admin(actor: User | None) -> User:
    """The actor, if an active admin.

    Raises:
        NotFound: anyone else.
    """
    if actor is None or actor.role != "admin" or actor.disabled:
        raise NotFound()
    return actor


def audit(
    session: Session,
    *,
    actor: User | None,
    action: str,
    target: User | None = None,
    **details: object,
) -> AuditLog:
    """Record one admin action (actor None: the command line)."""
    row = AuditLog(
        actor_id=actor.id if actor else None,
        actor_email=actor.email if actor else CLI_ACTOR,
        action=action,
        target_user_id=target.id if target else None,
        target_email=target.email if target else None,
        details=json.dumps(details, default=str, sort_keys=True),
    )
    session.add(row)
    return row


# -- the command line ----------------------------------------------------------


def set_role_by_email(*, session: Session, email: str, role: str) -> User:
    """`imagegen admin grant|revoke EMAIL`: make someone an admin or a user again.

    Raises:
        InvalidInput: no account with that email.
    """
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None:
        raise InvalidInput(f"No account with the email {email}.")
    before, user.role = user.role, role
    session.add(user)
    audit(session, actor=None, action=f"role.{role}", target=user, before=before)
    return user


# -- users -------------------------------------------------------------------


@dataclass(frozen=True)
class UserRow:
    """One line of the users table."""

    id: uuid.UUID
    name: str
    email: str
    plan: str
    role: str
    disabled: bool
    credits_used: int
    images: int
    last_seen: datetime | None
    joined: datetime


def list_users(
    *, session: Session, actor: User, search: str = "", limit: int = 50
) -> list[UserRow]:
    """Users matching `search` (email or name), newest first, with their usage."""
    require_admin(actor)
    images = (
        select(func.count()).select_from(Image).where(Image.user_id == User.id).scalar_subquery()
    )
    last_seen = (
        select(func.max(UserSession.updated_at))
        .where(UserSession.user_id == User.id)
        .scalar_subquery()
    )
    used = (  # the `usage` row of each user's current window (keys are `credits:<id>`)
        select(Usage.points)
        .where(
            Usage.key == func.concat(credits.usage_key(""), cast(User.id, String)),
            col(Usage.expire) > func.now(),
        )
        .scalar_subquery()
    )
    stmt = select(User, images, last_seen, used).order_by(col(User.created_at).desc()).limit(limit)
    if search.strip():
        pattern = f"%{search.strip().lower()}%"
        stmt = stmt.where(or_(col(User.email).like(pattern), func.lower(User.name).like(pattern)))
    rows = []
    for user, image_count, seen, points in session.execute(stmt).all():
        rows.append(
            UserRow(
                id=user.id,
                name=user.name,
                email=user.email,
                plan=user.plan,
                role=user.role,
                disabled=user.disabled,
                credits_used=int(points or 0),
                images=int(image_count or 0),
                last_seen=seen,
                joined=user.created_at,
            )
        )
    return rows


def _target(session: Session, user_id: uuid.UUID | str) -> User:
    try:
        user = session.get(User, uuid.UUID(str(user_id)))
    except ValueError:
        user = None
    if user is None:
        raise InvalidInput("No such user.")
    return user


def set_plan(*, session: Session, actor: User, user_id: uuid.UUID | str, plan: str) -> User:
    """Put a user on a plan (outside Polar: a comp, a fix)."""
    require_admin(actor)
    if plan not in PLANS:
        raise InvalidInput(f"Plan must be one of {', '.join(PLANS)}.")
    user = _target(session, user_id)
    before = user.plan
    record_plan_change(session, user, plan)
    audit(session, actor=actor, action="user.plan", target=user, before=before, after=plan)
    return user


def grant_credits(
    *, session: Session, actor: User, user_id: uuid.UUID | str, amount: int, settings: Settings
) -> credits.Balance:
    """Give a user extra credits for the current window."""
    require_admin(actor)
    if not 1 <= amount <= MAX_GRANT:
        raise InvalidInput(f"Grant 1 to {MAX_GRANT:,} credits.")
    user = _target(session, user_id)
    allowance = credits.plan_allowance(settings, user.plan)
    balance = credits.grant(
        session=session, user_id=user.id, amount=amount, allowance=allowance, reason="admin grant"
    )
    audit(session, actor=actor, action="user.credits", target=user, granted=amount)
    return balance


def set_disabled(
    *, session: Session, actor: User, user_id: uuid.UUID | str, disabled: bool
) -> User:
    """Disable (sign out everywhere, keys stop working) or re-enable an account."""
    require_admin(actor)
    user = _target(session, user_id)
    if user.id == actor.id:
        raise InvalidInput("You cannot disable your own account.")
    user.disabled = disabled
    session.add(user)
    ended = 0
    if disabled:
        result = session.execute(delete(UserSession).where(col(UserSession.user_id) == user.id))
        ended = result.rowcount  # type: ignore[attr-defined]
        auth.rotate_feed_key(session=session, user_id=user.id)  # its open tabs hear nothing
    audit(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        target=user,
        sessions_ended=ended,
    )
    return user


# -- what happened -------------------------------------------------------------


@dataclass(frozen=True)
class JobRow:
    """One recent generation."""

    id: uuid.UUID
    email: str
    status: str
    seconds: float | None
    attempts: int
    error: str | None
    created_at: datetime


def recent_jobs(*, session: Session, actor: User, limit: int = 50) -> list[JobRow]:
    """The latest generations, with outcome and latency (queued → completed)."""
    require_admin(actor)
    rows = session.execute(
        select(Image, User.email)
        .join(User, col(User.id) == Image.user_id)
        .order_by(col(Image.created_at).desc())
        .limit(limit)
    ).all()
    return [
        JobRow(
            id=image.id,
            email=email,
            status=image.status,
            seconds=(image.completed_at - image.created_at).total_seconds()
            if image.completed_at
            else None,
            attempts=image.attempts,
            error=image.error,
            created_at=image.created_at,
        )
        for image, email in rows
    ]


def failures_by_reason(*, session: Session, actor: User, days: int = 7) -> list[tuple[str, int]]:
    """Failed generations of the last `days` days, grouped by reason, most frequent first."""
    require_admin(actor)
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(Image.error, func.count())
        .where(Image.status == "failed", Image.created_at >= since)
        .group_by(Image.error)
        .order_by(func.count().desc())
    ).all()
    return [(reason or "unknown", int(count)) for reason, count in rows]


def webhook_log(*, session: Session, actor: User, limit: int = 50) -> list[WebhookEvent]:
    """The latest webhook deliveries and what became of them."""
    require_admin(actor)
    return list(
        session.exec(
            select(WebhookEvent).order_by(col(WebhookEvent.received_at).desc()).limit(limit)
        )
    )


def audit_log(*, session: Session, actor: User, limit: int = 50) -> list[AuditLog]:
    """The latest admin actions."""
    require_admin(actor)
    return list(
        session.exec(select(AuditLog).order_by(col(AuditLog.created_at).desc()).limit(limit))
    )


def signups_by_day(*, session: Session, actor: User, days: int = 30) -> list[dict[str, str | int]]:
    """New accounts per day for the last `days` days, split by the plan they are on now."""
    require_admin(actor)
    rows = session.execute(
        text(
            """
            SELECT d::date AS day,
                   count(u.id) FILTER (WHERE u.plan = 'free_user') AS free,
                   count(u.id) FILTER (WHERE u.plan = 'pro_user') AS pro,
                   count(u.id) FILTER (WHERE u.plan = 'gold_user') AS gold
            FROM generate_series(now()::date - (:days - 1), now()::date, interval '1 day') AS d
            LEFT JOIN "user" u ON u.created_at::date = d::date
            GROUP BY d ORDER BY d
            """
        ),
        {"days": days},
    ).all()
    return [
        {"day": f"{row.day:%b %-d}", "Free": row.free, "Pro": row.pro, "Gold": row.gold}
        for row in rows
    ]


def paid_by_day(*, session: Session, actor: User, days: int = 30) -> list[dict[str, str | int]]:
    """Accounts on Pro and on Gold at the end of each of the last `days` days."""
    require_admin(actor)
    rows = session.execute(
        text(
            """
            WITH days AS (
                SELECT generate_series(now()::date - (:days - 1), now()::date, interval '1 day')::date
                    AS day
            ), latest AS (
                SELECT d.day, c.user_id,
                       (array_agg(c.plan ORDER BY c.changed_at DESC))[1] AS plan
                FROM days d JOIN plan_change c ON c.changed_at < d.day + 1
                GROUP BY d.day, c.user_id
            )
            SELECT d.day,
                   count(l.user_id) FILTER (WHERE l.plan = 'pro_user') AS pro,
                   count(l.user_id) FILTER (WHERE l.plan = 'gold_user') AS gold
            FROM days d LEFT JOIN latest l ON l.day = d.day
            GROUP BY d.day ORDER BY d.day
            """
        ),
        {"days": days},
    ).all()
    return [{"day": f"{row.day:%b %-d}", "Pro": row.pro, "Gold": row.gold} for row in rows]


def plan_counts(*, session: Session, actor: User) -> dict[str, int]:
    """How many accounts are on each plan now, and how many API keys are active."""
    require_admin(actor)
    counts = dict(session.execute(select(User.plan, func.count()).group_by(User.plan)).all())
    keys = session.execute(
        select(func.count()).select_from(ApiKey).where(col(ApiKey.revoked_at).is_(None))
    ).scalar()
    return {**{plan: int(counts.get(plan, 0)) for plan in PLANS}, "api_keys": int(keys or 0)}


def configuration_notes(settings: Settings) -> list[dict[str, str]]:
    """What this server runs without, for the admin console (users only see plain words):
    the setting to change and what users notice meanwhile.
    """
    notes = []
    if not settings.openai_enabled:
        notes.append(
            {
                "setting": "OPENAI_API_KEY",
                "effect": "Not set: images are drawn by the offline generator, not a model.",
            }
        )
    if not settings.polar_access_token:
        notes.append(
            {
                "setting": "POLAR_ACCESS_TOKEN",
                "effect": "Not set: paid plans cannot be bought (Billing shows them only).",
            }
        )
    if not settings.smtp_host:
        notes.append(
            {
                "setting": "SMTP_HOST",
                "effect": "Not set: emails are written to the outbox folder, not sent.",
            }
        )
    if not settings.imagekit_enabled:
        notes.append(
            {
                "setting": "IMAGEKIT_PRIVATE_KEY",
                "effect": "Not set: images are stored on this server's disk.",
            }
        )
    return notes
