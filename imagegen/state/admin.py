"""The admin console. Every event reloads the acting user from the database and goes through
`services.admin`, which refuses non-admins with "not found"; nothing admin reaches a tab of
someone who is not one.
"""

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import reflex as rx

from imagegen import routes
from imagegen.cards import credits_used_text
from imagegen.db import session_scope
from imagegen.errors import ImagegenError
from imagegen.models import PLAN_LABELS, User
from imagegen.services import admin
from imagegen.settings import get_settings
from imagegen.state.auth import AuthState


def _when(value: Any) -> str:
    return f"{value:%b %-d, %H:%M}" if value else "never"


def _snapshot(actor_id: str, search: str) -> dict[str, Any]:
    with session_scope() as db:
        actor = admin.require_admin(db.get(User, uuid.UUID(actor_id)))
        users = admin.list_users(session=db, actor=actor, search=search)
        return {
            "users": [
                {
                    "id": str(u.id),
                    "name": u.name,
                    "email": u.email,
                    "plan": u.plan,
                    "role": u.role,
                    "disabled": "1" if u.disabled else "",
                    "credits_used": credits_used_text(u.credits_used),
                    "images": str(u.images),
                    "last_seen": _when(u.last_seen),
                }
                for u in users
            ],
            "jobs": [
                {
                    "id": str(j.id)[:8],
                    "email": j.email,
                    "status": j.status,
                    "seconds": f"{j.seconds:.1f} s" if j.seconds is not None else "—",
                    "attempts": str(j.attempts),
                    "error": j.error or "",
                    "when": _when(j.created_at),
                }
                for j in admin.recent_jobs(session=db, actor=actor)
            ],
            "failures": [
                {"reason": reason, "count": str(count)}
                for reason, count in admin.failures_by_reason(session=db, actor=actor)
            ],
            "webhooks": [
                {
                    "id": w.id,
                    "type": w.event_type,
                    "outcome": w.outcome,
                    "when": _when(w.received_at),
                }
                for w in admin.webhook_log(session=db, actor=actor)
            ],
            "audit": [
                {
                    "who": a.actor_email,
                    "action": a.action,
                    "target": a.target_email or "",
                    "details": a.details,
                    "when": _when(a.created_at),
                }
                for a in admin.audit_log(session=db, actor=actor)
            ],
            "signups": admin.signups_by_day(session=db, actor=actor),
            "paid": admin.paid_by_day(session=db, actor=actor),
            "plans": admin.plan_counts(session=db, actor=actor),
        }


def _act(actor_id: str, action: Callable[..., Any], **kwargs: Any) -> None:
    with session_scope() as db:
        action(session=db, actor=db.get(User, uuid.UUID(actor_id)), **kwargs)


class AdminState(AuthState):
    """What /admin shows: users, jobs, failures, webhooks, the audit log and charts."""

    # The role was checked (allowed says the result); nothing else is filled for non-admins.
    checked: bool = False
    allowed: bool = False
    search: str = ""
    users: list[dict[str, str]] = []
    jobs: list[dict[str, str]] = []
    failures: list[dict[str, str]] = []
    webhooks: list[dict[str, str]] = []
    audit: list[dict[str, str]] = []
    signups: list[dict[str, Any]] = []
    paid: list[dict[str, Any]] = []
    plans: dict[str, int] = {}
    # Settings this server runs without and what that means (filled for admins only).
    config_notes: list[dict[str, str]] = []

    async def _reload(self) -> bool:
        if not await self._refresh_user():
            return False
        try:
            data = await asyncio.to_thread(_snapshot, self._user_id, self.search)
        except admin.NotFound:
            self.allowed, self.checked = False, True
            return False
        self.users, self.jobs, self.failures = data["users"], data["jobs"], data["failures"]
        self.webhooks, self.audit = data["webhooks"], data["audit"]
        self.signups, self.paid, self.plans = data["signups"], data["paid"], data["plans"]
        self.config_notes = admin.configuration_notes(get_settings())
        self.allowed, self.checked = True, True
        return True

    @rx.event
    async def load(self):
        """on_load: everything, or nothing at all for non-admins."""
        await self._reload()

    @rx.event
    async def set_search(self, value: str):
        """Filter the users by email or name."""
        self.search = value[:100] if isinstance(value, str) else ""
        await self._reload()

    async def _run(self, action: Callable[..., Any], done: str, **kwargs: Any):
        if not await self._refresh_user():
            return rx.redirect(routes.LOGIN)
        try:
            await asyncio.to_thread(_act, self._user_id, action, **kwargs)
        except admin.NotFound:
            self.allowed = False
            return rx.toast.error("Not found.")
        except ImagegenError as exc:
            return rx.toast.error(str(exc))
        await self._reload()
        return rx.toast.success(done, duration=2500)  # short: it sits over the action column

    @rx.event
    async def change_plan(self, user_id: str, plan: str):
        """Put a user on another plan."""
        label = PLAN_LABELS.get(plan, plan)
        return await self._run(admin.set_plan, f"Plan set to {label}.", user_id=user_id, plan=plan)

    @rx.event
    async def grant(self, form: dict[str, str]):
        """Give a user credits for the current window."""
        raw = form.get("amount", "")
        amount = int(raw) if raw.strip().isdigit() and len(raw.strip()) <= 9 else 0
        return await self._run(
            admin.grant_credits,
            f"Granted {amount} credits.",
            user_id=form.get("user_id", ""),
            amount=amount,
            settings=get_settings(),
        )

    @rx.event
    async def set_disabled(self, user_id: str, disabled: bool):
        """Disable or re-enable an account."""
        done = "Account disabled; it was signed out everywhere." if disabled else "Account enabled."
        return await self._run(admin.set_disabled, done, user_id=user_id, disabled=disabled)
