"""Accounts and server-side sessions: registration, password login, session lookup and logout."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, delete, select, update

from imagegen import security
from imagegen.errors import EmailTaken, InvalidCredentials, InvalidInput
from imagegen.models import Account, User, UserSession, utcnow
from imagegen.settings import Settings

CREDENTIAL_PROVIDER = "credential"
LAST_USED_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives and how often its expiry slides forward (Better Auth's defaults)."""

    lifetime: timedelta = timedelta(days=7)
    refresh_after: timedelta = timedelta(days=1)


def session_policy(settings: Settings) -> SessionPolicy:
    """The policy configured by SESSION_DAYS / SESSION_REFRESH_HOURS."""
    return SessionPolicy(
        lifetime=timedelta(days=settings.session_days),
        refresh_after=timedelta(hours=settings.session_refresh_hours),
    )


@dataclass(frozen=True)
class SignedIn:
    """A resolved session: who, and until when the cookie should live."""

    user: User
    session_id: uuid.UUID
    expires_at: datetime


def normalize_email(raw: str) -> str:
    """Validate an email address and return it normalised (lower-case).

    Raises:
        InvalidInput: not a valid address.
    """
    try:
        info = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput("Enter a valid email address.") from None
    return info.normalized.lower()


def validate_password(password: str) -> str:
    """Check the password length policy.

    Raises:
        InvalidInput: shorter than 8 or longer than 128 characters.
    """
    if not security.PASSWORD_MIN <= len(password) <= security.PASSWORD_MAX:
        raise InvalidInput(
            f"Password must be {security.PASSWORD_MIN} to {security.PASSWORD_MAX} characters."
        )
    return password


def validate_name(raw: str) -> str:
    """Trim a display name and check it is 1 to 100 characters without control characters.

    Raises:
        InvalidInput: empty, too long, or containing control characters.
    """
    name = " ".join(raw.split())
    if not name:
        raise InvalidInput("Enter your name.")
    if len(name) > 100:
        raise InvalidInput("Name must be at most 100 characters.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput("Name contains characters that are not allowed.")
    return name


def get_user_by_email(session: Session, email: str) -> User | None:
    """The user with this (already normalised) email, if any."""
    return session.exec(select(User).where(User.email == email)).first()


def register_user(*, session: Session, name: str, email: str, password: str) -> User:
    """Create a user with a password sign-in method.

    Raises:
        InvalidInput: a field does not pass validation.
        EmailTaken: the email already has an account.
    """
    name = validate_name(name)
    email = normalize_email(email)
    validate_password(password)
    if get_user_by_email(session, email) is not None:
        raise EmailTaken()
    user = User(name=name, email=email)
    session.add(user)
    session.flush()
    session.add(
        Account(
            user_id=user.id,
            provider_id=CREDENTIAL_PROVIDER,
            account_id=str(user.id),
            password=security.hash_password(password),
        )
    )
    session.flush()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User:
    """Check an email and password; rehash the password when its parameters are outdated.

    Raises:
        InvalidCredentials: unknown email or wrong password (the same error for both).
    """
    try:
        email = normalize_email(email)
    except InvalidInput:
        raise InvalidCredentials() from None
    row = session.exec(
        select(User, Account)
        .join(Account, Account.user_id == User.id)  # type: ignore[arg-type]
        .where(User.email == email, Account.provider_id == CREDENTIAL_PROVIDER)
    ).first()
    user, account = row if row else (None, None)
    ok, new_hash = security.verify_password(password, account.password if account else None)
    if not ok or user is None or account is None:
        raise InvalidCredentials()
    if user.disabled:  # said only to whoever knows the password
        raise InvalidInput("This account is disabled. Contact support if you think that is wrong.")
    if new_hash:
        account.password = new_hash
        session.add(account)
    return user


def create_session(
    *,
    session: Session,
    user: User,
    ip_address: str | None,
    user_agent: str | None,
    policy: SessionPolicy = SessionPolicy(),
    now: datetime | None = None,
) -> tuple[str, UserSession]:
    """Start a session; returns the cookie token (never stored) and the row (stores its hash)."""
    token = security.new_token()
    row = UserSession(
        token=security.hash_token(token),
        user_id=user.id,
        expires_at=(now or utcnow()) + policy.lifetime,
        ip_address=(ip_address or None) and ip_address[:64],
        user_agent=(user_agent or None) and user_agent[:512],
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_session(
    *,
    session: Session,
    token: str | None,
    policy: SessionPolicy = SessionPolicy(),
    now: datetime | None = None,
) -> SignedIn | None:
    """Find the user behind a cookie token; slide the expiry forward when used after a day.

    Expired sessions are deleted. Returns None for a missing, unknown or expired token.
    """
    if not token:
        return None
    now = now or utcnow()
    row = session.exec(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)  # type: ignore[arg-type]
        .where(UserSession.token == security.hash_token(token))
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user.disabled:
        return None
    if user_session.expires_at <= now:
        session.delete(user_session)
        return None
    issued_at = user_session.expires_at - policy.lifetime
    if now - issued_at >= policy.refresh_after:
        user_session.expires_at = now + policy.lifetime
        user_session.updated_at = now
        session.add(user_session)
    elif now - user_session.updated_at >= LAST_USED_RESOLUTION:
        user_session.updated_at = now  # "last used" on the account page, to a few minutes
        session.add(user_session)
    return SignedIn(user=user, session_id=user_session.id, expires_at=user_session.expires_at)


def end_session(*, session: Session, token: str | None) -> None:
    """Delete the session behind a cookie token (logout). Unknown tokens are ignored."""
    if token:
        session.exec(
            delete(UserSession).where(col(UserSession.token) == security.hash_token(token))
        )


def rotate_feed_key(*, session: Session, user_id: uuid.UUID) -> None:
    """Give the user's live feed a new secret name: tabs of sessions that were just revoked
    stay linked to the old one and hear nothing more.
    """
    session.exec(update(User).where(col(User.id) == user_id).values(feed_key=secrets.token_hex(32)))
