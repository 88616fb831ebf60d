"""The HMAC chain of the audit log: pure functions, no database.

Each entry's MAC covers its own fields and the previous entry's MAC, under a key kept in the key file and not
in the database. Whoever can write to the database but does not hold the key cannot edit, delete, insert or
reorder entries without `verify_chain` noticing; cutting entries off the end is caught by comparing with a
chain head (`ChainHead`) printed earlier and kept elsewhere.

Canonical bytes of an entry (what the MAC is computed over), version 1: compact UTF-8 JSON with sorted keys of

    {"action": str, "actor": str, "case": str | null, "details": {...}, "org": str | null,
     "prev": previous MAC (hex), "seq": int, "time": "YYYY-MM-DDTHH:MM:SS.ffffff+00:00", "v": 1}

Times must be timezone-aware (a database that returns naive times must have them marked as UTC before they
come here); details must be JSON-native (str keys; str, int, bool, None, lists, objects; no floats, which a
JSON column may not give back digit for digit) and must never contain personal data.

Entries are verified either as objects (`verify_chain`: `ChainEntry`, database rows) or as stored text
(`verify_stored`: `StoredEntry`, the time already in its canonical text and the details as the JSON text the
database holds, which need not be canonical). Both assemble the same canonical bytes (`_assemble`) and run the
same loop (`_verify`), so they give the same answers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, Final, NamedTuple, Protocol, TypeVar
from uuid import UUID

__all__ = [
    "CANONICAL_VERSION",
    "GENESIS_MAC",
    "ChainEntry",
    "ChainHead",
    "EntryFields",
    "StoredEntry",
    "VerifyResult",
    "canonical_bytes",
    "compute_mac",
    "new_entry",
    "verify_chain",
    "verify_stored",
]

GENESIS_MAC: Final = "0" * 64
CANONICAL_VERSION: Final = 1

# Canonical bytes are assembled by hand rather than by `json.dumps(..., sort_keys=True)` of a dict: the result
# is byte for byte the same (the top-level keys below are written in sorted order and strings are escaped by
# the same C function the json module uses), in well under half the time, which is what lets verification
# keep up with a log of tens of millions of entries. A test checks the equivalence.
_quote: Final = encode_basestring


def _details_encoder() -> Callable[[Any], str]:
    if c_make_encoder is not None:
        # The json module's own C encoder, built once instead of on every `dumps` call.
        encode = c_make_encoder(None, _unserialisable, _quote, None, ":", ",", True, False, False)
        return lambda value: "".join(encode(value, 0))
    return json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _unserialisable(value: object) -> object:
    raise TypeError(f"{type(value).__name__} cannot be part of an audit entry")


_encode_details: Final = _details_encoder()


class EntryFieldsLike(Protocol):
    """What the MAC covers, besides the previous MAC: a `ChainEntry`, an `EntryFields` or a database row."""

    @property
    def sequence(self) -> int: ...
    @property
    def time(self) -> datetime: ...
    @property
    def actor_id(self) -> str | UUID: ...
    @property
    def organisation_id(self) -> str | UUID | None: ...
    @property
    def action(self) -> str: ...
    @property
    def case_id(self) -> str | UUID | None: ...
    @property
    def details(self) -> Mapping[str, Any]: ...


class ChainEntryLike(EntryFieldsLike, Protocol):
    @property
    def prev_mac(self) -> str: ...
    @property
    def mac(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EntryFields:
    sequence: int
    time: datetime
    actor_id: str
    organisation_id: str | None
    action: str
    case_id: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """An audit entry as stored: its fields, the previous entry's MAC and its own MAC (lowercase hex)."""

    sequence: int
    time: datetime
    actor_id: str
    organisation_id: str | None
    action: str
    case_id: str | None
    details: Mapping[str, Any]
    prev_mac: str
    mac: str


