"""Envelope encryption of personal data: a key per case, wrapped by a key-encryption key (KEK).

Everything is AES-256-GCM. The associated data of every blob binds its header (format version and key id), a
label for the kind of blob, and the case id (plus the field name or the document id), so a ciphertext copied
to another case, another field or another document does not open. Blob layouts, the key hierarchy and what
erasure means for backups are in `docs/encryption.md`; the layouts there and the code here must agree.

Case ids, field names and document ids are compared as exact strings: pass the canonical form (`str(uuid)`).
No exception raised here carries plaintext or key bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.security.keyfile import KeyRing, UnknownKekError

__all__ = [
    "CASE_KEY_BYTES",
    "DEFAULT_CHUNK_SIZE",
    "FORMAT_VERSION",
    "ChunkedEncryptor",
    "DecryptionError",
    "EnvelopeError",
    "KeyUnavailableError",
    "WrappedKey",
    "decrypt_chunks",
    "decrypt_field",
    "decrypt_json",
    "encrypt_document",
    "encrypt_field",
    "encrypt_json",
    "encrypt_stream",
    "new_case_key",
    "rewrap",
    "unwrap_case_key",
    "wrap_case_key",
]

FORMAT_VERSION: Final = 1
CASE_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
# Bounds what a forged stream header can make the decryptor buffer before the first tag check.
MAX_CHUNK_SIZE: Final = 16 * 1024 * 1024
STREAM_PREFIX_BYTES: Final = 8
# version | key id length (0) | chunk size (4) | nonce prefix (8)
STREAM_HEADER_BYTES: Final = 2 + 4 + STREAM_PREFIX_BYTES
_MAX_CHUNKS: Final = 2**32  # the chunk counter is 4 bytes of the nonce

# Domain separation: a blob of one kind never opens as another, even under the same key.
_LABEL_CASE_KEY: Final = b"nrm/case-key"
_LABEL_FIELD: Final = b"nrm/field"
_LABEL_CHUNK: Final = b"nrm/document-chunk"

# Field and document blobs are always under "the" key of the case named in the associated data; an empty key
# id says so, and leaves room for case-key generations later without a format change.
_CASE_KEY_ID: Final = b""


class EnvelopeError(Exception):
    """Base class for this module's errors."""


class DecryptionError(EnvelopeError):
    """A blob does not open: wrong key, wrong case/field/document, altered, truncated or unknown format.

    Deliberately vague and without data: the reason a forgery failed is of no use to a legitimate caller.
    """


class KeyUnavailableError(DecryptionError):
    """The KEK a case key was wrapped with is not in the key ring (retired, or another key file)."""


def new_case_key() -> bytes:
    """A fresh AES-256 case key from the operating system's CSPRNG."""
    return os.urandom(CASE_KEY_BYTES)


def _aead(key: bytes, what: str) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != CASE_KEY_BYTES:
        raise ValueError(f"{what} must be {CASE_KEY_BYTES} bytes")
    return AESGCM(key)


