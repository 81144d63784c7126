"""API keys for the REST API: created by the user (shown once), stored as a SHA-256 hash
(the keys are long random strings, so a fast hash is enough and every request stays cheap),
listed with their prefix and last use, revoked at any time.
"""

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from imagegen.errors import InvalidInput
from imagegen.models import ApiKey, User, utcnow

KEY_PREFIX = "ig_"
PASSWORD_RESET = "password_reset"  # revoked_reason of the keys a password reset revoked
MAX_KEYS = 20
MAX_NAME = 64
# last_used_at is written at most this often per key (no write on every request).
TOUCH_EVERY = timedelta(minutes=1)


def hash_key(plaintext: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_key(*, session: Session, user_id: uuid.UUID, name: str) -> tuple[str, ApiKey]:
    """A new key named `name`; returns (the key, shown once; its row).

    Raises:
        InvalidInput: no name, a name too long, or too many active keys.
    """
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the key a name, e.g. the app or script that will use it.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Key names are at most {MAX_NAME} characters.")
    if len(list_keys(session=session, user_id=user_id)) >= MAX_KEYS:
        raise InvalidInput(f"You can have {MAX_KEYS} keys; revoke one you no longer use.")
    plaintext = f"{KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    row = ApiKey(user_id=user_id, name=name, prefix=plaintext[:11], key_hash=hash_key(plaintext))
    session.add(row)
    session.flush()
    return plaintext, row


def list_keys(*, session: Session, user_id: uuid.UUID) -> list[ApiKey]:
    """The user's active keys, newest first."""
    return list(
        session.exec(
            select(ApiKey)
            .where(ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None))
            .order_by(col(ApiKey.created_at).desc())
        )
    )


def listed_keys(*, session: Session, user_id: uuid.UUID) -> list[ApiKey]:
    """What the account page lists: the active keys, and those a password reset revoked
    (so the user sees why a script stopped working), newest first.
    """
    return list(
        session.exec(
            select(ApiKey)
            .where(
                ApiKey.user_id == user_id,
                col(ApiKey.revoked_at).is_(None) | (col(ApiKey.revoked_reason) == PASSWORD_RESET),
            )
            .order_by(col(ApiKey.created_at).desc())
        )
    )


def revoke_all(*, session: Session, user_id: uuid.UUID, reason: str) -> int:
    """Revoke every active key of the user (a password reset: whoever had the old password may
    have made keys); returns how many.
    """
    result = session.execute(
        update(ApiKey)
        .where(col(ApiKey.user_id) == user_id, col(ApiKey.revoked_at).is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def revoke_key(*, session: Session, user_id: uuid.UUID, key_id: uuid.UUID | str) -> None:
    """Revoke one of the user's keys; requests with it fail from now on.

    Raises:
        InvalidInput: no such active key of this user (the same for other people's keys).
    """
    try:
        key = key_id if isinstance(key_id, uuid.UUID) else uuid.UUID(str(key_id))
    except ValueError:
        raise InvalidInput("No such key.") from None
    result = session.execute(
        update(ApiKey)
        .where(
            col(ApiKey.id) == key,
            col(ApiKey.user_id) == user_id,
            col(ApiKey.revoked_at).is_(None),
        )
        .values(revoked_at=utcnow())
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise InvalidInput("No such key.")


def authenticate(*, session: Session, plaintext: str | None) -> User | None:
    """The owner of an active key (and mark it used), or None."""
    if not plaintext or not plaintext.startswith(KEY_PREFIX) or len(plaintext) > 128:
        return None
    row = session.exec(
        select(ApiKey).where(
            ApiKey.key_hash == hash_key(plaintext), col(ApiKey.revoked_at).is_(None)
        )
    ).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
    return user
