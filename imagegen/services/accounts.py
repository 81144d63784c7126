"""Account lifecycle: email verification, password reset and change, sessions, deletion."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session, col, delete, select

from imagegen import security
from imagegen.db import after_commit
from imagegen.errors import ImagegenError, InvalidCredentials, InvalidInput
from imagegen.models import Account, Image, User, UserSession
from imagegen.services import api_keys, auth, tokens
from imagegen.services.billing_events import get_subscription

if TYPE_CHECKING:
    from imagegen.providers.oauth import Identity

Send = Callable[[str, str, str], None]  # to, subject, text


@dataclass(frozen=True)
class Outgoing:
    """An email to send after commit."""

    to: str
    subject: str
    text: str


def verification_email(*, session: Session, user: User, api_url: str) -> Outgoing:
    """Issue a verification token and the email that carries it (a link to the backend's
    public URL, `api_url`).
    """
    token = tokens.issue(session=session, purpose=tokens.VERIFY_EMAIL, user_id=user.id)
    link = f"{api_url}/api/auth/verify-email?token={token}"
    text = (
        f"Hi {user.name},\n\nPlease confirm your email address for imagegen:\n\n{link}\n\n"
        "The link works once, for 24 hours. If you did not sign up, ignore this message.\n"
    )
    return Outgoing(user.email, "Confirm your email for imagegen", text)


def verify_email(*, session: Session, token: str) -> User:
    """Mark the token's user verified.

    Raises:
        InvalidInput: the link is invalid, used or expired.
    """
    user = session.get(
        User, tokens.consume(session=session, purpose=tokens.VERIFY_EMAIL, token=token)
    )
    if user is None:
        raise InvalidInput("This link is invalid or has already been used.")
    user.email_verified = True
    session.add(user)
    return user


def password_reset_email(*, session: Session, email: str, app_url: str) -> Outgoing | None:
    """The reset email for an existing account; None otherwise (the caller answers the same)."""
    try:
        normalized = auth.normalize_email(email)
    except InvalidInput:
        return None
    user = auth.get_user_by_email(session, normalized)
    if user is None:
        return None
    token = tokens.issue(session=session, purpose=tokens.RESET_PASSWORD, user_id=user.id)
    link = f"{app_url}/reset-password?token={token}"
    text = (
        f"Hi {user.name},\n\nSomeone (hopefully you) asked to reset your imagegen password:\n\n"
        f"{link}\n\nThe link works once, for 1 hour. If it was not you, ignore this message; "
        "your password stays as it is.\n"
    )
    return Outgoing(user.email, "Reset your imagegen password", text)


def _set_password(session: Session, user_id: uuid.UUID, password: str) -> None:
    auth.validate_password(password)
    account = session.exec(
        select(Account).where(
            Account.user_id == user_id, Account.provider_id == auth.CREDENTIAL_PROVIDER
        )
    ).first()
    if account is None:
        account = Account(
            user_id=user_id, provider_id=auth.CREDENTIAL_PROVIDER, account_id=str(user_id)
        )
    account.password = security.hash_password(password)
    session.add(account)


def reset_password(*, session: Session, token: str, new_password: str) -> User:
    """Set a new password from a reset link, sign out every session of the user and revoke
    their API keys.

    Raises:
        InvalidInput: bad password, or the link is invalid, used or expired.
    """
    auth.validate_password(new_password)
    user_id = tokens.consume(session=session, purpose=tokens.RESET_PASSWORD, token=token)
    user = session.get(User, user_id)
    if user is None:
        raise InvalidInput("This link is invalid or has already been used.")
    _set_password(session, user_id, new_password)
    user.email_verified = True  # they read a message sent to that address
    session.add(user)
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
    auth.rotate_feed_key(session=session, user_id=user_id)
    api_keys.revoke_all(session=session, user_id=user_id, reason=api_keys.PASSWORD_RESET)
    return user


def change_password(
    *, session: Session, user: User, current: str, new: str, keep_session_id: uuid.UUID
) -> None:
    """Change the password (the current one is required) and sign out the other sessions.

    Raises:
        InvalidCredentials: the current password is wrong.
        InvalidInput: the new password does not pass the policy.
    """
    try:
        auth.authenticate(session=session, email=user.email, password=current)
    except InvalidCredentials:
        raise InvalidCredentials("The current password is not right.") from None
    _set_password(session, user.id, new)
    revoke_other_sessions(session=session, user_id=user.id, keep_session_id=keep_session_id)


def change_name(*, session: Session, user: User, name: str) -> User:
    """Rename the user.

    Raises:
        InvalidInput: empty or too long.
    """
    user.name = auth.validate_name(name)
    session.add(user)
    return user


def list_sessions(*, session: Session, user_id: uuid.UUID) -> list[UserSession]:
    """The user's sessions, most recently used first."""
    return list(
        session.exec(
            select(UserSession)
            .where(UserSession.user_id == user_id)
            .order_by(col(UserSession.updated_at).desc())
        )
    )


