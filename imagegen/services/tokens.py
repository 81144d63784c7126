"""Single-use, expiring tokens in `verification` (email verification, password reset).

Only the token's hash is stored; `identifier` says what it is for and for whom.
"""

import uuid
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from imagegen import security
from imagegen.errors import InvalidInput
from imagegen.models import Verification, utcnow

VERIFY_EMAIL = "verify-email"
RESET_PASSWORD = "reset-password"
LIFETIMES = {VERIFY_EMAIL: timedelta(hours=24), RESET_PASSWORD: timedelta(hours=1)}


def issue(*, session: Session, purpose: str, user_id: uuid.UUID) -> str:
    """A new token for `purpose`; earlier unused ones of the same purpose stop working."""
    identifier = f"{purpose}:{user_id}"
    session.exec(delete(Verification).where(col(Verification.identifier) == identifier))
    token = security.new_token()
    session.add(
        Verification(
            identifier=identifier,
            value=security.hash_token(token),
            expires_at=utcnow() + LIFETIMES[purpose],
        )
    )
    session.flush()
    return token


def consume(*, session: Session, purpose: str, token: str) -> uuid.UUID:
    """Use a token once and return its user id.

    Raises:
        InvalidInput: unknown, already used, or expired (the message says which it can).
    """
    row = session.exec(
        select(Verification).where(
            Verification.value == security.hash_token(token or ""),
            col(Verification.identifier).startswith(f"{purpose}:"),
        )
    ).first()
    if row is None:
        raise InvalidInput("This link is invalid or has already been used.")
    session.delete(row)
    session.flush()
    if row.expires_at <= utcnow():
        raise InvalidInput("This link has expired. Ask for a new one.")
    return uuid.UUID(row.identifier.split(":", 1)[1])