def _length_prefixed(*parts: bytes) -> bytes:
    # Length prefixes keep ("ab", "c") and ("a", "bc") distinct in the associated data.
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _text(value: str, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string")
    return value.encode("utf-8")


def _header(key_id: bytes) -> bytes:
    return bytes((FORMAT_VERSION, len(key_id))) + key_id


def _split_header(blob: bytes, what: str) -> tuple[bytes, int]:
    """The key id and the offset just past the header."""
    if not isinstance(blob, bytes):
        raise DecryptionError(f"the {what} must be given as bytes, not {type(blob).__name__}")
    if len(blob) < 2:
        raise DecryptionError(f"the {what} is truncated")
    if blob[0] != FORMAT_VERSION:
        raise DecryptionError(f"the {what} has an unsupported format version ({blob[0]})")
    end = 2 + blob[1]
    if len(blob) < end:
        raise DecryptionError(f"the {what} is truncated")
    return blob[2:end], end


# --- case keys ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A case key encrypted under a KEK; store `blob` (the KEK id is inside it, and copied in `kek_id`).

    Layout of `blob`: version (1) | KEK id length (1) | KEK id (ASCII) | nonce (12) | ciphertext+tag (48).
    """

    kek_id: str
    blob: bytes

    def __post_init__(self) -> None:
        key_id, _ = _split_header(self.blob, "wrapped key")
        if key_id != self.kek_id.encode("utf-8"):
            raise ValueError("the KEK id does not match the one inside the wrapped key")

    @classmethod
    def from_blob(cls, blob: bytes) -> WrappedKey:
        key_id, _ = _split_header(blob, "wrapped key")
        try:
            return cls(kek_id=key_id.decode("ascii"), blob=blob)
        except UnicodeDecodeError:
            raise DecryptionError("the wrapped key has an invalid KEK id") from None

    def __repr__(self) -> str:
        return f"WrappedKey(kek_id={self.kek_id!r}, blob=<{len(self.blob)} bytes>)"


def _case_key_ad(header: bytes, case_id: bytes) -> bytes:
    return header + _length_prefixed(_LABEL_CASE_KEY, case_id)


def wrap_case_key(keyring: KeyRing, case_key: bytes, case_id: str) -> WrappedKey:
    """Encrypt a case key under the active KEK, bound to its case."""
    _aead(case_key, "the case key")  # validates the length
    case = _text(case_id, "case_id")
    kek_id = keyring.active_kek_id
    header = _header(kek_id.encode("ascii"))
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keyring.kek(kek_id)).encrypt(nonce, case_key, _case_key_ad(header, case))
    return WrappedKey(kek_id=kek_id, blob=header + nonce + sealed)


def unwrap_case_key(keyring: KeyRing, wrapped: WrappedKey, case_id: str) -> bytes:
    """The case key; `KeyUnavailableError` if its KEK is gone, `DecryptionError` if it does not open."""
    case = _text(case_id, "case_id")
    blob = wrapped.blob
    key_id, offset = _split_header(blob, "wrapped key")
    if len(blob) != offset + NONCE_BYTES + CASE_KEY_BYTES + TAG_BYTES:
        raise DecryptionError("the wrapped key has the wrong length")
    try:
        kek = keyring.kek(key_id.decode("ascii"))
    except (UnknownKekError, UnicodeDecodeError):
        raise KeyUnavailableError(
            f"the case key is wrapped with KEK {wrapped.kek_id!r}, which is not in the key ring"
        ) from None
    nonce = blob[offset : offset + NONCE_BYTES]
    try:
        return AESGCM(kek).decrypt(nonce, blob[offset + NONCE_BYTES :], _case_key_ad(blob[:offset], case))
    except InvalidTag:
        raise DecryptionError("the wrapped case key does not open for this case") from None


def rewrap(keyring: KeyRing, wrapped: WrappedKey, case_id: str) -> WrappedKey:
    """The same case key wrapped under the active KEK; the data it protects is untouched.

    A key already under the active KEK is returned as is, so an interrupted rotation can simply be rerun.
    """
    if wrapped.kek_id == keyring.active_kek_id:
        return wrapped
    return wrap_case_key(keyring, unwrap_case_key(keyring, wrapped, case_id), case_id)


# --- fields ------------------------------------------------------------------------------------------------


def _field_ad(header: bytes, case_id: bytes, field: bytes) -> bytes:
    return header + _length_prefixed(_LABEL_FIELD, case_id, field)


def encrypt_field(case_key: bytes, case_id: str, field: str, plaintext: bytes) -> bytes:
    """Encrypt one field of one case.

    Layout: version (1) | key id length (1) = 0 | nonce (12) | ciphertext+tag (len(plaintext) + 16).
    """
    aead = _aead(case_key, "the case key")
    ad = _field_ad(_header(_CASE_KEY_ID), _text(case_id, "case_id"), _text(field, "field"))
    nonce = os.urandom(NONCE_BYTES)
    return _header(_CASE_KEY_ID) + nonce + aead.encrypt(nonce, plaintext, ad)


def decrypt_field(case_key: bytes, case_id: str, field: str, blob: bytes) -> bytes:
    aead = _aead(case_key, "the case key")
    case, name = _text(case_id, "case_id"), _text(field, "field")
    key_id, offset = _split_header(blob, "field blob")
    if key_id != _CASE_KEY_ID:
        raise DecryptionError("the field blob names a case key this service does not know")
    if len(blob) < offset + NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("the field blob is truncated")
    nonce = blob[offset : offset + NONCE_BYTES]
    try:
        return aead.decrypt(nonce, blob[offset + NONCE_BYTES :], _field_ad(blob[:offset], case, name))
    except InvalidTag:
        raise DecryptionError("the field blob does not open with this key for this case and field") from None


def encrypt_json(case_key: bytes, case_id: str, field: str, obj: object) -> bytes:
    """`encrypt_field` of compact UTF-8 JSON; NaN and infinities are refused."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return encrypt_field(case_key, case_id, field, text.encode("utf-8"))


def decrypt_json(case_key: bytes, case_id: str, field: str, blob: bytes) -> Any:
    plaintext = decrypt_field(case_key, case_id, field, blob)
    try:
        return json.loads(plaintext)
    except ValueError:
        pass
    # Raised outside the handler: JSON and Unicode decode errors hold the plaintext in their attributes, and
    # even `from None` would leave them reachable as `__context__`.
    raise DecryptionError("the field opened but does not hold valid JSON")


# --- documents (chunked) -----------------------------------------------------------------------------------
#
# The STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): each chunk is sealed on its own with
# a nonce of a random per-document prefix and the chunk counter, and the associated data carries the counter
# and whether the chunk is the last. Reordered chunks fail on the counter, a stream cut at a chunk boundary
# fails because its new last chunk was sealed as "not last", and appended chunks fail because the real last
# chunk was sealed as "last".


def _chunk_nonce(prefix: bytes, counter: int) -> bytes:
    return prefix + counter.to_bytes(4, "big")


def _chunk_ad(ad_prefix: bytes, counter: int, final: bool) -> bytes:
    return ad_prefix + counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _document_ad_prefix(header: bytes, case_id: bytes, document_id: bytes) -> bytes:
    return header + _length_prefixed(_LABEL_CHUNK, case_id, document_id)


class ChunkedEncryptor:
    """Incremental encryption of one document; feed `update`, end with `finalize`, concatenate the outputs.

    Layout: header = version (1) | key id length (1) = 0 | chunk size (4, big-endian) | nonce prefix (8),
    then chunks of `chunk size + 16` bytes (ciphertext+tag), the last one shorter or equal (16 bytes for an
    empty document). Memory use is one chunk, whatever the document size.
    """

    def __init__(
        self, case_key: bytes, case_id: str, document_id: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
        self._aead = _aead(case_key, "the case key")
        self._prefix = os.urandom(STREAM_PREFIX_BYTES)
        self._header = _header(_CASE_KEY_ID) + chunk_size.to_bytes(4, "big") + self._prefix
        self._ad_prefix = _document_ad_prefix(
            self._header, _text(case_id, "case_id"), _text(document_id, "document_id")
        )
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._header_sent = False
        self._finished = False

    def _seal(self, chunk: bytes, final: bool) -> bytes:
        if self._counter >= _MAX_CHUNKS:
            raise EnvelopeError("the document has too many chunks for one stream")
        nonce = _chunk_nonce(self._prefix, self._counter)
        sealed = self._aead.encrypt(nonce, chunk, _chunk_ad(self._ad_prefix, self._counter, final))
        self._counter += 1
        return sealed

    def _take_header(self) -> bytes:
        if self._header_sent:
            return b""
        self._header_sent = True
        return self._header

    def update(self, data: bytes) -> bytes:
        if self._finished:
            raise EnvelopeError("the encryptor is already finalized")
        self._buffer += data
        out = [self._take_header()]
        size = self._chunk_size
        # Strictly more than a chunk: the last chunk must wait for `finalize` to be sealed as the last.
        while len(self._buffer) > size:
            out.append(self._seal(bytes(self._buffer[:size]), final=False))
            del self._buffer[:size]
        return b"".join(out)

    def finalize(self) -> bytes:
        if self._finished:
            raise EnvelopeError("the encryptor is already finalized")
        self._finished = True
        out = self._take_header() + self._seal(bytes(self._buffer), final=True)
        self._buffer.clear()
        return out


def encrypt_stream(
    case_key: bytes,
    case_id: str,
    document_id: str,
    pieces: Iterable[bytes],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Encrypt a document given as pieces of any size; yields the encrypted blob in pieces."""
    encryptor = ChunkedEncryptor(case_key, case_id, document_id, chunk_size=chunk_size)

    def generate() -> Iterator[bytes]:
        for piece in pieces:
            if out := encryptor.update(piece):
                yield out
        yield encryptor.finalize()

    return generate()


def encrypt_document(
    case_key: bytes, case_id: str, document_id: str, data: bytes, *, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> bytes:
    """The whole encrypted blob of a document held in memory."""
    return b"".join(encrypt_stream(case_key, case_id, document_id, (data,), chunk_size=chunk_size))


def _pieces(data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        # Slices of a large in-memory blob, so the buffer below never holds a second copy of all of it.
        for start in range(0, len(view), 1024 * 1024):
            yield bytes(view[start : start + 1024 * 1024])
    else:
        yield from data


def decrypt_chunks(case_key: bytes, case_id: str, document_id: str, data: bytes | Iterable[bytes]) -> Iterator[bytes]:
    """Decrypt a document, yielding plaintext chunk by chunk as each one is authenticated.

    A truncated, reordered, extended or moved document raises `DecryptionError` when the bad chunk is reached,
    which may be after earlier chunks were yielded: write the output somewhere provisional and only keep it
    once the generator finished without an error.
    """
    aead = _aead(case_key, "the case key")
    case, document = _text(case_id, "case_id"), _text(document_id, "document_id")
    return _decrypt_chunks(aead, case, document, _pieces(data))


def _decrypt_chunks(aead: AESGCM, case: bytes, document: bytes, pieces: Iterator[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    ad_prefix = b""
    prefix = b""
    sealed_size = 0
    counter = 0

    def open_chunk(sealed: bytes, final: bool) -> bytes:
        if counter >= _MAX_CHUNKS:
            raise DecryptionError("the document has too many chunks")
        try:
            return aead.decrypt(_chunk_nonce(prefix, counter), sealed, _chunk_ad(ad_prefix, counter, final))
        except InvalidTag:
            raise DecryptionError(
                f"document chunk {counter} does not open: wrong key, case or document, or the document was "
                "altered, reordered, truncated or extended"
            ) from None

    for piece in pieces:
        buffer += piece
        if not sealed_size:
            if len(buffer) < STREAM_HEADER_BYTES:
                continue
            header = bytes(buffer[:STREAM_HEADER_BYTES])
            key_id, offset = _split_header(header, "document")
            if key_id != _CASE_KEY_ID:
                raise DecryptionError("the document names a case key this service does not know")
            chunk_size = int.from_bytes(header[offset : offset + 4], "big")
            if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
                raise DecryptionError("the document header is invalid")
            prefix = header[offset + 4 :]
            ad_prefix = _document_ad_prefix(header, case, document)
            sealed_size = chunk_size + TAG_BYTES
            del buffer[:STREAM_HEADER_BYTES]
        # Keep at least one chunk back until the input ends: only then is it known to be the last.
        while len(buffer) > sealed_size:
            plaintext = open_chunk(bytes(buffer[:sealed_size]), final=False)
            del buffer[:sealed_size]
            counter += 1
            yield plaintext
    if not sealed_size or len(buffer) < TAG_BYTES:
        raise DecryptionError("the document is truncated")
    plaintext = open_chunk(bytes(buffer), final=True)
    if plaintext:
        yield plaintext
