"""Password hashing with argon2 (pwdlib, as FastAPI's security docs recommend).

Hashing is deliberately slow; callers run it in a worker thread, never on the event loop.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash

MIN_PASSWORD_LENGTH = 12


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked when the username is unknown, so that a wrong name costs as long as a wrong password
    # and response times do not reveal which accounts exist.
    return _hasher().hash("not-a-real-password-only-for-constant-time")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return _hasher().verify(password, password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None. Length beats composition rules (NIST SP 800-63B)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > 256:
        return "must be at most 256 characters long"
    return None
