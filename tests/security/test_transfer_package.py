"""Sealed, signed transfer messages: round trips, a known answer for the layout, every byte flipped refused,
each refusal with its own error, rotation of the instance keys, and no secret in any error."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security import transfer_package as tp
from app.security.instance_identity import InstanceIdentity
from app.security.keyfile import InstanceKeys, KeyRing, ensure_key_file, retire_instance_keys, rotate_instance_keys
from app.security.transfer_package import (
    BadSignature,
    DecryptionFailed,
    FutureDated,
    InvalidPayload,
    MalformedMessage,
    MessageKind,
    MessageTooLarge,
    NotAddressedToUs,
    Receipt,
    RefusalReason,
    StaleMessage,
    TransferError,
    UnexpectedKind,
    UnknownSigner,
    UnsupportedVersion,
    open_package,
    open_receipt,
    read_header,
    seal_json_package,
    seal_package,
    seal_receipt,
)

NOW = datetime(2027, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
TRANSFER = uuid.UUID("6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b")
# Obviously fictional personal data, so a test can look for it in places it must never appear.
STORY = "Alix Fictif-Exemple, né le 1er janvier 2000, a travaillé sans salaire à la ferme Imaginaire."


@dataclass(frozen=True)
class Instance:
    name: str
    ring: KeyRing

    @property
    def keys(self) -> InstanceKeys:
        return self.ring.active_instance_keys

    def identity(self, keys: InstanceKeys | None = None) -> InstanceIdentity:
        keys = keys or self.keys
        return InstanceIdentity(
            name=f"NRM {self.name}",
            country=self.name[:2].upper(),
            url=f"https://{self.name}.example.org",
            signing_key=keys.signing_public_key,
            encryption_key=keys.encryption_public_key,
        )

    def open(self, data: bytes, peers: dict[str, InstanceIdentity], **options: object) -> tp.OpenedMessage:
        return open_package(
            data,
            local_keys=self.ring.instance_keys.values(),
            peers=peers,
            now=options.pop("now", NOW),  # type: ignore[arg-type]
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="module")
def france() -> Instance:
    return Instance("france", KeyRing.generate())


@pytest.fixture(scope="module")
def belgium() -> Instance:
    return Instance("belgium", KeyRing.generate())


@pytest.fixture(scope="module")
def mallory() -> Instance:
    """A third instance, registered as a peer of Belgium too: a compromised or malicious peer."""
    return Instance("malta", KeyRing.generate())


def package_to(recipient: Instance, sender: Instance, payload: bytes = STORY.encode(), **options: object) -> bytes:
    return seal_package(
        payload,
        transfer_id=TRANSFER,
        sender=sender.keys,
        recipient=recipient.identity(),
        now=options.pop("now", NOW),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    ).data


@pytest.fixture(scope="module")
def package(france: Instance, belgium: Instance) -> bytes:
    return package_to(belgium, france)


@pytest.fixture(scope="module")
def peers(france: Instance, mallory: Instance) -> dict[str, InstanceIdentity]:
    """Belgium's registered peers."""
    return {"fr-focal-point": france.identity(), "mt-focal-point": mallory.identity()}