class StoredEntry(NamedTuple):
    """An entry as read from the database, before any decoding (a plain tuple: cheap to make by the million).

    `time_text` must already be the canonical time, `YYYY-MM-DDTHH:MM:SS.ffffff+00:00` in UTC (the database
    formats it); `details_json` is the details as the JSON text the database holds, in any key order and
    spacing: it is parsed and re-encoded canonically, exactly as the parsed value of a JSON column would be.
    """

    sequence: int
    time_text: str
    actor_id: str
    organisation_id: str | None
    action: str
    case_id: str | None
    details_json: str
    prev_mac: str
    mac: str


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last entry's sequence number and MAC; printed as `sequence:mac` to be kept outside the database."""

    sequence: int
    mac: str

    def __str__(self) -> str:
        return f"{self.sequence}:{self.mac}"

    @classmethod
    def parse(cls, text: str) -> ChainHead:
        sequence, sep, mac = text.strip().partition(":")
        if not sep or not sequence.isdigit() or len(mac) != 64 or mac.strip("0123456789abcdef"):
            raise ValueError("a chain head is written as <sequence>:<64 lowercase hex digits>")
        return cls(sequence=int(sequence), mac=mac)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """`entries` counts the entries verified good from the start; `head` is the MAC of the last of them."""

    valid: bool
    entries: int
    head: str | None
    first_bad_sequence: int | None
    problem: str | None


def _utc_text(time: datetime) -> str:
    text = time.isoformat(timespec="microseconds")
    if text.endswith("+00:00"):  # any zero-offset zone: the text does not depend on the tzinfo object
        return text
    if time.utcoffset() is None:
        raise ValueError("audit entry time must be timezone-aware")
    return time.astimezone(UTC).isoformat(timespec="microseconds")


def _ident(value: str | UUID | None) -> str:
    # A UUID column gives back UUID objects; str(uuid) is the canonical lowercase form written at creation.
    if type(value) is str:
        return _quote(value)
    if value is None:
        return "null"
    if isinstance(value, UUID):
        return _quote(str(value))
    return _quote(value)  # TypeError: not something this service writes


def _assemble(
    previous_mac: str,
    sequence: int,
    time_text: str,
    actor_id: str | UUID,
    organisation_id: str | UUID | None,
    action: str,
    case_id: str | UUID | None,
    details_text: str,
) -> bytes:
    """The canonical bytes, from the time's text and the details' canonical JSON text (the one place they are
    put together)."""
    return (
        f'{{"action":{_quote(action)},"actor":{_ident(actor_id)},"case":{_ident(case_id)},'
        f'"details":{details_text},"org":{_ident(organisation_id)},"prev":{_quote(previous_mac)},'
        f'"seq":{sequence:d},"time":"{time_text}","v":{CANONICAL_VERSION}}}'
    ).encode()


def _canonical(previous_mac: str, sequence: int, entry: EntryFieldsLike) -> bytes:
    details = entry.details
    return _assemble(
        previous_mac,
        sequence,
        _utc_text(entry.time),
        entry.actor_id,
        entry.organisation_id,
        entry.action,
        entry.case_id,
        "{}" if type(details) is dict and not details else _encode_details(details),
    )


@lru_cache(maxsize=4096)
def _canonical_details(stored_json: str) -> str:
    # A pure function of the stored text, and a log repeats the same few details (an event's name, its states)
    # over and over: remembering the last few thousand spares most entries the parse and the re-encoding.
    return _encode_details(json.loads(stored_json))


def _canonical_stored(previous_mac: str, sequence: int, entry: StoredEntry) -> bytes:
    return _assemble(
        previous_mac,
        sequence,
        entry.time_text,
        entry.actor_id,
        entry.organisation_id,
        entry.action,
        entry.case_id,
        _canonical_details(entry.details_json),
    )


def canonical_bytes(previous_mac: str, entry: EntryFieldsLike) -> bytes:
    """What an entry's MAC is computed over: canonical JSON (see the module docstring)."""
    return _canonical(previous_mac, entry.sequence, entry)


def compute_mac(key: bytes, previous_mac: str, entry: EntryFieldsLike) -> str:
    """Hex HMAC-SHA256 of the entry's canonical bytes; `GENESIS_MAC` is the previous MAC of entry 1."""
    return hmac.digest(key, _canonical(previous_mac, entry.sequence, entry), "sha256").hex()