def revoke_session(*, session: Session, user_id: uuid.UUID, session_id: uuid.UUID | str) -> None:
    """Sign out one of the user's sessions.

    Raises:
        InvalidInput: no such session of this user.
    """
    try:
        key = session_id if isinstance(session_id, uuid.UUID) else uuid.UUID(str(session_id))
    except ValueError:
        raise InvalidInput("No such session.") from None
    result = session.exec(
        delete(UserSession).where(col(UserSession.id) == key, col(UserSession.user_id) == user_id)
    )
    if result.rowcount == 0:
        raise InvalidInput("No such session.")


def revoke_other_sessions(
    *, session: Session, user_id: uuid.UUID, keep_session_id: uuid.UUID
) -> int:
    """Sign out everywhere else (their tabs stop hearing the live feed); returns how many
    sessions ended.
    """
    result = session.exec(
        delete(UserSession).where(
            col(UserSession.user_id) == user_id, col(UserSession.id) != keep_session_id
        )
    )
    auth.rotate_feed_key(session=session, user_id=user_id)
    return int(result.rowcount)


def delete_account(
    *,
    session: Session,
    user: User,
    confirm_email: str,
    delete_file: Callable[[str, str | None], None],
) -> None:
    """Delete the user, their images (files removed after commit) and everything else.

    Raises:
        InvalidInput: the typed email does not match.
        ImagegenError: a paid subscription is still active (cancel it in the portal first).
    """
    if confirm_email.strip().lower() != user.email:
        raise InvalidInput("Type your email address exactly to confirm.")
    subscription = get_subscription(session=session, user_id=user.id)
    if (
        subscription is not None
        and subscription.plan != "free_user"
        and subscription.status in ("active", "trialing")
    ):
        raise ImagegenError(
            "You still have an active subscription. Cancel it under Manage billing first, "
            "so you are not charged again."
        )
    files = [
        (image.storage_key, image.storage_file_id)
        for image in session.exec(select(Image).where(Image.user_id == user.id))
        if image.storage_key
    ]
    session.delete(user)
    session.flush()

    def remove_files() -> None:
        for key, file_id in files:
            delete_file(key, file_id)

    after_commit(session, remove_files)


def oauth_sign_in(*, session: Session, identity: "Identity") -> User:
    """The user an OAuth identity signs in as: the linked one, else the one with the same
    *verified* email (which gets linked), else a new user.

    Raises:
        InvalidInput: no email from the provider, or it matches an account but is not verified
            by the provider (linking on an unverified email would let anyone take it over).
    """
    linked = session.exec(
        select(User)
        .join(Account, Account.user_id == User.id)  # type: ignore[arg-type]
        .where(Account.provider_id == identity.provider, Account.account_id == identity.account_id)
    ).first()
    if linked is not None:
        return linked
    if not identity.email:
        raise InvalidInput(
            "Your account there has no email address we can use. Add one, or register with a password."
        )
    email = auth.normalize_email(identity.email)
    user = auth.get_user_by_email(session, email)
    if user is not None and not identity.email_verified:
        raise InvalidInput(
            "An account with this email already exists, and the provider has not verified the "
            "address. Sign in with your password instead."
        )
    if user is None:
        user = User(
            name=auth.validate_name(identity.name or email.split("@")[0]),
            email=email,
            email_verified=identity.email_verified,
        )
        session.add(user)
        session.flush()
    elif identity.email_verified and not user.email_verified:
        user.email_verified = True
        session.add(user)
    session.add(
        Account(
            user_id=user.id,
            provider_id=identity.provider,
            account_id=identity.account_id,
            access_token=identity.access_token,
            refresh_token=identity.refresh_token,
            scope=identity.scope,
        )
    )
    session.flush()
    return user


def link_identity(*, session: Session, user_id: uuid.UUID, identity: "Identity") -> None:
    """Attach an OAuth identity to a signed-in user (from the account page).

    Raises:
        InvalidInput: that identity already belongs to another user.
    """
    existing = session.exec(
        select(Account).where(
            Account.provider_id == identity.provider, Account.account_id == identity.account_id
        )
    ).first()
    if existing is not None:
        if existing.user_id != user_id:
            raise InvalidInput("That account is already linked to another imagegen user.")
        return
    session.add(
        Account(
            user_id=user_id,
            provider_id=identity.provider,
            account_id=identity.account_id,
            access_token=identity.access_token,
            refresh_token=identity.refresh_token,
            scope=identity.scope,
        )
    )


def unlink_method(*, session: Session, user_id: uuid.UUID, provider: str) -> None:
    """Remove a way to sign in, never the last one.

    Raises:
        InvalidInput: it is the only method left, or not linked.
    """
    methods = list(session.exec(select(Account).where(Account.user_id == user_id)))
    target = [m for m in methods if m.provider_id == provider]
    if not target:
        raise InvalidInput("That sign-in method is not linked.")
    if len(methods) <= len(target):
        raise InvalidInput("This is your only way to sign in. Add another one before removing it.")
    for method in target:
        session.delete(method)


def sign_in_methods(*, session: Session, user_id: uuid.UUID) -> list[str]:
    """The providers the user can sign in with (credential, github, google)."""
    return sorted(
        session.exec(select(Account.provider_id).where(Account.user_id == user_id).distinct())
    )