# --- round trips -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1019, 1020, 1021, 5000, 300_000])
def test_a_package_round_trips(
    france: Instance, belgium: Instance, peers: dict[str, InstanceIdentity], size: int
) -> None:
    payload = (STORY.encode() * (size // len(STORY.encode()) + 1))[:size]
    sealed = seal_package(payload, transfer_id=TRANSFER, sender=france.keys, recipient=belgium.identity(), now=NOW)
    opened = belgium.open(sealed.data, peers)
    assert opened.payload == payload
    assert opened.peer == "fr-focal-point"
    assert opened.instance_key_id == belgium.keys.key_id
    header = opened.header
    assert header == sealed.header
    assert header.kind is MessageKind.PACKAGE and header.transfer_id == TRANSFER
    assert header.created_at == NOW.replace(microsecond=0)
    assert header.sender_key == france.keys.signing_public_key
    assert header.recipient_key == belgium.keys.encryption_public_key
    for text in (repr(opened), repr(sealed), str(opened)):
        assert STORY[:20] not in text and "Alix" not in text


def test_json_packages_and_fresh_ids(france: Instance, belgium: Instance, peers: dict[str, InstanceIdentity]) -> None:
    document = {"person": {"name": "Alix Fictif-Exemple"}, "story": STORY, "reflection_days": 30}
    first = seal_json_package(document, transfer_id=TRANSFER, sender=france.keys, recipient=belgium.identity(), now=NOW)
    second = seal_json_package(
        document, transfer_id=TRANSFER, sender=france.keys, recipient=belgium.identity(), now=NOW
    )
    assert belgium.open(first.data, peers).json() == document
    # The same content sealed twice: new message id, new ephemeral key, nothing in common but the header.
    assert first.header.message_id != second.header.message_id
    assert first.header.ephemeral_key != second.header.ephemeral_key
    assert first.data[146:-64] != second.data[146:-64]
    with pytest.raises(ValueError):
        seal_json_package(
            {"x": float("nan")}, transfer_id=TRANSFER, sender=france.keys, recipient=belgium.identity(), now=NOW
        )


def test_the_plaintext_is_not_on_the_wire(france: Instance, belgium: Instance) -> None:
    document = {"person": {"name": "Alix Fictif-Exemple"}, "story": STORY}
    data = seal_json_package(
        document, transfer_id=TRANSFER, sender=france.keys, recipient=belgium.identity(), now=NOW
    ).data
    for needle in ("Alix", "Fictif", "ferme", "Imaginaire", "story"):
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in data
        assert needle.encode() not in base64.b64decode(base64.b64encode(data))


def test_sizes_on_the_wire_are_padded(france: Instance, belgium: Instance) -> None:
    small = {len(package_to(belgium, france, bytes(n))) for n in (0, 1, 500, 1020)}
    assert small == {146 + 1024 + 16 + 64}
    for n in (1021, 5000, 70_000, 1_000_001):
        size = len(package_to(belgium, france, bytes(n)))
        # Never less than the payload, never more than 12 % above it (Padmé), plus the fixed overhead.
        assert 4 + n <= size - (146 + 16 + 64) <= max(1024, (4 + n) * 1.12)
    # Neighbouring sizes fall into the same bucket: the exact length does not show.
    assert len(package_to(belgium, france, bytes(70_000))) == len(package_to(belgium, france, bytes(70_500)))


@pytest.mark.parametrize(
    "receipt",
    [
        Receipt.accepted(uuid.UUID(int=7), "MNR-2027-00042"),
        Receipt.refused(uuid.UUID(int=7), RefusalReason.NO_JURISDICTION),
        Receipt.refused(uuid.UUID(int=7), RefusalReason.OTHER),
    ],
)
def test_a_receipt_round_trips(france: Instance, belgium: Instance, receipt: Receipt) -> None:
    sealed = seal_receipt(receipt, transfer_id=TRANSFER, sender=belgium.keys, recipient=france.identity(), now=NOW)
    opened = open_receipt(
        sealed.data, local_keys=france.ring.instance_keys.values(), peers={"be": belgium.identity()}, now=NOW
    )
    assert opened.receipt == receipt
    assert opened.header.transfer_id == TRANSFER and opened.header.kind is MessageKind.RECEIPT
    assert opened.peer == "be" and opened.instance_key_id == france.keys.key_id


def test_a_receipt_is_not_a_package_and_the_other_way_round(
    france: Instance, belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]
) -> None:
    receipt = seal_receipt(
        Receipt.accepted(uuid.UUID(int=7), "MNR-1"),
        transfer_id=TRANSFER,
        sender=france.keys,
        recipient=belgium.identity(),
        now=NOW,
    ).data
    with pytest.raises(UnexpectedKind) as caught:
        belgium.open(receipt, peers)
    assert caught.value.code == "unexpected-kind"
    with pytest.raises(UnexpectedKind):
        open_receipt(package, local_keys=belgium.ring.instance_keys.values(), peers=peers, now=NOW)


# --- known answer ------------------------------------------------------------------------------------------


def test_known_answer_of_the_layout() -> None:
    """Fixed keys, ids, time and ephemeral key: every part of the message rebuilt from the primitives, and the
    whole pinned (a change of layout must be a new version, not an accident)."""
    created = datetime(2027, 3, 1, 9, 30, 15, tzinfo=UTC)
    sender = InstanceKeys("inst-sender", bytes([2] * 32), bytes([3] * 32), created)
    receiver = InstanceKeys("inst-receiver", bytes([4] * 32), bytes([5] * 32), created)
    recipient = InstanceIdentity(
        "Receiver", "BE", "https://be.example.org", receiver.signing_public_key, receiver.encryption_public_key
    )
    ephemeral = X25519PrivateKey.from_private_bytes(bytes([6] * 32))
    message_id = uuid.UUID("00112233-4455-4677-8899-aabbccddeeff")
    payload = b'{"hello":"world"}'

    sealed = tp._seal(
        MessageKind.PACKAGE,
        payload,
        transfer_id=TRANSFER,
        sender=sender,
        recipient=recipient,
        now=created + timedelta(microseconds=999),
        max_payload_bytes=1024,
        message_id=message_id,
        ephemeral=ephemeral,
    )
    data = sealed.data
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    header = (
        b"NRMT\x01\x01"
        + TRANSFER.bytes
        + message_id.bytes
        + int(created.timestamp()).to_bytes(8, "big", signed=True)
        + sender.signing_public_key
        + receiver.encryption_public_key
        + ephemeral_public
        + (1024 + 16).to_bytes(4, "big")
    )
    assert len(header) == 146 and data[:146] == header
    shared = ephemeral.exchange(receiver.encryption_private_key().public_key())
    material = HKDF(
        hashes.SHA256(), 44, None, b"nrm-transfer/v1 aead" + ephemeral_public + receiver.encryption_public_key
    ).derive(shared)
    padded = len(payload).to_bytes(4, "big") + payload + bytes(1024 - 4 - len(payload))
    ciphertext = AESGCM(material[:32]).encrypt(material[32:], padded, header)
    assert data[146:-64] == ciphertext
    Ed25519PublicKey.from_public_bytes(sender.signing_public_key).verify(
        data[-64:], b"nrm-transfer/v1 signature" + header + ciphertext
    )
    assert len(data) == 146 + 1040 + 64
    assert hashlib.sha256(data).hexdigest() == "bd6a91545f80f8f687c97c89cdc767f8daefa8e26b98a33a742227d4cb79761c"

    opened = open_package(
        data,
        local_keys=[receiver],
        peers={
            "sender": InstanceIdentity(
                "Sender", "FR", "https://fr.example.org", sender.signing_public_key, sender.encryption_public_key
            )
        },
        now=created,
    )
    assert opened.payload == payload and opened.header.message_id == message_id


# --- tampering ---------------------------------------------------------------------------------------------


def test_every_byte_flipped_is_refused(belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]) -> None:
    assert belgium.open(package, peers).payload == STORY.encode()
    codes: set[str] = set()
    for position in range(len(package)):
        altered = bytearray(package)
        altered[position] ^= 0x01
        with pytest.raises(TransferError) as caught:
            belgium.open(bytes(altered), peers)
        codes.add(caught.value.code)
    # A flip is refused at the first check that can see it: the layout, the signer, or the signature.
    assert codes == {"malformed", "unsupported-version", "unknown-signer", "bad-signature"}


