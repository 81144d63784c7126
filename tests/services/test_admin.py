"""The admin console's service: only active admins get anything (everyone else "not found",
nothing changed, nothing logged); every action is in the audit log; disabling an account
signs it out everywhere and stops its keys; `imagegen admin grant EMAIL` works."""

import uuid

import pytest
from sqlalchemy import func
from sqlmodel import Session, col, select

from imagegen import cli
from imagegen.db import session_scope
from imagegen.errors import InvalidCredentials, InvalidInput
from imagegen.models import AuditLog, PlanChange, User, UserSession
from imagegen.services import admin, api_keys, auth, credits
from imagegen.settings import get_settings
from tests.fixtures.users import DEFAULT_PASSWORD, create_user

pytestmark = [pytest.mark.usefixtures("engine", "redis_client")]


def people() -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An admin, a normal user, and a disabled admin."""
    with session_scope() as db:
        boss = create_user(db)
        boss.role = "admin"
        normal = create_user(db)
        gone = create_user(db)
        gone.role, gone.disabled = "admin", True
        return boss.id, normal.id, gone.id


def audit_rows(db: Session, *user_ids: uuid.UUID) -> list[AuditLog]:
    """Audit rows about these users (other tests leave theirs in the shared database)."""
    return list(
        db.exec(
            select(AuditLog)
            .where(col(AuditLog.target_user_id).in_(user_ids))
            .order_by(col(AuditLog.created_at))
        )
    )


ACTIONS = {
    "list users": lambda db, actor, target: admin.list_users(session=db, actor=actor),
    "recent jobs": lambda db, actor, target: admin.recent_jobs(session=db, actor=actor),
    "failures": lambda db, actor, target: admin.failures_by_reason(session=db, actor=actor),
    "webhook log": lambda db, actor, target: admin.webhook_log(session=db, actor=actor),
    "audit log": lambda db, actor, target: admin.audit_log(session=db, actor=actor),
    "signups": lambda db, actor, target: admin.signups_by_day(session=db, actor=actor),
    "plan counts": lambda db, actor, target: admin.plan_counts(session=db, actor=actor),
    "set plan": lambda db, actor, target: admin.set_plan(
        session=db, actor=actor, user_id=target, plan="gold_user"
    ),
    "grant credits": lambda db, actor, target: admin.grant_credits(
        session=db, actor=actor, user_id=target, amount=5, settings=get_settings()
    ),
    "disable": lambda db, actor, target: admin.set_disabled(
        session=db, actor=actor, user_id=target, disabled=True
    ),
}


@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("who", ["normal user", "disabled admin"])
def test_only_active_admins_get_anything(action: str, who: str) -> None:
    boss, normal, gone = people()
    actor_id = normal if who == "normal user" else gone
    with pytest.raises(admin.NotFound), session_scope() as db:
        ACTIONS[action](db, db.get(User, actor_id), boss)
    with session_scope() as db:
        target = db.get(User, boss)
        assert (target.plan, target.disabled) == ("free_user", False)
        assert audit_rows(db, boss, normal, gone) == []


def test_actions_are_audited_and_take_effect() -> None:
    boss, normal, _gone = people()
    with session_scope() as db:
        actor = db.get(User, boss)
        admin.set_plan(session=db, actor=actor, user_id=normal, plan="pro_user")
        balance = admin.grant_credits(
            session=db, actor=actor, user_id=normal, amount=25, settings=get_settings()
        )
        assert balance.remaining == 125  # Pro's 100 and 25 more this window
        with pytest.raises(InvalidInput, match="Plan must be one of"):
            admin.set_plan(session=db, actor=actor, user_id=normal, plan="platinum")
    with session_scope() as db:
        rows = sorted(audit_rows(db, normal), key=lambda r: r.action)
        assert [(r.action, r.actor_id, r.target_user_id) for r in rows] == [
            ("user.credits", boss, normal),
            ("user.plan", boss, normal),
        ]
        assert '"after": "pro_user"' in rows[1].details and '"granted": 25' in rows[0].details
        ledger = credits.ledger(session=db, user_id=normal)
        assert [(e.amount, e.reason) for e in ledger] == [(25, "admin grant")]


def test_disabling_signs_out_everywhere_and_stops_keys_and_sign_in() -> None:
    boss, normal, _gone = people()
    with session_scope() as db:
        user = db.get(User, normal)
        token, _row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        key, _ = api_keys.create_key(session=db, user_id=normal, name="k")
        email, feed_key = user.email, user.feed_key
    with session_scope() as db:
        admin.set_disabled(session=db, actor=db.get(User, boss), user_id=normal, disabled=True)
    with session_scope() as db:
        assert db.exec(select(UserSession).where(UserSession.user_id == normal)).all() == []
        assert db.get(User, normal).feed_key != feed_key  # open tabs hear nothing more
        assert auth.resolve_session(session=db, token=token) is None
        assert api_keys.authenticate(session=db, plaintext=key) is None
        with pytest.raises(InvalidInput, match="This account is disabled"):
            auth.authenticate(session=db, email=email, password=DEFAULT_PASSWORD)
        with pytest.raises(InvalidCredentials):  # a wrong password learns nothing
            auth.authenticate(session=db, email=email, password="wrong-password-1")
        with pytest.raises(InvalidInput, match="your own account"):
            admin.set_disabled(session=db, actor=db.get(User, boss), user_id=boss, disabled=True)
    with session_scope() as db:
        admin.set_disabled(session=db, actor=db.get(User, boss), user_id=normal, disabled=False)
    with session_scope() as db:
        assert api_keys.authenticate(session=db, plaintext=key).id == normal
        assert [r.action for r in audit_rows(db, normal)] == ["user.disable", "user.enable"]


def test_reads_show_usage(capsys) -> None:
    boss, normal, _gone = people()
    with session_scope() as db:
        target = db.get(User, normal)
        credits.debit(
            session=db,
            user_id=normal,
            amount=3,
            allowance=credits.plan_allowance(get_settings(), "free_user"),
            reason="generation",
        )
    with session_scope() as db:
        rows = admin.list_users(session=db, actor=db.get(User, boss), search=target.email[:12])
        assert [r.email for r in rows] == [target.email]
        assert rows[0].images == 0 and rows[0].credits_used == 3
        days = admin.signups_by_day(session=db, actor=db.get(User, boss))
        assert len(days) == 30 and sum(d["Free"] for d in days) >= 2
        counts = admin.plan_counts(session=db, actor=db.get(User, boss))
        for plan in ("free_user", "pro_user", "gold_user"):
            on_plan = select(func.count()).select_from(User).where(User.plan == plan)
            assert counts[plan] == db.exec(on_plan).one()


def test_command_line_grants_and_revokes_the_role(capsys) -> None:
    with session_scope() as db:
        email = create_user(db).email
    assert cli.run_command(["admin", "grant", email.upper()]) == 0
    assert f"{email} is now an admin." in capsys.readouterr().out
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == email)).one()
        assert user.role == "admin"
        [row] = audit_rows(db, user.id)
        assert (row.actor_email, row.action, row.target_email) == (
            "command line",
            "role.admin",
            email,
        )
    assert cli.run_command(["admin", "revoke", email]) == 0
    assert cli.run_command(["admin", "grant", "nobody@example.com"]) == 1
    assert "No account with the email nobody@example.com." in capsys.readouterr().err


def test_paid_accounts_over_time_follow_plan_changes() -> None:
    boss, normal, _gone = people()

    def today() -> dict:
        with session_scope() as db:
            return admin.paid_by_day(session=db, actor=db.get(User, boss))[-1]

    before = today()
    with session_scope() as db:
        admin.set_plan(session=db, actor=db.get(User, boss), user_id=normal, plan="pro_user")
    assert today() == {**before, "Pro": before["Pro"] + 1}
    with session_scope() as db:
        admin.set_plan(session=db, actor=db.get(User, boss), user_id=normal, plan="gold_user")
    assert today() == {**before, "Gold": before["Gold"] + 1}
    with session_scope() as db:
        days = admin.paid_by_day(session=db, actor=db.get(User, boss))
        assert len(days) == 30
        changes = db.exec(select(PlanChange.plan).where(PlanChange.user_id == normal)).all()
        assert sorted(changes) == ["gold_user", "pro_user"]


def test_configuration_notes_name_the_settings_for_admins_only() -> None:
    bare = get_settings().model_copy(
        update={"openai_api_key": None, "polar_access_token": None, "smtp_host": None}
    )
    notes = {n["setting"]: n["effect"] for n in admin.configuration_notes(bare)}
    assert {"OPENAI_API_KEY", "POLAR_ACCESS_TOKEN", "SMTP_HOST"} <= set(notes)
    configured = bare.model_copy(
        update={"openai_api_key": "sk-x", "polar_access_token": "polar_x", "smtp_host": "mail"}
    )
    assert {n["setting"] for n in admin.configuration_notes(configured)} <= {"IMAGEKIT_PRIVATE_KEY"}


def test_user_facing_words_name_no_setting() -> None:
    """The pages users see say what happens in plain words; only the admin console and the
    logs name the settings."""
    from pathlib import Path

    import imagegen

    root = Path(imagegen.__file__).parent
    for page in [*root.glob("pages/*.py"), *root.glob("components/*.py")]:
        if page.name == "admin.py":
            continue
        source = page.read_text()
        for name in ("OPENAI_API_KEY", "POLAR_ACCESS_TOKEN", "SMTP_HOST", "IMAGEKIT_"):
            assert name not in source, f"{page.name} shows {name} to users"
