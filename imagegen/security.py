"""Password hashing and token helpers: the only module that knows passlib."""

import hashlib
import hmac
import os
import secrets
import threading

from passlib.context import CryptContext

# argon2id with passlib's defaults; `deprecated="auto"` makes `needs_update` true for hashes
# made with older parameters, and the login path rehashes them.
_passwords = CryptContext(schemes=["argon2"], deprecated="auto")

# A hash to verify against when the email is unknown, so both paths take the same time.
_DUMMY_HASH = _passwords.hash(secrets.token_urlsafe(16))

PASSWORD_MIN, PASSWORD_MAX = 8, 128

# Each argon2 hash or check holds tens of MB and a core while it runs: more at once than there
# are cores only piles up memory (a storm of sign-ins took the web process past 2 GB), so the
# rest wait their turn here. One core is left to the event loop (health checks, pages and
# websocket events stay quick while a storm of sign-ins is hashed).
HASHING_SLOTS = max(1, (os.cpu_count() or 1) - 1)
_hashing = threading.BoundedSemaphore(HASHING_SLOTS)


def hash_password(password: str) -> str:
    """Hash a password with argon2."""
    with _hashing:
        return _passwords.hash(password)


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """Check a password; when its hash is outdated also return a fresh one.

    Args:
        password: what the user typed.
        password_hash: the stored hash, or None for an unknown user (a dummy hash is checked
            so that timing does not tell which emails exist).

    Returns:
        (ok, new_hash): new_hash is set when the stored hash should be replaced.
    """
    with _hashing:
        if password_hash is None:
            _passwords.verify(password, _DUMMY_HASH)
            return False, None
        try:
            ok, new_hash = _passwords.verify_and_update(password, password_hash)
        except ValueError:  # malformed stored hash: treat as a wrong password
            return False, None
    return bool(ok), new_hash


def new_token() -> str:
    """A URL-safe random token carrying 256 bits."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: what the database keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_equal(a: str, b: str) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