@given(position=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
@settings(max_examples=300, deadline=None)
def test_any_change_of_any_byte_is_refused(
    belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity], position: int, mask: int
) -> None:
    altered = bytearray(package)
    altered[position % len(package)] ^= mask
    with pytest.raises(TransferError):
        belgium.open(bytes(altered), peers)


def test_every_truncation_and_any_extension_is_refused(
    belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]
) -> None:
    for length in range(len(package)):
        with pytest.raises((MalformedMessage, UnsupportedVersion)):
            belgium.open(package[:length], peers)
    for extra in (b"\x00", b"x" * 64, package):
        with pytest.raises(MalformedMessage, match="after its signature"):
            belgium.open(package + extra, peers)


@given(st.binary(max_size=2000))
@settings(max_examples=300, deadline=None)
def test_garbage_is_refused_with_a_transfer_error_only(
    belgium: Instance, peers: dict[str, InstanceIdentity], garbage: bytes
) -> None:
    for data in (garbage, b"NRMT\x01\x01" + garbage):
        with pytest.raises(TransferError):
            belgium.open(data, peers)


def test_a_ciphertext_re_signed_by_another_peer_does_not_open(
    belgium: Instance, mallory: Instance, package: bytes, peers: dict[str, InstanceIdentity]
) -> None:
    """Encrypt-then-sign's known weakness: a peer strips the signature and signs the ciphertext as its own. The
    sender's key is in the associated data, so the claim fails at decryption."""
    body = package[:46] + mallory.keys.signing_public_key + package[78:-64]
    forged = body + mallory.keys.signing_private_key().sign(b"nrm-transfer/v1 signature" + body)
    with pytest.raises(DecryptionFailed) as caught:
        belgium.open(forged, peers)
    assert caught.value.code == "undecryptable"


