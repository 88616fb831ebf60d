"""Sealed, signed messages between instances: the transfer package and its receipt.

A package carries a case from one national mechanism to another; a receipt comes back saying whether the
receiving mechanism accepted it (with its own case reference) or refused it (with a reason code). Both are
the same kind of message: encrypted to one recipient's X25519 key, signed with the sender's Ed25519 key, and
bound to sender, recipient, transfer id, message id, kind and creation time. The protocol around them (who
sends what when, identity lines, rotation, threat model) is in `docs/transfers.md`; the layout here and there
must agree.

Layout, version 1 (all integers big-endian; 146-byte header, then the ciphertext, then the signature):

    offset  bytes  field
    0       4      magic "NRMT"
    4       1      version = 0x01
    5       1      kind: 0x01 package, 0x02 receipt
    6       16     transfer id (UUID, 16 bytes): the same in a package and in its receipt
    22      16     message id (random UUID): unique per message, what a receiver remembers to refuse replays
    38      8      created at: seconds since 1970-01-01T00:00:00Z, signed
    46      32     sender's Ed25519 public key (raw)
    78      32     recipient's X25519 public key (raw): which of its encryption keys this is sealed to
    110     32     ephemeral X25519 public key (raw), fresh for every message
    142     4      n = ciphertext length
    146     n      AES-256-GCM ciphertext of the padded payload, with its 16-byte tag at the end
    146+n   64     Ed25519 signature

Encryption (ECIES-style, after the DHKEM of HPKE, RFC 9180): the sender makes an ephemeral X25519 key pair;
shared = X25519(ephemeral private, recipient public); key (32) ‖ nonce (12) = HKDF-SHA256(shared, salt none,
info = "nrm-transfer/v1 aead" ‖ ephemeral public ‖ recipient public, 44 bytes). The associated data of the
AEAD is the whole 146-byte header, so the sender, the recipient, the ids, the kind and the time are bound to
the ciphertext: none can be changed or swapped without the tag failing. Key and nonce are new for every
message (the ephemeral key is), so the nonce never repeats under a key. HPKE itself is in `cryptography` only
from version 47 and its one-shot API takes no associated data; this construction needs neither.

Padded payload: payload length (4 bytes) ‖ payload ‖ zero bytes, to max(1024, Padmé(4 + length)) bytes
(Padmé: Nikitin et al., PETS 2019; at most about 12 % overhead), so the size on the wire says little more than
the order of magnitude of what is sent.

Signature: Ed25519 over "nrm-transfer/v1 signature" ‖ every byte before the signature (header and
ciphertext). Encrypt-then-sign, because a receiver can then refuse a forged, altered or unexpected message
before it touches its private key or parses anything the sender wrote, and can check it in the order below.
The known weakness of encrypt-then-sign (someone strips the signature and signs the ciphertext as their own)
does not work here: the sender's key is in the associated data, so a re-signed ciphertext no longer opens.

Opening checks, in this order, each with its own error (`TransferError.code`): the layout and the size limit
(`malformed`, `too-large`), the version (`unsupported-version`), the signer among the registered peers
(`unknown-signer`), the signature (`bad-signature`), the kind expected (`unexpected-kind`), the recipient key
among this instance's encryption keys (`wrong-recipient`), the creation time within the window around the
caller's `now` (`future-dated`, `stale`), then decryption (`undecryptable`) and the payload itself
(`invalid-payload`). The module keeps no state and no clock: refusing a message id already seen (a replay)
is the caller's job, with `header.message_id`.

Receipt payload, version 1 (compact UTF-8 JSON, exactly these keys):
`{"v":1,"package":"<message id of the package>","outcome":"accepted","reference":"<receiver's case ref>"}` or
`{"v":1,"package":"<message id of the package>","outcome":"refused","reason":"<RefusalReason>"}`.

No exception raised here carries key material or plaintext.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any, ClassVar, Final

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.security.instance_identity import InstanceIdentity
from app.security.keyfile import InstanceKeys

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_MAX_CLOCK_SKEW",
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "FORMAT_VERSION",
    "HEADER_BYTES",
    "BadSignature",
    "DecryptionFailed",
    "FutureDated",
    "InvalidPayload",
    "MalformedMessage",
    "MessageHeader",
    "MessageKind",
    "MessageTooLarge",
    "NotAddressedToUs",
    "OpenedMessage",
    "OpenedReceipt",
    "Receipt",
    "ReceiptOutcome",
    "RefusalReason",
    "SealedMessage",
    "StaleMessage",
    "TransferError",
    "UnexpectedKind",
    "UnknownSigner",
    "UnsupportedVersion",
    "open_package",
    "open_receipt",
    "read_header",
    "seal_json_package",
    "seal_package",
    "seal_receipt",
]

MAGIC: Final = b"NRMT"
FORMAT_VERSION: Final = 1
HEADER_BYTES: Final = 146
KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
TAG_BYTES: Final = 16
NONCE_BYTES: Final = 12
_LENGTH_BYTES: Final = 4
MIN_PADDED_BYTES: Final = 1024
# What the receiving side should accept unless told otherwise: a case with a few documents.
DEFAULT_MAX_PAYLOAD_BYTES: Final = 64 * 1024 * 1024
# Long enough for a peer down over a long weekend while the sender's worker retries the same bytes; the
# receiver must remember message ids at least this long (plus the skew) for replay refusal to be complete.
DEFAULT_MAX_AGE: Final = timedelta(days=7)
DEFAULT_MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
# The 4-byte length fields bound any limit a caller may set.
_HARD_MAX_PAYLOAD_BYTES: Final = 2**31

_SIGNATURE_LABEL: Final = b"nrm-transfer/v1 signature"
_KDF_LABEL: Final = b"nrm-transfer/v1 aead"
_REFERENCE_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_RAW_PUBLIC: Final = (Encoding.Raw, PublicFormat.Raw)


class MessageKind(IntEnum):
    PACKAGE = 1
    RECEIPT = 2


_KINDS: Final = frozenset(kind.value for kind in MessageKind)


# --- errors ------------------------------------------------------------------------------------------------


class TransferError(Exception):
    """A message is refused (or cannot be made). `code` names the check that failed, for a problem document
    and an audit entry; `header` is what the message claimed, once its layout could be read, and is NOT
    authenticated unless the signature check passed (codes after `bad-signature`)."""

    code: ClassVar[str] = "transfer-error"

    def __init__(self, message: str, header: MessageHeader | None = None) -> None:
        super().__init__(message)
        self.header = header


class MalformedMessage(TransferError):
    code = "malformed"


class MessageTooLarge(TransferError):
    code = "too-large"


class UnsupportedVersion(TransferError):
    code = "unsupported-version"


class UnknownSigner(TransferError):
    code = "unknown-signer"


class BadSignature(TransferError):
    code = "bad-signature"


class UnexpectedKind(TransferError):
    code = "unexpected-kind"


class NotAddressedToUs(TransferError):
    code = "wrong-recipient"


class FutureDated(TransferError):
    code = "future-dated"


class StaleMessage(TransferError):
    code = "stale"


class DecryptionFailed(TransferError):
    code = "undecryptable"


class InvalidPayload(TransferError):
    code = "invalid-payload"


# --- header ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class MessageHeader:
    """The clear part of a message. Public keys and ids only: nothing here is personal data."""

    kind: MessageKind
    transfer_id: uuid.UUID
    message_id: uuid.UUID
    created_at: datetime
    sender_key: bytes
    recipient_key: bytes
    ephemeral_key: bytes
    ciphertext_length: int
    version: int = FORMAT_VERSION

    def __repr__(self) -> str:
        # Public keys by their first bytes: enough to tell them apart in a log, short enough to read.
        return (
            f"MessageHeader(kind={self.kind.name}, transfer_id={self.transfer_id}, message_id={self.message_id}, "
            f"created_at={self.created_at.isoformat()}, sender_key={self.sender_key[:6].hex()}…, "
            f"recipient_key={self.recipient_key[:6].hex()}…, ciphertext_length={self.ciphertext_length})"
        )

    def to_bytes(self) -> bytes:
        return b"".join(
            (
                MAGIC,
                bytes((self.version, self.kind)),
                self.transfer_id.bytes,
                self.message_id.bytes,
                int(self.created_at.timestamp()).to_bytes(8, "big", signed=True),
                self.sender_key,
                self.recipient_key,
                self.ephemeral_key,
                self.ciphertext_length.to_bytes(_LENGTH_BYTES, "big"),
            )
        )


def _padded_length(content: int) -> int:
    """Padmé: round up so that only the top bits of the length are kept (O(log log L) bits leak)."""
    if content <= MIN_PADDED_BYTES:
        return MIN_PADDED_BYTES
    exponent = content.bit_length() - 1
    last_bits = exponent - exponent.bit_length()
    mask = (1 << last_bits) - 1
    return (content + mask) & ~mask


def _max_ciphertext(max_payload_bytes: int) -> int:
    return _padded_length(_LENGTH_BYTES + max_payload_bytes) + TAG_BYTES


def _check_limit(max_payload_bytes: int) -> None:
    if not 0 <= max_payload_bytes <= _HARD_MAX_PAYLOAD_BYTES:
        raise ValueError(f"max_payload_bytes must be between 0 and {_HARD_MAX_PAYLOAD_BYTES}")


def read_header(data: bytes, *, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> MessageHeader:
    """The header of a message, after checking its layout (magic, version, kind, lengths, size limit).

    Nothing is authenticated here: use it to route or to describe a refusal, never to trust.
    """
    _check_limit(max_payload_bytes)
    if not isinstance(data, bytes):
        raise MalformedMessage(f"a message must be given as bytes, not {type(data).__name__}")
    if len(data) < len(MAGIC) + 1 or data[: len(MAGIC)] != MAGIC:
        raise MalformedMessage("this is not a transfer message (its first bytes are not the message magic)")
    if data[4] != FORMAT_VERSION:
        raise UnsupportedVersion(f"message format version {data[4]} is not supported (this instance reads 1)")
    if len(data) < HEADER_BYTES:
        raise MalformedMessage("the message is truncated (shorter than its header)")
    if data[5] not in _KINDS:
        raise MalformedMessage("the message is of an unknown kind")
    seconds = int.from_bytes(data[38:46], "big", signed=True)
    try:
        created_at = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        created_at = None
    if created_at is None:
        raise MalformedMessage("the message's creation time is out of range")
    length = int.from_bytes(data[142:146], "big")
    header = MessageHeader(
        kind=MessageKind(data[5]),
        transfer_id=uuid.UUID(bytes=data[6:22]),
        message_id=uuid.UUID(bytes=data[22:38]),
        created_at=created_at,
        sender_key=data[46:78],
        recipient_key=data[78:110],
        ephemeral_key=data[110:142],
        ciphertext_length=length,
    )
    if length > _max_ciphertext(max_payload_bytes):
        raise MessageTooLarge("the message is larger than this instance accepts", header)
    if length < MIN_PADDED_BYTES + TAG_BYTES:
        raise MalformedMessage("the message's ciphertext is shorter than the smallest padded payload", header)
    expected = HEADER_BYTES + length + SIGNATURE_BYTES
    if len(data) < expected:
        raise MalformedMessage("the message is truncated", header)
    if len(data) > expected:
        raise MalformedMessage("the message has bytes after its signature", header)
    return header


# --- sealing -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class SealedMessage:
    """A message ready to send: `data` goes on the wire; keep `header.message_id` and `header.transfer_id`."""

    data: bytes
    header: MessageHeader

    def __repr__(self) -> str:
        h = self.header
        return (
            f"SealedMessage(kind={h.kind.name}, transfer_id={h.transfer_id}, message_id={h.message_id}, "
            f"data=<{len(self.data)} bytes>)"
        )


def _aead_key_and_nonce(shared: bytes, ephemeral_key: bytes, recipient_key: bytes) -> tuple[bytes, bytes]:
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES + NONCE_BYTES,
        salt=None,
        info=_KDF_LABEL + ephemeral_key + recipient_key,
    ).derive(shared)
    return material[:KEY_BYTES], material[KEY_BYTES:]


def _aware(now: datetime) -> datetime:
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(UTC)


def _seal(
    kind: MessageKind,
    payload: bytes,
    *,
    transfer_id: uuid.UUID,
    sender: InstanceKeys,
    recipient: InstanceIdentity,
    now: datetime,
    max_payload_bytes: int,
    message_id: uuid.UUID,
    ephemeral: X25519PrivateKey,
) -> SealedMessage:
    """`seal_package` and `seal_receipt` with the random parts given (tests pin them for a known answer;
    anything else must let them be fresh: a reused ephemeral key to one recipient repeats key and nonce)."""
    _check_limit(max_payload_bytes)
    if not isinstance(payload, bytes):
        raise TypeError("the payload must be bytes")
    if len(payload) > max_payload_bytes:
        raise MessageTooLarge(f"the payload is larger than the limit of {max_payload_bytes} bytes")
    if not isinstance(transfer_id, uuid.UUID):
        raise TypeError("transfer_id must be a UUID")
    created_at = _aware(now).replace(microsecond=0)
    padded_size = _padded_length(_LENGTH_BYTES + len(payload))
    padded = len(payload).to_bytes(_LENGTH_BYTES, "big") + payload
    padded += bytes(padded_size - len(padded))
    ephemeral_key = ephemeral.public_key().public_bytes(*_RAW_PUBLIC)
    header = MessageHeader(
        kind=kind,
        transfer_id=transfer_id,
        message_id=message_id,
        created_at=created_at,
        sender_key=sender.signing_public_key,
        recipient_key=recipient.encryption_key,
        ephemeral_key=ephemeral_key,
        ciphertext_length=padded_size + TAG_BYTES,
    )
    header_bytes = header.to_bytes()
    # `recipient` is an InstanceIdentity, whose encryption key was checked not to be a low-order point.
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.encryption_key))
    key, nonce = _aead_key_and_nonce(shared, ephemeral_key, recipient.encryption_key)
    body = header_bytes + AESGCM(key).encrypt(nonce, padded, header_bytes)
    signature = sender.signing_private_key().sign(_SIGNATURE_LABEL + body)
    return SealedMessage(data=body + signature, header=header)


def seal_package(
    payload: bytes,
    *,
    transfer_id: uuid.UUID,
    sender: InstanceKeys,
    recipient: InstanceIdentity,
    now: datetime,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> SealedMessage:
    """Encrypt `payload` to `recipient` and sign it with `sender` (this instance's active instance keys).

    `transfer_id` is the sender's id for this transfer (the receipt will carry it back); the message id is
    new and random. `MessageTooLarge` if the payload is over `max_payload_bytes`.
    """
    return _seal(
        MessageKind.PACKAGE,
        payload,
        transfer_id=transfer_id,
        sender=sender,
        recipient=recipient,
        now=now,
        max_payload_bytes=max_payload_bytes,
        message_id=uuid.uuid4(),
        ephemeral=X25519PrivateKey.generate(),
    )


def _json_bytes(document: object) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def seal_json_package(
    document: Mapping[str, Any],
    *,
    transfer_id: uuid.UUID,
    sender: InstanceKeys,
    recipient: InstanceIdentity,
    now: datetime,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> SealedMessage:
    """`seal_package` of a JSON object (compact UTF-8; NaN and infinities refused); read it back with
    `OpenedMessage.json()`."""
    return seal_package(
        _json_bytes(dict(document)),
        transfer_id=transfer_id,
        sender=sender,
        recipient=recipient,
        now=now,
        max_payload_bytes=max_payload_bytes,
    )


# --- opening -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class OpenedMessage:
    """A message that passed every check. `peer` is the name the caller registered the signer under;
    `instance_key_id` is which generation of this instance's keys it was sealed to."""

    header: MessageHeader
    peer: str
    instance_key_id: str
    payload: bytes

    def json(self) -> Any:
        """The payload as JSON; `InvalidPayload` if it is not."""
        try:
            return json.loads(self.payload)
        except (ValueError, RecursionError):
            pass
        # Raised outside the handler: decode errors keep the payload (personal data) in their attributes.
        raise InvalidPayload("the payload is not valid UTF-8 JSON", self.header)

    def __repr__(self) -> str:
        h = self.header
        return (
            f"OpenedMessage(kind={h.kind.name}, peer={self.peer!r}, transfer_id={h.transfer_id}, "
            f"message_id={h.message_id}, payload=<{len(self.payload)} bytes>)"
        )


def _signer(header: MessageHeader, peers: Mapping[str, InstanceIdentity]) -> str:
    names = [name for name, identity in peers.items() if identity.signing_key == header.sender_key]
    if not names:
        raise UnknownSigner("the message is not signed by a registered peer", header)
    return names[0]


def _check_peers(peers: Mapping[str, InstanceIdentity]) -> None:
    keys = [identity.signing_key for identity in peers.values()]
    if len(set(keys)) != len(keys):
        # The answer to "who sent this?" must be one peer; the peer registry has to keep signing keys unique.
        raise ValueError("two registered peers share a signing key")


def _open(
    data: bytes,
    kind: MessageKind,
    *,
    local_keys: Iterable[InstanceKeys],
    peers: Mapping[str, InstanceIdentity],
    now: datetime,
    max_age: timedelta,
    max_clock_skew: timedelta,
    max_payload_bytes: int,
) -> OpenedMessage:
    now = _aware(now)
    if max_age < timedelta(0) or max_clock_skew < timedelta(0):
        raise ValueError("max_age and max_clock_skew must not be negative")
    _check_peers(peers)
    header = read_header(data, max_payload_bytes=max_payload_bytes)
    peer = _signer(header, peers)
    body_end = HEADER_BYTES + header.ciphertext_length
    try:
        Ed25519PublicKey.from_public_bytes(header.sender_key).verify(
            data[body_end:], _SIGNATURE_LABEL + data[:body_end]
        )
    except (InvalidSignature, ValueError):
        raise BadSignature("the message's signature is not valid for its registered sender", header) from None
    if header.kind != kind:
        raise UnexpectedKind(f"a {header.kind.name.lower()} was given where a {kind.name.lower()} is expected", header)
    keys = next((k for k in local_keys if k.encryption_public_key == header.recipient_key), None)
    if keys is None:
        raise NotAddressedToUs(
            "the message is not sealed to any of this instance's encryption keys (another recipient, or a retired key)",
            header,
        )
    if header.created_at > now + max_clock_skew:
        raise FutureDated("the message is dated in the future beyond the allowed clock skew", header)
    if now - header.created_at > max_age:
        raise StaleMessage("the message is older than the accepted window", header)
    try:
        shared = keys.encryption_private_key().exchange(X25519PublicKey.from_public_bytes(header.ephemeral_key))
    except ValueError:
        shared = None
    if shared is None:
        raise DecryptionFailed("the message does not open: its ephemeral key is not usable", header)
    aead_key, nonce = _aead_key_and_nonce(shared, header.ephemeral_key, header.recipient_key)
    try:
        padded = AESGCM(aead_key).decrypt(nonce, data[HEADER_BYTES:body_end], data[:HEADER_BYTES])
    except InvalidTag:
        raise DecryptionFailed("the message does not open with this instance's key", header) from None
    length = int.from_bytes(padded[:_LENGTH_BYTES], "big")
    end = _LENGTH_BYTES + length
    if end > len(padded) or padded[end:] != bytes(len(padded) - end):
        raise InvalidPayload("the message opened but its padding is invalid", header)
    if length > max_payload_bytes:
        raise MessageTooLarge("the payload is larger than this instance accepts", header)
    return OpenedMessage(header=header, peer=peer, instance_key_id=keys.key_id, payload=padded[_LENGTH_BYTES:end])


def open_package(
    data: bytes,
    *,
    local_keys: Iterable[InstanceKeys],
    peers: Mapping[str, InstanceIdentity],
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
) -> OpenedMessage:
    """Check and open a package received from a peer; a `TransferError` subclass for each way it can fail.

    `local_keys`: every generation of this instance's keys still kept (`keyring.instance_keys.values()`), so
    a package sealed to a key rotated out but not yet retired still opens. `peers`: the registered peers by
    the name this instance gave them (their signing keys must be distinct). `now`: the service's clock.
    The caller must still refuse a `header.message_id` it has seen before.
    """
    return _open(
        data,
        MessageKind.PACKAGE,
        local_keys=local_keys,
        peers=peers,
        now=now,
        max_age=max_age,
        max_clock_skew=max_clock_skew,
        max_payload_bytes=max_payload_bytes,
    )


# --- receipts ----------------------------------------------------------------------------------------------


class ReceiptOutcome(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"


class RefusalReason(StrEnum):
    """Why a receiving mechanism refuses a transfer; codes, so no personal data travels back."""

    NO_JURISDICTION = "no_jurisdiction"  # the person is not, or will not be, in the receiver's territory
    PERSON_NOT_PRESENT = "person_not_present"  # the person did not arrive or cannot be reached
    INCOMPLETE_PACKAGE = "incomplete_package"  # what the receiver needs to act is missing
    CONSENT_NOT_ESTABLISHED = "consent_not_established"  # consent or best-interests determination in doubt
    DUPLICATE = "duplicate"  # the receiver already holds this person's case
    OTHER = "other"


_RECEIPT_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class Receipt:
    """The receiver's answer to a package: accepted with its case reference, or refused with a reason code.

    Build it with `Receipt.accepted` or `Receipt.refused`; `package_message_id` is the package's message id,
    so the receipt names exactly the package it answers.
    """

    package_message_id: uuid.UUID
    outcome: ReceiptOutcome
    reference: str | None = None
    reason: RefusalReason | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.package_message_id, uuid.UUID):
            raise ValueError("package_message_id must be a UUID")
        if self.outcome is ReceiptOutcome.ACCEPTED:
            if not isinstance(self.reference, str) or not _REFERENCE_RE.fullmatch(self.reference):
                raise ValueError("an accepted receipt needs the receiver's case reference (letters, digits, ./_-)")
            if self.reason is not None:
                raise ValueError("an accepted receipt has no refusal reason")
        elif self.outcome is ReceiptOutcome.REFUSED:
            if not isinstance(self.reason, RefusalReason):
                raise ValueError("a refused receipt needs a reason code")
            if self.reference is not None:
                raise ValueError("a refused receipt has no case reference")
        else:
            raise ValueError("outcome must be a ReceiptOutcome")

    @classmethod
    def accepted(cls, package_message_id: uuid.UUID, reference: str) -> Receipt:
        return cls(package_message_id, ReceiptOutcome.ACCEPTED, reference=reference)

    @classmethod
    def refused(cls, package_message_id: uuid.UUID, reason: RefusalReason) -> Receipt:
        return cls(package_message_id, ReceiptOutcome.REFUSED, reason=reason)

    def to_json_bytes(self) -> bytes:
        document: dict[str, object] = {
            "v": _RECEIPT_VERSION,
            "package": str(self.package_message_id),
            "outcome": self.outcome.value,
        }
        if self.outcome is ReceiptOutcome.ACCEPTED:
            document["reference"] = self.reference
        else:
            document["reason"] = self.reason.value if self.reason else None
        return _json_bytes(document)

    @classmethod
    def from_json_bytes(cls, payload: bytes) -> Receipt:
        """Strict: exactly the keys of version 1; `ValueError` otherwise."""
        document = json.loads(payload)
        if not isinstance(document, dict) or document.get("v") != _RECEIPT_VERSION or document.get("v") is True:
            raise ValueError("not a version-1 receipt")
        raw_outcome = document.get("outcome")
        if not isinstance(raw_outcome, str):
            raise ValueError("a receipt needs an outcome")
        outcome = ReceiptOutcome(raw_outcome)
        detail = "reference" if outcome is ReceiptOutcome.ACCEPTED else "reason"
        if set(document) != {"v", "package", "outcome", detail}:
            raise ValueError("a receipt has unexpected or missing keys")
        package = document["package"]
        if not isinstance(package, str) or str(uuid.UUID(package)) != package:
            raise ValueError("the package id is not a canonical UUID")
        if outcome is ReceiptOutcome.ACCEPTED:
            return cls.accepted(uuid.UUID(package), document["reference"])
        return cls.refused(uuid.UUID(package), RefusalReason(document["reason"]))


@dataclass(frozen=True, slots=True)
class OpenedReceipt:
    """A receipt that passed every check; `header.transfer_id` is the transfer it answers."""

    header: MessageHeader
    peer: str
    instance_key_id: str
    receipt: Receipt


def seal_receipt(
    receipt: Receipt,
    *,
    transfer_id: uuid.UUID,
    sender: InstanceKeys,
    recipient: InstanceIdentity,
    now: datetime,
) -> SealedMessage:
    """Seal and sign a receipt for the transfer `transfer_id`, to the peer that sent the package."""
    return _seal(
        MessageKind.RECEIPT,
        receipt.to_json_bytes(),
        transfer_id=transfer_id,
        sender=sender,
        recipient=recipient,
        now=now,
        max_payload_bytes=MIN_PADDED_BYTES,
        message_id=uuid.uuid4(),
        ephemeral=X25519PrivateKey.generate(),
    )


def open_receipt(
    data: bytes,
    *,
    local_keys: Iterable[InstanceKeys],
    peers: Mapping[str, InstanceIdentity],
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    max_clock_skew: timedelta = DEFAULT_MAX_CLOCK_SKEW,
) -> OpenedReceipt:
    """Check and open a receipt, with the checks of `open_package`; `InvalidPayload` if its content is not a
    valid receipt. The caller checks that `header.transfer_id` is a transfer it sent to `peer`, that
    `receipt.package_message_id` is the package it sent, and refuses a message id seen before."""
    opened = _open(
        data,
        MessageKind.RECEIPT,
        local_keys=local_keys,
        peers=peers,
        now=now,
        max_age=max_age,
        max_clock_skew=max_clock_skew,
        max_payload_bytes=MIN_PADDED_BYTES,
    )
    try:
        receipt = Receipt.from_json_bytes(opened.payload)
    except (ValueError, KeyError, TypeError, RecursionError):
        receipt = None
    if receipt is None:
        # Raised outside the handler, like every decode error here.
        raise InvalidPayload("the receipt opened but its content is not a valid receipt", opened.header)
    return OpenedReceipt(
        header=opened.header, peer=opened.peer, instance_key_id=opened.instance_key_id, receipt=receipt
    )
