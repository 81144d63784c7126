"""Account lifecycle services: tokens, verification, reset, password change, sessions, deletion."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from imagegen.errors import ImagegenError, InvalidCredentials, InvalidInput
from imagegen.models import Image, Subscription, User, UserSession
from imagegen.providers.mailer import OutboxMailer, SmtpMailer
from imagegen.services import accounts, auth, tokens
from tests.fixtures.users import DEFAULT_PASSWORD

APP = "http://localhost:3000"


def _token(message: accounts.Outgoing) -> str:
    return re.search(r"token=([\w-]+)", message.text).group(1)


class TestTokens:
    def test_single_use(self, db: Session, user: User) -> None:
        token = tokens.issue(session=db, purpose=tokens.VERIFY_EMAIL, user_id=user.id)
        assert tokens.consume(session=db, purpose=tokens.VERIFY_EMAIL, token=token) == user.id
        with pytest.raises(InvalidInput, match="already been used"):
            tokens.consume(session=db, purpose=tokens.VERIFY_EMAIL, token=token)

    def test_expired(self, db: Session, user: User) -> None:
        token = tokens.issue(session=db, purpose=tokens.RESET_PASSWORD, user_id=user.id)
        db.execute(text("UPDATE verification SET expires_at = now() - interval '1 second'"))
        with pytest.raises(InvalidInput, match="expired"):
            tokens.consume(session=db, purpose=tokens.RESET_PASSWORD, token=token)

    def test_purpose_is_checked_and_only_the_hash_is_stored(self, db: Session, user: User) -> None:
        token = tokens.issue(session=db, purpose=tokens.VERIFY_EMAIL, user_id=user.id)
        assert (
            db.execute(
                text("SELECT count(*) FROM verification WHERE value = :t"), {"t": token}
            ).scalar()
            == 0
        )
        with pytest.raises(InvalidInput):
            tokens.consume(session=db, purpose=tokens.RESET_PASSWORD, token=token)

    def test_lifetimes(self) -> None:
        assert {
            tokens.VERIFY_EMAIL: timedelta(hours=24),
            tokens.RESET_PASSWORD: timedelta(hours=1),
        } == tokens.LIFETIMES


class TestVerificationAndReset:
    def test_verify_email(self, db: Session, user: User) -> None:
        message = accounts.verification_email(session=db, user=user, api_url=APP)
        assert message.to == user.email and f"{APP}/api/auth/verify-email?token=" in message.text
        assert accounts.verify_email(session=db, token=_token(message)).email_verified is True

    def test_reset_sets_password_and_signs_out_everywhere(self, db: Session, user: User) -> None:
        for _ in range(2):
            auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        message = accounts.password_reset_email(session=db, email=user.email.upper(), app_url=APP)
        assert message is not None and f"{APP}/reset-password?token=" in message.text
        accounts.reset_password(session=db, token=_token(message), new_password="brand-new-secret")
        assert db.exec(select(UserSession).where(UserSession.user_id == user.id)).all() == []
        assert (
            auth.authenticate(session=db, email=user.email, password="brand-new-secret").id
            == user.id
        )
        with pytest.raises(InvalidCredentials):
            auth.authenticate(session=db, email=user.email, password=DEFAULT_PASSWORD)
        with pytest.raises(InvalidInput, match="already been used"):
            accounts.reset_password(session=db, token=_token(message), new_password="another-one-1")

    def test_unknown_email_gets_no_message(self, db: Session) -> None:
        assert (
            accounts.password_reset_email(session=db, email="nobody@example.com", app_url=APP)
            is None
        )
        assert accounts.password_reset_email(session=db, email="not an email", app_url=APP) is None

    def test_short_new_password_keeps_the_token(self, db: Session, user: User) -> None:
        message = accounts.password_reset_email(session=db, email=user.email, app_url=APP)
        with pytest.raises(InvalidInput, match="8 to 128"):
            accounts.reset_password(session=db, token=_token(message), new_password="short")
        accounts.reset_password(session=db, token=_token(message), new_password="long-enough-now")


class TestPasswordNameSessions:
    def test_change_password_needs_the_current_one_and_signs_out_others(
        self, db: Session, user: User
    ) -> None:
        _, mine = auth.create_session(session=db, user=user, ip_address="1.1.1.1", user_agent="A")
        auth.create_session(session=db, user=user, ip_address="2.2.2.2", user_agent="B")
        with pytest.raises(InvalidCredentials, match="current password"):
            accounts.change_password(
                session=db,
                user=user,
                current="wrong-one",
                new="new-password-1",
                keep_session_id=mine.id,
            )
        accounts.change_password(
            session=db,
            user=user,
            current=DEFAULT_PASSWORD,
            new="new-password-1",
            keep_session_id=mine.id,
        )
        assert [s.id for s in accounts.list_sessions(session=db, user_id=user.id)] == [mine.id]

    def test_change_name(self, db: Session, user: User) -> None:
        assert accounts.change_name(session=db, user=user, name="  Ada  King ").name == "Ada King"
        with pytest.raises(InvalidInput):
            accounts.change_name(session=db, user=user, name="   ")

    def test_revoke_is_owner_checked(self, db: Session, user: User) -> None:
        from tests.fixtures.users import create_user

        _, theirs = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        intruder = create_user(db, name="Mallory")
        with pytest.raises(InvalidInput):
            accounts.revoke_session(session=db, user_id=intruder.id, session_id=theirs.id)
        with pytest.raises(InvalidInput):
            accounts.revoke_session(session=db, user_id=user.id, session_id="nonsense")
        accounts.revoke_session(session=db, user_id=user.id, session_id=theirs.id)
        assert accounts.list_sessions(session=db, user_id=user.id) == []


class TestDeleteAccount:
    def test_needs_the_email_typed(self, db: Session, user: User) -> None:
        with pytest.raises(InvalidInput, match="Type your email"):
            accounts.delete_account(
                session=db,
                user=user,
                confirm_email="someone@else.com",
                delete_file=lambda k, f: None,
            )

    def test_refuses_while_a_subscription_is_active(self, db: Session, user: User) -> None:
        db.add(Subscription(user_id=user.id, plan="pro_user", status="active"))
        db.flush()
        with pytest.raises(ImagegenError, match="Manage billing"):
            accounts.delete_account(
                session=db, user=user, confirm_email=user.email, delete_file=lambda k, f: None
            )

    def test_removes_rows_and_files_after_commit(self, engine) -> None:
        from imagegen.db import session_scope
        from tests.fixtures.users import create_user

        removed: list[str] = []
        with session_scope() as db:
            user = create_user(db)
            user_id, email = user.id, user.email
            db.add(
                Image(
                    user_id=user.id, prompt="p", status="completed", storage_key=f"{user.id}/a.png"
                )
            )
        with session_scope() as db:
            accounts.delete_account(
                session=db,
                user=db.get(User, user_id),
                confirm_email=email.upper(),
                delete_file=lambda key, file_id: removed.append(key),
            )
            assert removed == []
        assert removed == [f"{user_id}/a.png"]
        with session_scope() as db:
            assert db.get(User, user_id) is None
            assert db.exec(select(Image).where(Image.user_id == user_id)).all() == []


def test_smtp_mailer_delivers_to_a_real_smtp_server(smtp_server) -> None:
    inbox, port = smtp_server
    SmtpMailer(
        host="127.0.0.1", port=port, sender="imagegen <no-reply@localhost>", starttls=False
    ).send(to="ada@example.com", subject="Hello", text="Body with a link http://x/?token=abc")
    assert inbox.messages[-1]["To"] == "ada@example.com"
    assert "token=abc" in inbox.body()


def test_outbox_mailer_writes_eml(tmp_path) -> None:
    OutboxMailer(folder=tmp_path, sender="s@localhost").send(
        to="a@example.com", subject="S", text="T"
    )
    (path,) = tmp_path.glob("*.eml")
    assert "Subject: S" in path.read_text()


class TestSignInMethods:
    def _identity(self, account_id: str):
        from imagegen.providers.oauth import Identity

        return Identity(
            provider="github",
            account_id=account_id,
            email=None,
            email_verified=False,
            name="x",
            access_token="t",
            refresh_token=None,
            scope=None,
        )

    def test_link_then_unlink_but_never_the_last(self, db: Session, user: User) -> None:
        accounts.link_identity(session=db, user_id=user.id, identity=self._identity("gh-1"))
        db.flush()
        accounts.unlink_method(session=db, user_id=user.id, provider="credential")
        db.flush()
        with pytest.raises(InvalidInput, match="only way to sign in"):
            accounts.unlink_method(session=db, user_id=user.id, provider="github")
        with pytest.raises(InvalidInput, match="not linked"):
            accounts.unlink_method(session=db, user_id=user.id, provider="google")

    def test_an_identity_belongs_to_one_user(self, db: Session, user: User) -> None:
        from tests.fixtures.users import create_user

        accounts.link_identity(session=db, user_id=user.id, identity=self._identity("gh-2"))
        db.flush()
        other = create_user(db, name="Other")
        with pytest.raises(InvalidInput, match="already linked"):
            accounts.link_identity(session=db, user_id=other.id, identity=self._identity("gh-2"))


class TestFeedKey:
    """The secret naming a user's live feed: random per user, rotated whenever sessions are
    revoked, so tabs of a revoked session hear nothing more."""

    @staticmethod
    def _key(db: Session, user: User) -> str:
        return db.exec(
            text('select feed_key from "user" where id = :id'), params={"id": user.id}
        ).one()[0]  # type: ignore[call-overload]

    def test_each_user_gets_256_random_bits(self, db: Session, user: User) -> None:
        from tests.fixtures.users import create_user

        other = create_user(db, name="Grace")
        assert re.fullmatch(r"[0-9a-f]{64}", user.feed_key)
        assert user.feed_key != other.feed_key
        # Rows written without the application (as the migration fills old users) get one too.
        db.exec(
            text(
                "insert into \"user\" (id, name, email) values (gen_random_uuid(), 'Raw', 'raw@example.com')"
            )
        )  # type: ignore[call-overload]
        raw = db.exec(text("select feed_key from \"user\" where email = 'raw@example.com'")).one()[
            0
        ]  # type: ignore[call-overload]
        assert re.fullmatch(r"[0-9a-f]{64}", raw) and raw not in (user.feed_key, other.feed_key)

    def test_sign_out_everywhere_else_rotates_it(self, db: Session, user: User) -> None:
        _, mine = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        before = self._key(db, user)
        accounts.revoke_other_sessions(session=db, user_id=user.id, keep_session_id=mine.id)
        assert self._key(db, user) != before

    def test_password_reset_rotates_it(self, db: Session, user: User) -> None:
        before = self._key(db, user)
        message = accounts.password_reset_email(session=db, email=user.email, app_url=APP)
        accounts.reset_password(session=db, token=_token(message), new_password="long-enough-now")
        assert self._key(db, user) != before

    def test_password_change_rotates_it(self, db: Session, user: User) -> None:
        _, mine = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        before = self._key(db, user)
        accounts.change_password(
            session=db,
            user=user,
            current=DEFAULT_PASSWORD,
            new="new-password-1",
            keep_session_id=mine.id,
        )
        assert self._key(db, user) != before

    def test_signing_in_again_keeps_it(self, db: Session, user: User) -> None:
        before = self._key(db, user)
        auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        assert self._key(db, user) == before
