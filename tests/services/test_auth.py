"""Registration, password checks and server-side sessions against the real PostgreSQL."""

from datetime import timedelta

import pytest
from passlib.context import CryptContext
from sqlmodel import Session, select

from imagegen import security
from imagegen.errors import EmailTaken, InvalidCredentials, InvalidInput
from imagegen.models import Account, User, UserSession, utcnow
from imagegen.services import auth
from tests.fixtures.users import DEFAULT_PASSWORD, create_user, unique_email


class TestPasswordHashing:
    def test_hash_is_argon2_and_verifies(self) -> None:
        hashed = security.hash_password("correct horse battery")
        assert hashed.startswith("$argon2id$")
        assert security.verify_password("correct horse battery", hashed) == (True, None)
        assert security.verify_password("wrong horse battery", hashed)[0] is False

    def test_unknown_user_is_checked_against_a_dummy_hash(self) -> None:
        assert security.verify_password("anything", None) == (False, None)

    def test_outdated_parameters_are_rehashed(self) -> None:
        weak = CryptContext(schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1)
        old_hash = weak.hash("correct horse battery")
        ok, new_hash = security.verify_password("correct horse battery", old_hash)
        assert ok
        assert new_hash is not None and new_hash != old_hash
        assert security.verify_password("correct horse battery", new_hash) == (True, None)

    def test_malformed_hash_is_a_wrong_password(self) -> None:
        assert security.verify_password("x" * 10, "not-a-hash") == (False, None)


class TestRegister:
    def test_creates_user_and_credential_account(self, db: Session) -> None:
        email = unique_email("Grace")
        user = create_user(db, name="  Grace   Hopper ", email=email.upper())
        assert user.email == email.lower()
        assert user.name == "Grace Hopper"
        assert user.plan == "free_user"
        account = db.exec(select(Account).where(Account.user_id == user.id)).one()
        assert account.provider_id == "credential"
        assert account.password and account.password.startswith("$argon2id$")
        assert DEFAULT_PASSWORD not in account.password

    def test_email_is_unique_case_insensitively(self, db: Session) -> None:
        email = unique_email()
        create_user(db, email=email)
        with pytest.raises(EmailTaken):
            create_user(db, email=email.upper())

    @pytest.mark.parametrize(
        ("name", "email", "password", "message"),
        [
            ("", "a@example.com", "long enough", "Enter your name."),
            ("Ada", "not-an-email", "long enough", "Enter a valid email address."),
            ("Ada", "a@example.com", "short", "Password must be 8 to 128 characters."),
            ("Ada", "a@example.com", "x" * 129, "Password must be 8 to 128 characters."),
            ("A" * 101, "a@example.com", "long enough", "Name must be at most 100 characters."),
        ],
    )
    def test_rejects_bad_input_with_a_clear_message(
        self, db: Session, name: str, email: str, password: str, message: str
    ) -> None:
        with pytest.raises(InvalidInput, match=message):
            auth.register_user(session=db, name=name, email=email, password=password)
        assert db.exec(select(User).where(User.email == "a@example.com")).first() is None


class TestAuthenticate:
    def test_right_password(self, db: Session, user: User) -> None:
        found = auth.authenticate(session=db, email=user.email.upper(), password=DEFAULT_PASSWORD)
        assert found.id == user.id

    @pytest.mark.parametrize("email_kind", ["wrong_password", "unknown_email", "malformed_email"])
    def test_failures_give_one_message(self, db: Session, user: User, email_kind: str) -> None:
        email, password = {
            "wrong_password": (user.email, "not the password"),
            "unknown_email": (unique_email(), DEFAULT_PASSWORD),
            "malformed_email": ("nope", DEFAULT_PASSWORD),
        }[email_kind]
        with pytest.raises(InvalidCredentials) as info:
            auth.authenticate(session=db, email=email, password=password)
        assert str(info.value) == "Invalid email or password."

    def test_login_rehashes_outdated_hash(self, db: Session, user: User) -> None:
        account = db.exec(select(Account).where(Account.user_id == user.id)).one()
        weak = CryptContext(schemes=["argon2"], argon2__memory_cost=1024, argon2__rounds=1)
        account.password = weak.hash(DEFAULT_PASSWORD)
        old_hash = account.password
        db.add(account)
        db.flush()
        auth.authenticate(session=db, email=user.email, password=DEFAULT_PASSWORD)
        db.flush()
        db.refresh(account)
        assert account.password != old_hash
        assert security.verify_password(DEFAULT_PASSWORD, account.password) == (True, None)


class TestSessions:
    def test_token_is_256_bits_and_only_its_hash_is_stored(self, db: Session, user: User) -> None:
        token, row = auth.create_session(
            session=db, user=user, ip_address="10.0.0.7", user_agent="UA/1"
        )
        assert len(token) >= 43  # 32 bytes, base64url
        assert row.token == security.hash_token(token)
        assert token not in row.token
        assert (row.ip_address, row.user_agent) == ("10.0.0.7", "UA/1")
        assert row.expires_at - utcnow() > timedelta(days=6, hours=23)

    def test_resolve_finds_the_user(self, db: Session, user: User) -> None:
        token, _ = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        signed_in = auth.resolve_session(session=db, token=token)
        assert signed_in is not None and signed_in.user.id == user.id

    @pytest.mark.parametrize("token", [None, "", "forged-token"])
    def test_unknown_tokens_resolve_to_nobody(self, db: Session, token: str | None) -> None:
        assert auth.resolve_session(session=db, token=token) is None

    def test_expired_session_is_deleted(self, db: Session, user: User) -> None:
        token, row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        later = row.expires_at + timedelta(seconds=1)
        assert auth.resolve_session(session=db, token=token, now=later) is None
        db.flush()
        assert db.get(UserSession, row.id) is None

    def test_expiry_slides_after_a_day_of_use(self, db: Session, user: User) -> None:
        token, row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        first_expiry = row.expires_at
        # Used within the first day: unchanged.
        auth.resolve_session(session=db, token=token, now=utcnow() + timedelta(hours=3))
        assert row.expires_at == first_expiry
        # Used after a day: pushed to a full 7 days from then.
        then = utcnow() + timedelta(days=2)
        signed_in = auth.resolve_session(session=db, token=token, now=then)
        assert signed_in is not None
        assert signed_in.expires_at == then + timedelta(days=7)

    def test_end_session_deletes_the_row(self, db: Session, user: User) -> None:
        token, row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        auth.end_session(session=db, token=token)
        db.expire_all()
        assert db.get(UserSession, row.id) is None
        assert auth.resolve_session(session=db, token=token) is None

    def test_deleting_a_user_cascades_to_sessions(self, db: Session, user: User) -> None:
        _, row = auth.create_session(session=db, user=user, ip_address=None, user_agent=None)
        session_id = row.id
        db.expunge(row)
        db.delete(user)
        db.flush()
        assert db.exec(select(UserSession).where(UserSession.id == session_id)).first() is None
