"""A user's plan, and when it changed (the admin console charts paid accounts over time)."""

from sqlmodel import Session

from imagegen.models import PlanChange, User


def record_plan_change(session: Session, user: User, plan: str) -> None:
    """Put the user on `plan`, remembering the change when there is one."""
    if user.plan != plan:
        session.add(PlanChange(user_id=user.id, plan=plan))
    user.plan = plan
    session.add(user)