_INNER_PAD: Final = bytes(x ^ 0x36 for x in range(256))
_OUTER_PAD: Final = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256_hex(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA256 (RFC 2104) with the key schedule done once, for verifying many entries under one key.

    `hmac.digest` redoes the key schedule and an OpenSSL context set-up for every message, which is half of
    its cost on short messages; copying two pre-keyed hash states instead gives the same MACs (tested).
    """
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner_copy = hashlib.sha256(key.translate(_INNER_PAD)).copy
    outer_copy = hashlib.sha256(key.translate(_OUTER_PAD)).copy

    def mac(message: bytes) -> str:
        inner = inner_copy()
        inner.update(message)
        outer = outer_copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    return mac


# --- writing -----------------------------------------------------------------------------------------------


def _plain_json(value: Any, where: str) -> Any:
    """A deep copy made only of JSON-native types, or ValueError naming where the problem is."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"audit details: keys must be strings (at {where})")
            copy[k] = _plain_json(v, f"{where}.{k}")
        return copy
    if isinstance(value, list | tuple):
        return [_plain_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValueError(f"audit details: {type(value).__name__} is not allowed (at {where}); use str or int")


def new_entry(
    key: bytes,
    previous: ChainEntryLike | ChainHead | None,
    *,
    time: datetime,
    actor_id: str | UUID,
    organisation_id: str | UUID | None,
    action: str,
    case_id: str | UUID | None,
    details: Mapping[str, Any],
) -> ChainEntry:
    """The entry that follows `previous` (None for the first entry of the log), with its MAC.

    The caller must hold whatever lock makes `previous` the current head, or two writers will fork the chain.
    """
    if time.utcoffset() is None:
        raise ValueError("audit entry time must be timezone-aware")
    if not isinstance(action, str) or not action:
        raise ValueError("audit entry action must be a non-empty string")
    actor = _id_text(actor_id, "actor_id")
    if actor is None:
        raise ValueError("audit entry actor_id must not be None")
    if not isinstance(details, Mapping):
        raise ValueError("audit details must be a mapping")
    fields = EntryFields(
        sequence=1 if previous is None else previous.sequence + 1,
        time=time,
        actor_id=actor,
        organisation_id=_id_text(organisation_id, "organisation_id"),
        action=action,
        case_id=_id_text(case_id, "case_id"),
        # A private copy: a caller mutating its dict afterwards must not desynchronise entry and MAC.
        details=_plain_json(details, "details"),
    )
    prev_mac = GENESIS_MAC if previous is None else previous.mac
    return ChainEntry(
        sequence=fields.sequence,
        time=fields.time,
        actor_id=fields.actor_id,
        organisation_id=fields.organisation_id,
        action=fields.action,
        case_id=fields.case_id,
        details=fields.details,
        prev_mac=prev_mac,
        mac=compute_mac(key, prev_mac, fields),
    )


def _id_text(value: str | UUID | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, UUID):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ValueError(f"audit entry {name} must be a non-empty string, a UUID or None")
    return value


# --- verifying ---------------------------------------------------------------------------------------------


class _Linked(Protocol):
    """What the loop itself reads of an entry; the rest is read by its canonical function."""

    @property
    def sequence(self) -> int: ...
    @property
    def prev_mac(self) -> str: ...
    @property
    def mac(self) -> str: ...


E = TypeVar("E", bound=_Linked)
Canonical = Callable[[str, int, E], bytes]


def _mac_matches(key: bytes, canonical: Canonical[E], entry: E, sequence: int) -> bool:
    try:
        computed = hmac.digest(key, canonical(entry.prev_mac, sequence, entry), "sha256").hex()
        return hmac.compare_digest(computed, entry.mac)
    except (TypeError, ValueError, AttributeError):
        return False


def _diagnose(
    key: bytes, canonical: Canonical[E], expected: int, prev_mac: str, entry: E, following: E | None
) -> tuple[int, str]:
    """First bad sequence number and the problem in plain words, for the entry found where `expected` was due.

    Only runs once, at the first failure, so it may look one entry ahead and recompute a MAC or two.
    """
    sequence = entry.sequence
    if not isinstance(sequence, int) or isinstance(sequence, bool):
        return expected, f"entry {expected}: its sequence number is not a number"
    if sequence > expected:
        if following is not None and following.sequence == expected:
            return expected, f"entries out of order at {expected}"
        if sequence == expected + 1:
            return expected, f"entry {expected} is missing"
        return expected, f"entries {expected} to {sequence - 1} are missing"
    if sequence == expected - 1:
        return sequence, f"entry {sequence} appears twice"
    if sequence < expected:
        return sequence, f"entries out of order at {expected}: entry {sequence} comes after entry {expected - 1}"
    if _mac_matches(key, canonical, entry, sequence):
        # Authentic where it stands, but not written after the entry before it.
        if expected == 1:
            return 1, "entry 1 does not start the chain (its previous MAC is not the genesis value)"
        return (
            expected,
            f"entry {expected} does not follow entry {expected - 1}: the chain was cut or spliced",
        )
    if _mac_matches(key, canonical, entry, sequence + 1):
        # It was entry `sequence + 1` before being renumbered.
        if following is not None and following.sequence == sequence + 1 and following.prev_mac == prev_mac:
            return expected, f"entries out of order at {expected}"
        return expected, f"entry {expected} is missing (the entries after it were renumbered)"
    return expected, f"entry {expected}: its content was changed"


def verify_chain(
    key: bytes,
    entries: Iterable[ChainEntryLike],
    *,
    expected_head: ChainHead | None = None,
    after: ChainHead | None = None,
) -> VerifyResult:
    """Check a whole log given in sequence order; stops at, and names, the first bad entry.

    Streams: memory does not grow with the number of entries. With `expected_head` (a head printed earlier),
    entries removed from the end are detected too, and so is a chain rebuilt from scratch with the key.
    With `after` (the entry before them, as stored), `entries` are a stretch of the log that must follow it;
    `entries` in the result then counts from the log's start, as if the entries up to `after` were good.
    """
    return _verify(key, _canonical, entries, expected_head, after)


def verify_stored(
    key: bytes,
    entries: Iterable[StoredEntry],
    *,
    expected_head: ChainHead | None = None,
    after: ChainHead | None = None,
) -> VerifyResult:
    """`verify_chain` over entries as the database stores them (`StoredEntry`): the same answers, without
    building a datetime and a dict for every entry."""
    return _verify(key, _canonical_stored, entries, expected_head, after)


def _verify(
    key: bytes,
    canonical: Canonical[E],
    entries: Iterable[E],
    expected_head: ChainHead | None,
    after: ChainHead | None,
) -> VerifyResult:
    iterator: Iterator[E] = iter(entries)
    expected = 1 if after is None else after.sequence + 1
    prev_mac = GENESIS_MAC if after is None else after.mac
    head: str | None = None if after is None else after.mac
    anchor = expected_head.sequence if expected_head is not None else 0
    # Locals: this loop runs tens of millions of times and attribute lookups are a large part of its cost.
    mac_of, compare = hmac_sha256_hex(key), hmac.compare_digest
    for entry in iterator:
        try:
            good = (
                entry.sequence == expected
                and entry.prev_mac == prev_mac
                and compare(mac_of(canonical(prev_mac, expected, entry)), entry.mac)
            )
        except (TypeError, ValueError, AttributeError):
            # Unserialisable fields, a naive time, a non-ASCII MAC: not something this service wrote.
            good = False
        if not good:
            first_bad, problem = _diagnose(key, canonical, expected, prev_mac, entry, next(iterator, None))
            return VerifyResult(False, expected - 1, head, first_bad, problem)
        if expected == anchor and expected_head is not None and entry.mac != expected_head.mac:
            return VerifyResult(
                False,
                expected - 1,
                head,
                expected,
                f"entry {expected} does not match the recorded chain head",
            )
        prev_mac = head = entry.mac
        expected += 1
    if anchor >= expected:
        return VerifyResult(
            False,
            expected - 1,
            head,
            expected,
            f"entries {expected} to {anchor} are missing: the log ends at entry {expected - 1} but the "
            f"recorded chain head is entry {anchor}",
        )
    return VerifyResult(True, expected - 1, head, None, None)
