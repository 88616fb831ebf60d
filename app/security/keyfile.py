"""The key file: the key-encryption keys (KEKs), the audit HMAC key and this instance's transfer keys.

A leaked database or database backup must not be enough to read an identity or to forge the audit trail, so
every key that protects them lives in this file (`NRM_KEY_FILE`, by default `./var/nrm.keys`), readable by the
service's user only. The same goes for the instance keys that let this instance sign and receive cross-border
transfers (an Ed25519 signing key and an X25519 encryption key, `InstanceKeys`): whoever holds them can speak
for this national mechanism to its peers. The layout and the rotation procedures are described in
`docs/encryption.md`.

Every change is written to a temporary file and renamed over the old one, so a reader sees the old ring or the
new ring, never half of one; changes are serialised by an advisory lock so two `nrm keys rotate` runs cannot
lose a KEK that one of them has already used to wrap case keys.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

__all__ = [
    "KEY_BYTES",
    "InstanceKeys",
    "KeyFileError",
    "KeyRing",
    "MissingInstanceKeysError",
    "UnknownKekError",
    "ensure_key_file",
    "load_key_file",
    "retire_instance_keys",
    "retire_kek",
    "rotate_instance_keys",
    "rotate_kek",
]

KEY_BYTES: Final = 32
FILE_FORMAT: Final = "nrm-key-file"
# Version 2 added the instance keys. Version 1 files are still read, and gain instance keys the next time the
# file is written (`ensure_key_file` does so). A version-1 reader refuses version 2, which is what keeps an
# older release from rewriting the file without the instance keys.
FILE_VERSION: Final = 2
_READABLE_VERSIONS: Final = (1, 2)
# A key file is a few hundred bytes per KEK; anything far larger is not ours and is not worth reading.
_MAX_FILE_BYTES: Final = 1024 * 1024
# KEK ids travel in clear inside every wrapped key (one length byte), so they are short and ASCII; instance
# key ids follow the same rule.
_KEK_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PRIVATE_MODE: Final = 0o600


class KeyFileError(Exception):
    """The key file is missing, unsafe or malformed. The message names the file, never key material."""


class MissingInstanceKeysError(LookupError):
    """The key ring holds no instance keys: a version-1 key file not yet upgraded by `nrm keys ensure`."""

    def __init__(self) -> None:
        super().__init__(
            "the key file holds no instance keys (signing and encryption keys for transfers); "
            "run `nrm keys ensure` to add them"
        )


class UnknownKekError(LookupError):
    """The key ring holds no KEK with this id (retired, or from another key file)."""

    def __init__(self, kek_id: str) -> None:
        super().__init__(f"no key-encryption key with id {_printable_id(kek_id)} in the key ring")
        self.kek_id = kek_id


def _printable_id(value: object) -> str:
    # A malformed file could hold key material where an id belongs; only echo what looks like an id.
    if isinstance(value, str) and _KEK_ID_RE.fullmatch(value):
        return repr(value)
    return "(invalid id)"


def _check_key(value: object, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes")
    return value


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class InstanceKeys:
    """One generation of this instance's transfer keys: an Ed25519 signing key and an X25519 encryption key.

    Both are kept as their raw 32-byte private forms (the Ed25519 seed, the X25519 scalar). The public halves
    are derived once, here; they are what an identity line publishes. `repr` shows the id only.
    """

    key_id: str
    signing_key: bytes
    encryption_key: bytes
    created_at: datetime
    signing_public_key: bytes = field(init=False)
    encryption_public_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.key_id, str) or not _KEK_ID_RE.fullmatch(self.key_id):
            raise ValueError(f"instance key id {_printable_id(self.key_id)} is not a valid id")
        _check_key(self.signing_key, f"the signing key of {self.key_id!r}")
        _check_key(self.encryption_key, f"the encryption key of {self.key_id!r}")
        if not isinstance(self.created_at, datetime) or self.created_at.tzinfo is None:
            raise ValueError(f"created_at of instance keys {self.key_id!r} must be timezone-aware")
        raw = Encoding.Raw, PublicFormat.Raw
        object.__setattr__(self, "signing_public_key", self.signing_private_key().public_key().public_bytes(*raw))
        object.__setattr__(self, "encryption_public_key", self.encryption_private_key().public_key().public_bytes(*raw))

    @classmethod
    def generate(cls, key_id: str, now: datetime) -> InstanceKeys:
        raw = Encoding.Raw, PrivateFormat.Raw, NoEncryption()
        return cls(
            key_id=key_id,
            signing_key=Ed25519PrivateKey.generate().private_bytes(*raw),
            encryption_key=X25519PrivateKey.generate().private_bytes(*raw),
            created_at=now,
        )

    def signing_private_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.signing_key)

    def encryption_private_key(self) -> X25519PrivateKey:
        return X25519PrivateKey.from_private_bytes(self.encryption_key)

    def __repr__(self) -> str:
        return f"InstanceKeys(key_id={self.key_id!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class KeyRing:
    """The keys read from the key file. Immutable; `repr` shows ids only.

    `keks` keeps creation order (oldest first); `created_at` tells when each KEK was made, which is what
    decides whether the backup window of an old KEK has passed. `instance_keys` (oldest first) are this
    instance's transfer keys: the active generation signs and is published; older ones still open what peers
    sealed to them until retired. A ring read from a version-1 file has none (`has_instance_keys` is false).
    """

    active_kek_id: str
    keks: Mapping[str, bytes]
    audit_hmac_key: bytes
    created_at: Mapping[str, datetime]
    instance_keys: Mapping[str, InstanceKeys] = field(default_factory=dict)
    active_instance_key_id: str | None = None

    def __post_init__(self) -> None:
        keks = dict(self.keks)
        for kek_id, key in keks.items():
            if not isinstance(kek_id, str) or not _KEK_ID_RE.fullmatch(kek_id):
                raise ValueError(f"KEK id {_printable_id(kek_id)} is not a valid id")
            _check_key(key, f"KEK {kek_id!r}")
        if self.active_kek_id not in keks:
            raise ValueError(f"the active KEK {_printable_id(self.active_kek_id)} is not among the KEKs")
        _check_key(self.audit_hmac_key, "the audit HMAC key")
        created = dict(self.created_at)
        if set(created) != set(keks):
            raise ValueError("created_at must give a time for every KEK, and only for them")
        for kek_id, when in created.items():
            if when.tzinfo is None:
                raise ValueError(f"created_at of KEK {kek_id!r} must be timezone-aware")
        instance = dict(self.instance_keys)
        for key_id, keys in instance.items():
            if not isinstance(keys, InstanceKeys) or keys.key_id != key_id:
                raise ValueError(f"instance keys {_printable_id(key_id)} are filed under another id")
        if instance and self.active_instance_key_id not in instance:
            raise ValueError(
                f"the active instance keys {_printable_id(self.active_instance_key_id)} are not among them"
            )
        if not instance and self.active_instance_key_id is not None:
            raise ValueError("an active instance key id is given but there are no instance keys")
        # Read-only views so a caller cannot swap a key inside a ring other code already holds.
        object.__setattr__(self, "keks", MappingProxyType(keks))
        object.__setattr__(self, "created_at", MappingProxyType(created))
        object.__setattr__(self, "instance_keys", MappingProxyType(instance))

    @classmethod
    def generate(cls, *, now: datetime | None = None) -> KeyRing:
        """A fresh ring with one KEK, a new audit HMAC key and instance keys (what a new key file holds)."""
        now = now or datetime.now(UTC)
        kek_id = _new_id("kek", now, ())
        return cls(
            active_kek_id=kek_id,
            keks={kek_id: secrets.token_bytes(KEY_BYTES)},
            audit_hmac_key=secrets.token_bytes(KEY_BYTES),
            created_at={kek_id: now},
        ).with_new_instance_keys(now=now)

    @property
    def kek_ids(self) -> tuple[str, ...]:
        return tuple(self.keks)

    def kek(self, kek_id: str) -> bytes:
        try:
            return self.keks[kek_id]
        except KeyError:
            raise UnknownKekError(kek_id) from None

    def with_new_kek(self, *, now: datetime | None = None) -> KeyRing:
        """This ring plus a new active KEK; the old KEKs stay to unwrap keys not yet re-wrapped."""
        now = now or datetime.now(UTC)
        kek_id = _new_id("kek", now, self.keks)
        return replace(
            self,
            active_kek_id=kek_id,
            keks={**self.keks, kek_id: secrets.token_bytes(KEY_BYTES)},
            created_at={**self.created_at, kek_id: now},
        )

    def without_kek(self, kek_id: str) -> KeyRing:
        """This ring minus an old KEK; refuses the active one, which is still wrapping new case keys."""
        if kek_id not in self.keks:
            raise UnknownKekError(kek_id)
        if kek_id == self.active_kek_id:
            raise ValueError(f"KEK {kek_id!r} is the active KEK; rotate before retiring it")
        return replace(
            self,
            keks={k: v for k, v in self.keks.items() if k != kek_id},
            created_at={k: v for k, v in self.created_at.items() if k != kek_id},
        )

    # --- instance keys (cross-border transfers) ---

    @property
    def has_instance_keys(self) -> bool:
        return bool(self.instance_keys)

    @property
    def instance_key_ids(self) -> tuple[str, ...]:
        return tuple(self.instance_keys)

    @property
    def active_instance_keys(self) -> InstanceKeys:
        """The generation that signs what this instance sends and whose public keys it publishes."""
        if self.active_instance_key_id is None:
            raise MissingInstanceKeysError
        return self.instance_keys[self.active_instance_key_id]

    def with_new_instance_keys(self, *, now: datetime | None = None) -> KeyRing:
        """This ring plus a new active generation of instance keys; older ones stay to open what peers sealed
        to them before they learnt the new identity."""
        now = now or datetime.now(UTC)
        key_id = _new_id("inst", now, self.instance_keys)
        return replace(
            self,
            instance_keys={**self.instance_keys, key_id: InstanceKeys.generate(key_id, now)},
            active_instance_key_id=key_id,
        )

    def without_instance_keys(self, key_id: str) -> KeyRing:
        """This ring minus an old generation of instance keys; refuses the active one."""
        if key_id not in self.instance_keys:
            raise KeyError(key_id)
        if key_id == self.active_instance_key_id:
            raise ValueError(f"instance keys {key_id!r} are the active ones; rotate before retiring them")
        return replace(self, instance_keys={k: v for k, v in self.instance_keys.items() if k != key_id})

    def __repr__(self) -> str:
        return (
            f"KeyRing(active_kek_id={self.active_kek_id!r}, kek_ids={self.kek_ids!r}, "
            f"active_instance_key_id={self.active_instance_key_id!r}, instance_key_ids={self.instance_key_ids!r})"
        )

    __str__ = __repr__


def _new_id(prefix: str, now: datetime, taken: Iterable[str]) -> str:
    taken_ids = set(taken)
    while True:
        # The date makes ids sortable by eye in logs; the random suffix separates rotations on one day.
        new_id = f"{prefix}-{now.astimezone(UTC):%Y-%m-%d}-{secrets.token_hex(2)}"
        if new_id not in taken_ids:
            return new_id


# --- file format -------------------------------------------------------------------------------------------


def _b64(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


def _time(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _serialise(ring: KeyRing) -> bytes:
    # Every writer upgrades first (`_upgraded`), so a file written is always of the current version.
    if not ring.has_instance_keys:
        raise ValueError("a key file of this version must hold instance keys")
    document = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "active_kek_id": ring.active_kek_id,
        "keks": {
            kek_id: {"created_at": _time(ring.created_at[kek_id]), "key": _b64(key)}
            for kek_id, key in ring.keks.items()
        },
        "audit_hmac_key": _b64(ring.audit_hmac_key),
        "active_instance_key_id": ring.active_instance_key_id,
        "instance_keys": {
            key_id: {
                "created_at": _time(keys.created_at),
                "signing_key": _b64(keys.signing_key),
                "encryption_key": _b64(keys.encryption_key),
            }
            for key_id, keys in ring.instance_keys.items()
        },
    }
    return (json.dumps(document, indent=2) + "\n").encode("utf-8")


def _decode_key(path: Path, value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileError(f"key file {path} is malformed: {what} must be a base64 string")
    key: bytes | None
    try:
        key = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        # Raised outside the handler: a UnicodeEncodeError holds the (key) string it failed on.
        key = None
    if key is None:
        raise KeyFileError(f"key file {path} is malformed: {what} is not valid base64")
    if len(key) != KEY_BYTES:
        raise KeyFileError(f"key file {path} is malformed: {what} is not {KEY_BYTES} bytes")
    return key


_NOT_JSON: Final = object()


def _parse(path: Path, raw: bytes) -> KeyRing:
    def bad(problem: str) -> KeyFileError:
        return KeyFileError(f"key file {path} is malformed: {problem}")

    document: Any
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        # Raised outside the handler: a JSONDecodeError keeps the whole document (the keys) in its `doc`
        # attribute, and even `from None` would leave it reachable as `__context__`.
        document = _NOT_JSON
    if document is _NOT_JSON:
        raise bad("it is not valid JSON")
    if not isinstance(document, dict):
        raise bad("it is not a JSON object")
    if document.get("format") != FILE_FORMAT:
        raise bad(f"'format' is not {FILE_FORMAT!r}")
    version = document.get("version")
    if version not in _READABLE_VERSIONS or isinstance(version, bool):
        raise bad(f"unsupported 'version' (this service reads versions {', '.join(map(str, _READABLE_VERSIONS))})")
    keks_doc = document.get("keks")
    if not isinstance(keks_doc, dict) or not keks_doc:
        raise bad("'keks' must be a non-empty object")
    keks: dict[str, bytes] = {}
    created: dict[str, datetime] = {}
    for kek_id, entry in keks_doc.items():
        if not _KEK_ID_RE.fullmatch(kek_id):
            raise bad("a KEK id is not a valid id (letters, digits, '.', '_', '-'; at most 64)")
        if not isinstance(entry, dict):
            raise bad(f"KEK {kek_id!r} must be an object")
        keks[kek_id] = _decode_key(path, entry.get("key"), f"the key of KEK {kek_id!r}")
        created[kek_id] = _created_at(path, entry, f"KEK {kek_id!r}")
    active = document.get("active_kek_id")
    if not isinstance(active, str) or active not in keks:
        raise bad(f"'active_kek_id' {_printable_id(active)} is not one of the KEKs")
    audit_key = _decode_key(path, document.get("audit_hmac_key"), "'audit_hmac_key'")
    ring = KeyRing(active_kek_id=active, keks=keks, audit_hmac_key=audit_key, created_at=created)
    if version == 1:
        return ring  # no instance keys yet; the next write adds them
    instance, active_instance = _parse_instance_keys(path, document)
    return replace(ring, instance_keys=instance, active_instance_key_id=active_instance)


def _created_at(path: Path, entry: Mapping[str, Any], what: str) -> datetime:
    created_text = entry.get("created_at")
    try:
        when = datetime.fromisoformat(created_text) if isinstance(created_text, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise KeyFileError(
            f"key file {path} is malformed: {what} needs 'created_at' as an ISO 8601 time with a UTC offset"
        )
    return when


def _parse_instance_keys(path: Path, document: Mapping[str, Any]) -> tuple[dict[str, InstanceKeys], str]:
    def bad(problem: str) -> KeyFileError:
        return KeyFileError(f"key file {path} is malformed: {problem}")

    entries = document.get("instance_keys")
    if not isinstance(entries, dict) or not entries:
        raise bad("'instance_keys' must be a non-empty object")
    instance: dict[str, InstanceKeys] = {}
    for key_id, entry in entries.items():
        if not _KEK_ID_RE.fullmatch(key_id):
            raise bad("an instance key id is not a valid id (letters, digits, '.', '_', '-'; at most 64)")
        if not isinstance(entry, dict):
            raise bad(f"instance keys {key_id!r} must be an object")
        instance[key_id] = InstanceKeys(
            key_id=key_id,
            signing_key=_decode_key(path, entry.get("signing_key"), f"the signing key of {key_id!r}"),
            encryption_key=_decode_key(path, entry.get("encryption_key"), f"the encryption key of {key_id!r}"),
            created_at=_created_at(path, entry, f"instance keys {key_id!r}"),
        )
    active = document.get("active_instance_key_id")
    if not isinstance(active, str) or active not in instance:
        raise bad(f"'active_instance_key_id' {_printable_id(active)} is not one of the instance keys")
    return instance, active


# --- file system -------------------------------------------------------------------------------------------


def _read(path: Path) -> KeyRing:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KeyFileError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be opened: {exc.strerror}") from None
    try:
        # fstat on the open descriptor, so the file checked is the file read.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise KeyFileError(
                f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}: it must not be accessible "
                f"to group or others (run: chmod 600 {path})"
            )
        if info.st_size > _MAX_FILE_BYTES:
            raise KeyFileError(f"key file {path} is too large to be a key file")
        chunks: list[bytes] = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return _parse(path, b"".join(chunks))


def _fsync_directory(directory: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL with the mode given at creation: the keys are never, even for an instant, in a readable file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, _PRIVATE_MODE)
    try:
        try:
            os.fchmod(fd, _PRIVATE_MODE)  # the umask can only remove bits; make the mode exact anyway
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_directory(path.parent)


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Serialise writers of one key file (rotate, retire, first creation) across processes."""
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _PRIVATE_MODE)
    except OSError as exc:
        raise KeyFileError(f"key file {path}: cannot open lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write(path: Path, ring: KeyRing) -> None:
    try:
        _write_atomically(path, _serialise(ring))
    except OSError as exc:
        raise KeyFileError(f"key file {path} cannot be written: {exc.strerror}") from None


def _upgraded(ring: KeyRing, now: datetime | None) -> KeyRing:
    """A ring read from a version-1 file, given the instance keys that version 2 requires."""
    return ring if ring.has_instance_keys else ring.with_new_instance_keys(now=now)


# --- public API --------------------------------------------------------------------------------------------


def load_key_file(path: str | os.PathLike[str]) -> KeyRing:
    """Read the key file; `KeyFileError` if it is missing, readable by group or others, or malformed."""
    return _read(Path(path))


def ensure_key_file(path: str | os.PathLike[str], *, now: datetime | None = None) -> KeyRing:
    """Read the key file, creating it (mode 0600, parent directory 0700) with fresh keys if missing.

    An existing file is never replaced, even if it is unsafe or malformed: overwriting it would destroy the
    only copy of the keys that open every case. A version-1 file is upgraded in place: its KEKs and audit key
    are kept byte for byte, and instance keys are added.
    """
    path = Path(path)
    if os.path.lexists(path):
        # No lock needed to read, and none possible on a read-only mount (a secret volume, say).
        ring = _read(path)
        # A version-1 file: upgrade it, re-reading under the lock (another process may have done it meanwhile).
        return ring if ring.has_instance_keys else _change(path, lambda upgraded: upgraded, now=now)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(f"key file {path}: cannot create its directory: {exc.strerror}") from None
    with _exclusive(path):
        # Checked under the lock: two processes starting together must end up with one set of keys.
        if os.path.lexists(path):
            return _read(path)
        ring = KeyRing.generate(now=now)
        _write(path, ring)
        return ring


def rotate_kek(path: str | os.PathLike[str], *, now: datetime | None = None) -> KeyRing:
    """Add a new KEK and make it active, keeping the old ones; returns the new ring.

    After this, every case key should be re-wrapped (`envelope.rewrap`) before the old KEK is retired.
    """
    return _change(Path(path), lambda ring: ring.with_new_kek(now=now), now=now)


def retire_kek(path: str | os.PathLike[str], kek_id: str) -> KeyRing:
    """Remove an old, non-active KEK; returns the new ring.

    Whatever is still wrapped under it becomes unreadable for good: that is the point once the backup
    window has passed, and a data loss if case keys were not all re-wrapped first.
    """
    return _retire(Path(path), "KEK", kek_id, lambda ring: ring.without_kek(kek_id))


def rotate_instance_keys(path: str | os.PathLike[str], *, now: datetime | None = None) -> KeyRing:
    """Add a new generation of instance keys and make it active, keeping the old ones; returns the new ring.

    Peers know this instance by its public keys: after a rotation every peer must register the new identity
    line (`nrm instance show`), checking its fingerprint again. Until then they still seal to the old
    encryption key, which keeps opening their packages here until `retire_instance_keys`.
    """
    return _change(Path(path), lambda ring: ring.with_new_instance_keys(now=now), now=now)


def retire_instance_keys(path: str | os.PathLike[str], key_id: str) -> KeyRing:
    """Remove an old, non-active generation of instance keys; returns the new ring.

    From then on a package sealed to its encryption key no longer opens here: retire once every peer has
    registered the new identity and nothing sealed to the old one is still in flight.
    """
    return _retire(Path(path), "instance keys", key_id, lambda ring: ring.without_instance_keys(key_id))


def _change(path: Path, change: Callable[[KeyRing], KeyRing], *, now: datetime | None = None) -> KeyRing:
    """Read the file under its lock, upgrade it to the current version, apply `change`, write it back."""
    with _exclusive(path):
        ring = change(_upgraded(_read(path), now))
        _write(path, ring)
        return ring


def _retire(path: Path, what: str, key_id: str, remove: Callable[[KeyRing], KeyRing]) -> KeyRing:
    def change(ring: KeyRing) -> KeyRing:
        try:
            return remove(ring)
        except LookupError:
            raise KeyFileError(f"key file {path} has no {what} {_printable_id(key_id)}") from None
        except ValueError:
            raise KeyFileError(
                f"key file {path}: {what} {key_id!r} is the active one and cannot be retired; rotate first"
            ) from None

    return _change(path, change)
