"""The case key inside a use-case: create and wrap it, open it, encrypt and decrypt a case's fields.

Encryption happens here, in the service layer, because the associated data binds the case id and the
field name, which a column type cannot see.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.models import CaseKey
from app.security.envelope import (
    EnvelopeError,
    WrappedKey,
    decrypt_field,
    decrypt_json,
    encrypt_field,
    encrypt_json,
    new_case_key,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.keyfile import KeyFileError, KeyRing, UnknownKekError
from app.services.errors import Gone, KeyUnavailable
from app.services.wrapped_keys import case_key_context

logger = logging.getLogger("app.keys")

#: What the security layer raises when a key is missing or does not open the data.
KEY_ERRORS: tuple[type[Exception], ...] = (EnvelopeError, KeyFileError, UnknownKekError)


def key_unavailable(error: Exception, what: str) -> KeyUnavailable:
    """The caller's error for a key that is missing or does not open `what`, and the operator's log line (the
    security layer's messages name key ids and files, never key bytes or plaintext)."""
    logger.error(
        "a key is unavailable: %s could not be opened (%s: %s); check that NRM_KEY_FILE is the key file this "
        "database was written with, and that no key-encryption key still in use was retired",
        what,
        type(error).__name__,
        error,
    )
    return KeyUnavailable("a key needed to open these data is unavailable; the operator has been told")


@contextmanager
def opening(what: str) -> Iterator[None]:
    """Run a decryption; a missing key or data that do not open end the use-case with `KeyUnavailable`."""
    try:
        yield
    except KEY_ERRORS as error:
        raise key_unavailable(error, what) from None


class CaseCipher:
    """Encrypts and decrypts the fields of one case with its key."""

    def __init__(self, case_id: uuid.UUID, case_key: bytes) -> None:
        self._case_id = str(case_id)
        self._key = case_key

    def seal_json(self, field: str, value: Any) -> bytes:
        return encrypt_json(self._key, self._case_id, field, value)

    def open_json(self, field: str, blob: bytes) -> Any:
        with opening(f"the {field} of case {self._case_id}"):
            return decrypt_json(self._key, self._case_id, field, blob)

    def seal_text(self, field: str, text: str) -> bytes:
        return encrypt_field(self._key, self._case_id, field, text.encode("utf-8"))

    def open_text(self, field: str, blob: bytes) -> str:
        with opening(f"the {field} of case {self._case_id}"):
            return decrypt_field(self._key, self._case_id, field, blob).decode("utf-8")

    @property
    def key(self) -> bytes:
        return self._key


def create_case_key(session: Session, keyring: KeyRing, case_id: uuid.UUID, now: datetime) -> CaseCipher:
    case_key = new_case_key()
    wrapped = wrap_case_key(keyring, case_key, case_key_context(case_id))
    session.add(CaseKey(case_id=case_id, kek_id=wrapped.kek_id, wrapped_key=wrapped.blob, created_at=now))
    return CaseCipher(case_id, case_key)


def open_case_key(session: Session, keyring: KeyRing, case_id: uuid.UUID) -> CaseCipher:
    """The case's cipher; 410 Gone once the key was destroyed by erasure."""
    row = session.get(CaseKey, case_id)
    if row is None or row.wrapped_key is None or row.kek_id is None:
        raise Gone("the personal data of this case have been erased")
    with opening(f"the key of case {case_id}"):
        case_key = unwrap_case_key(
            keyring, WrappedKey(kek_id=row.kek_id, blob=row.wrapped_key), case_key_context(case_id)
        )
    return CaseCipher(case_id, case_key)


def cipher_unless_erased(session: Session, keyring: KeyRing, case_id: uuid.UUID, erased: bool) -> CaseCipher | None:
    """The case's cipher, or None once erased: a text sent after erasure is dropped, never kept in clear."""
    return None if erased else open_case_key(session, keyring, case_id)


def seal_text_or_none(cipher: CaseCipher | None, field: str, text: str | None) -> bytes | None:
    return cipher.seal_text(field, text) if cipher is not None and text else None


def destroy_case_key(session: Session, case_id: uuid.UUID, now: datetime) -> None:
    row = session.get(CaseKey, case_id)
    if row is not None:
        row.wrapped_key = None
        row.kek_id = None
        row.destroyed_at = now