def signed_by(
    sender: Instance, recipient: Instance, plaintext: bytes, kind: MessageKind = MessageKind.PACKAGE
) -> bytes:
    """A message a registered peer really signed, around any plaintext (to reach the checks after decryption)."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    header = tp.MessageHeader(
        kind=kind,
        transfer_id=TRANSFER,
        message_id=uuid.uuid4(),
        created_at=NOW.replace(microsecond=0),
        sender_key=sender.keys.signing_public_key,
        recipient_key=recipient.keys.encryption_public_key,
        ephemeral_key=ephemeral_public,
        ciphertext_length=len(plaintext) + 16,
    ).to_bytes()
    shared = ephemeral.exchange(recipient.keys.encryption_private_key().public_key())
    key, nonce = tp._aead_key_and_nonce(shared, ephemeral_public, recipient.keys.encryption_public_key)
    body = header + AESGCM(key).encrypt(nonce, plaintext, header)
    return body + sender.keys.signing_private_key().sign(b"nrm-transfer/v1 signature" + body)


def test_a_signed_message_with_bad_padding_or_content_is_an_invalid_payload(
    france: Instance, belgium: Instance, peers: dict[str, InstanceIdentity]
) -> None:
    good = (3).to_bytes(4, "big") + b"abc" + bytes(1017)
    assert belgium.open(signed_by(france, belgium, good), peers).payload == b"abc"
    for bad in (
        (3).to_bytes(4, "big") + b"abc" + bytes(1016) + b"\x01",  # non-zero padding
        (5000).to_bytes(4, "big") + bytes(1020),  # a length beyond the padded payload
    ):
        with pytest.raises(InvalidPayload):
            belgium.open(signed_by(france, belgium, bad), peers)
    not_json = (3).to_bytes(4, "big") + b"\xff{x" + bytes(1017)
    with pytest.raises(InvalidPayload) as caught:
        belgium.open(signed_by(france, belgium, not_json), peers).json()
    assert caught.value.__context__ is None  # the decode error (which holds the payload) is not chained
    for content in (
        b"{}",
        b'{"v":1}',
        b"[]",
        b"null",
        b'{"v":true,"package":"x","outcome":"refused","reason":"other"}',
    ):
        plaintext = len(content).to_bytes(4, "big") + content + bytes(1020 - len(content))
        with pytest.raises(InvalidPayload):
            open_receipt(
                signed_by(france, belgium, plaintext, MessageKind.RECEIPT),
                local_keys=belgium.ring.instance_keys.values(),
                peers=peers,
                now=NOW,
            )


# --- each refusal with its own error -----------------------------------------------------------------------


def test_wrong_recipient(france: Instance, belgium: Instance, mallory: Instance, package: bytes) -> None:
    with pytest.raises(NotAddressedToUs) as caught:
        mallory.open(package, {"fr": france.identity()})
    assert caught.value.code == "wrong-recipient"
    assert caught.value.header is not None and caught.value.header.transfer_id == TRANSFER


def test_unknown_signer(belgium: Instance, mallory: Instance, package: bytes) -> None:
    with pytest.raises(UnknownSigner) as caught:
        belgium.open(package, {"mt": mallory.identity()})
    assert caught.value.code == "unknown-signer"
    with pytest.raises(UnknownSigner):
        belgium.open(package, {})


def test_freshness_window(belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]) -> None:
    created = NOW.replace(microsecond=0)
    assert belgium.open(package, peers, now=created + tp.DEFAULT_MAX_AGE).payload  # the last second still counts
    with pytest.raises(StaleMessage) as stale:
        belgium.open(package, peers, now=created + tp.DEFAULT_MAX_AGE + timedelta(seconds=1))
    assert stale.value.code == "stale"
    with pytest.raises(StaleMessage):
        belgium.open(package, peers, now=created + timedelta(hours=2), max_age=timedelta(hours=1))
    # A sender's clock a little ahead is tolerated; further ahead is refused.
    assert belgium.open(package, peers, now=created - tp.DEFAULT_MAX_CLOCK_SKEW).payload
    with pytest.raises(FutureDated) as future:
        belgium.open(package, peers, now=created - tp.DEFAULT_MAX_CLOCK_SKEW - timedelta(seconds=1))
    assert future.value.code == "future-dated"
    with pytest.raises(FutureDated):
        belgium.open(package, peers, now=created - timedelta(seconds=1), max_clock_skew=timedelta(0))


def test_layout_errors(belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]) -> None:
    cases: list[tuple[bytes, type[TransferError], str]] = [
        (b"", MalformedMessage, "malformed"),
        (package[:100], MalformedMessage, "malformed"),
        (b"XXXX" + package[4:], MalformedMessage, "malformed"),
        (package[:4] + b"\x02" + package[5:], UnsupportedVersion, "unsupported-version"),
        (package[:5] + b"\x09" + package[6:], MalformedMessage, "malformed"),
        (package[:38] + (2**62).to_bytes(8, "big") + package[46:], MalformedMessage, "malformed"),
    ]
    for data, error, code in cases:
        with pytest.raises(error) as caught:
            belgium.open(data, peers)
        assert caught.value.code == code
    with pytest.raises(MalformedMessage):
        belgium.open(bytearray(package), peers)  # type: ignore[arg-type]


def test_size_limit(france: Instance, belgium: Instance, peers: dict[str, InstanceIdentity]) -> None:
    data = package_to(belgium, france, bytes(100_000))
    assert belgium.open(data, peers, max_payload_bytes=100_000).payload == bytes(100_000)
    with pytest.raises(MessageTooLarge) as caught:
        belgium.open(data, peers, max_payload_bytes=50_000)
    assert caught.value.code == "too-large"
    with pytest.raises(MessageTooLarge):
        read_header(data, max_payload_bytes=50_000)
    with pytest.raises(MessageTooLarge):
        package_to(belgium, france, bytes(1001), max_payload_bytes=1000)


def test_bad_signature(belgium: Instance, package: bytes, peers: dict[str, InstanceIdentity]) -> None:
    altered = bytearray(package)
    altered[-1] ^= 0x80
    with pytest.raises(BadSignature) as caught:
        belgium.open(bytes(altered), peers)
    assert caught.value.code == "bad-signature"


def test_every_error_kind_has_its_own_code() -> None:
    kinds = [cls for cls in vars(tp).values() if isinstance(cls, type) and issubclass(cls, TransferError)]
    codes = [cls.code for cls in kinds if cls is not TransferError]
    assert len(codes) == 11 and len(set(codes)) == len(codes)


def test_caller_errors(france: Instance, belgium: Instance, package: bytes) -> None:
    with pytest.raises(ValueError, match="share a signing key"):
        belgium.open(package, {"a": france.identity(), "b": france.identity()})
    with pytest.raises(ValueError, match="timezone-aware"):
        belgium.open(package, {"a": france.identity()}, now=datetime(2027, 3, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        package_to(belgium, france, now=datetime(2027, 3, 1))


# --- rotation ----------------------------------------------------------------------------------------------


@pytest.fixture
def key_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "nrm.keys"
    ensure_key_file(path)
    yield path


def test_a_package_sealed_to_a_rotated_key_opens_until_the_key_is_retired(france: Instance, key_file: Path) -> None:
    before = Instance("belgium", ensure_key_file(key_file))
    old_id = before.keys.key_id
    data = package_to(before, france)  # France still knows Belgium's old identity

    after = Instance("belgium", rotate_instance_keys(key_file))
    assert after.keys.key_id != old_id
    opened = after.open(data, {"fr": france.identity()})
    assert opened.payload == STORY.encode() and opened.instance_key_id == old_id
    # Sealed to the new identity, it opens with the new keys.
    assert after.open(package_to(after, france), {"fr": france.identity()}).instance_key_id == after.keys.key_id

    retired = Instance("belgium", retire_instance_keys(key_file, old_id))
    with pytest.raises(NotAddressedToUs):
        retired.open(data, {"fr": france.identity()})


def test_a_sender_that_rotated_is_known_once_its_new_identity_is_registered(belgium: Instance, key_file: Path) -> None:
    old = Instance("france", ensure_key_file(key_file))
    new = Instance("france", rotate_instance_keys(key_file))
    data = package_to(belgium, new)  # signed with the new key
    with pytest.raises(UnknownSigner):
        belgium.open(data, {"fr": old.identity()})
    assert belgium.open(data, {"fr": old.identity(), "fr (new keys)": new.identity()}).peer == "fr (new keys)"


# --- no secret in any error --------------------------------------------------------------------------------


def secret_texts(*instances: Instance) -> list[str]:
    texts = [STORY[:30], "Alix", "Imaginaire"]
    for instance in instances:
        for keys in instance.ring.instance_keys.values():
            for key in (keys.signing_key, keys.encryption_key):
                texts += [key.hex(), repr(key), base64.b64encode(key).decode()]
    return texts


def test_no_key_material_or_plaintext_in_any_error(
    france: Instance, belgium: Instance, mallory: Instance, package: bytes, peers: dict[str, InstanceIdentity]
) -> None:
    attempts: list[Callable[[], object]] = [
        lambda: belgium.open(package[:200], peers),
        lambda: belgium.open(package, {}),
        lambda: belgium.open(package[:-1] + bytes([package[-1] ^ 1]), peers),
        lambda: mallory.open(package, {"fr": france.identity()}),
        lambda: belgium.open(package, peers, now=NOW + timedelta(days=30)),
        lambda: belgium.open(package, peers, now=NOW - timedelta(days=1)),
        lambda: belgium.open(package, peers, max_payload_bytes=10),
        lambda: belgium.open(
            signed_by(france, belgium, b"\x00\x00\x00\x05" + STORY.encode()[:5] + b"\x01" * 1015), peers
        ),
        lambda: belgium.open(
            signed_by(france, belgium, b"\x00\x00\x00\x20" + STORY.encode()[:32] + bytes(988)), peers
        ).json(),
    ]
    seen: set[str] = set()
    for attempt in attempts:
        with pytest.raises(TransferError) as caught:
            attempt()
        error = caught.value
        seen.add(error.code)
        chain: list[BaseException] = [error]
        while chain[-1].__context__ is not None:
            chain.append(chain[-1].__context__)
        text = " ".join(f"{e!s} {e!r} {e.args!r}" for e in chain)
        assert not any(secret in text for secret in secret_texts(france, belgium, mallory)), error.code
    assert seen == {
        "malformed",
        "unknown-signer",
        "bad-signature",
        "wrong-recipient",
        "stale",
        "future-dated",
        "too-large",
        "invalid-payload",
    }


# --- receipts ----------------------------------------------------------------------------------------------


def test_receipt_rules() -> None:
    package_id = uuid.UUID("abcdef01-2345-4678-9abc-def012345678")
    with pytest.raises(ValueError, match="reference"):
        Receipt.accepted(package_id, "")
    with pytest.raises(ValueError, match="reference"):
        Receipt.accepted(package_id, "Alix Fictif")  # a space: not a case reference
    with pytest.raises(ValueError, match="reason"):
        Receipt(package_id, tp.ReceiptOutcome.REFUSED)
    with pytest.raises(ValueError, match="no case reference"):
        Receipt(package_id, tp.ReceiptOutcome.REFUSED, reference="MNR-1", reason=RefusalReason.OTHER)
    with pytest.raises(ValueError, match="no refusal reason"):
        Receipt(package_id, tp.ReceiptOutcome.ACCEPTED, reference="MNR-1", reason=RefusalReason.OTHER)
    receipt = Receipt.refused(package_id, RefusalReason.DUPLICATE)
    assert json.loads(receipt.to_json_bytes()) == {
        "v": 1,
        "package": "abcdef01-2345-4678-9abc-def012345678",
        "outcome": "refused",
        "reason": "duplicate",
    }
    assert Receipt.from_json_bytes(receipt.to_json_bytes()) == receipt
    document = json.loads(Receipt.accepted(package_id, "MNR-2027-00042").to_json_bytes())
    assert document == {"v": 1, "package": str(package_id), "outcome": "accepted", "reference": "MNR-2027-00042"}
    for bad in (
        {**document, "extra": 1},
        {**document, "package": str(package_id).upper()},
        {**document, "outcome": "maybe"},
        {**document, "v": 2},
        {k: v for k, v in document.items() if k != "reference"},
        {"v": 1, "package": str(package_id), "outcome": "refused", "reason": "because"},
    ):
        with pytest.raises(ValueError):
            Receipt.from_json_bytes(json.dumps(bad).encode())


def test_a_receipt_binds_its_transfer(france: Instance, belgium: Instance, mallory: Instance) -> None:
    """The transfer id is in the signed, authenticated header: it cannot be moved to another transfer, and a
    receipt is accepted only from a registered peer and only if sealed to this instance."""
    sealed = seal_receipt(
        Receipt.accepted(uuid.UUID(int=9), "MNR-2027-00042"),
        transfer_id=TRANSFER,
        sender=belgium.keys,
        recipient=france.identity(),
        now=NOW,
    )
    moved = sealed.data[:6] + uuid.uuid4().bytes + sealed.data[22:]
    options = {"local_keys": france.ring.instance_keys.values(), "now": NOW}
    with pytest.raises(BadSignature):
        open_receipt(moved, peers={"be": belgium.identity()}, **options)  # type: ignore[arg-type]
    with pytest.raises(UnknownSigner):
        open_receipt(sealed.data, peers={"mt": mallory.identity()}, **options)  # type: ignore[arg-type]
    with pytest.raises(NotAddressedToUs):
        open_receipt(
            sealed.data, local_keys=mallory.ring.instance_keys.values(), peers={"be": belgium.identity()}, now=NOW
        )


def test_header_round_trip_and_repr(package: bytes) -> None:
    header = read_header(package)
    assert header.to_bytes() == package[:146]
    assert replace(header, ciphertext_length=1).to_bytes() != package[:146]
