"""Password hashing with argon2 (pwdlib, as FastAPI's security docs recommend).

Hashing is deliberately slow; callers run it in a worker thread, never on the event loop.
"""

from __future__ import annotations

from functools import lru_cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_PASSWORD_LENGTH = 12
_hasher_override: PasswordHash | None = None


@lru_cache(maxsize=1)
def _recommended() -> PasswordHash:
    return PasswordHash.recommended()


def _hasher() -> PasswordHash:
    return _hasher_override or _recommended()


def use_cheap_parameters_for_tests() -> None:
    """Argon2id with minimal cost, for test suites only: the same algorithm and code path, a fraction of
    the CPU. Never called by the service; hashes made this way still verify under the recommended hasher."""
    global _hasher_override
    _hasher_override = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    _dummy_hash.cache_clear()


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
