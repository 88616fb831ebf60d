from __future__ import annotations

import dataclasses
import hmac
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.audit_chain import (
    GENESIS_MAC,
    ChainEntry,
    ChainHead,
    EntryFields,
    StoredEntry,
    canonical_bytes,
    compute_mac,
    hmac_sha256_hex,
    new_entry,
    verify_chain,
    verify_stored,
)

KEY = bytes(range(32))
START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
ORG = "11111111-2222-4333-8444-555555555555"


def build_chain(count: int, key: bytes = KEY) -> list[ChainEntry]:
    entries: list[ChainEntry] = []
    previous: ChainEntry | None = None
    for i in range(count):
        previous = new_entry(
            key,
            previous,
            time=START + timedelta(minutes=i, microseconds=i),
            actor_id=f"user-{i % 3}",
            organisation_id=ORG if i % 4 else None,
            action=("case.referred", "case.event", "identity.read")[i % 3],
            case_id=f"case-{i % 5}" if i % 6 else None,
            details={"event": "assign", "reason": "purpose-" + str(i)} if i % 2 else {},
        )
        entries.append(previous)
    return entries


def renumber(entries: list[ChainEntry], start: int) -> list[ChainEntry]:
    return [dataclasses.replace(e, sequence=start + i) for i, e in enumerate(entries)]


@pytest.fixture
def chain() -> list[ChainEntry]:
    return build_chain(30)


def test_a_valid_chain_verifies(chain: list[ChainEntry]) -> None:
    result = verify_chain(KEY, chain)
    assert result.valid
    assert result.entries == 30
    assert result.head == chain[-1].mac
    assert result.first_bad_sequence is None and result.problem is None
    assert [e.sequence for e in chain] == list(range(1, 31))
    assert chain[0].prev_mac == GENESIS_MAC
    assert all(chain[i].prev_mac == chain[i - 1].mac for i in range(1, 30))


def test_an_empty_log_is_valid() -> None:
    result = verify_chain(KEY, [])
    assert (result.valid, result.entries, result.head, result.first_bad_sequence) == (True, 0, None, None)


def test_verification_streams_from_an_iterator(chain: list[ChainEntry]) -> None:
    def cursor() -> Iterator[ChainEntry]:
        yield from chain

    assert verify_chain(KEY, cursor()).valid


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"event": "assign", "reason": "purpose-16", "extra": 1}},
        {"details": {"x": 1}},
        {"action": "case.erased"},
        {"actor_id": "user-9"},
        {"organisation_id": "99999999-2222-4333-8444-555555555555"},
        {"case_id": "case-other"},
        {"time": START + timedelta(minutes=16, microseconds=17)},
        {"mac": "f" * 64},
        {"mac": "not even hex"},
        {"mac": "é" * 64},
        {"prev_mac": "0" * 64},
    ],
)
def test_an_edited_entry_is_named(chain: list[ChainEntry], change: dict[str, Any]) -> None:
    chain[16] = dataclasses.replace(chain[16], **change)
    result = verify_chain(KEY, chain)
    assert not result.valid
    assert result.first_bad_sequence == 17
    assert result.entries == 16 and result.head == chain[15].mac
    assert result.problem == "entry 17: its content was changed"


def test_the_same_instant_in_another_zone_is_not_a_change(chain: list[ChainEntry]) -> None:
    paris = timezone(timedelta(hours=1))
    chain[16] = dataclasses.replace(chain[16], time=chain[16].time.astimezone(paris))
    assert verify_chain(KEY, chain).valid


def test_a_deleted_entry_is_named(chain: list[ChainEntry]) -> None:
    del chain[16]
    result = verify_chain(KEY, chain)
    assert (result.valid, result.first_bad_sequence, result.problem) == (False, 17, "entry 17 is missing")


def test_several_deleted_entries(chain: list[ChainEntry]) -> None:
    del chain[16:19]
    result = verify_chain(KEY, chain)
    assert (result.first_bad_sequence, result.problem) == (17, "entries 17 to 19 are missing")


def test_a_deleted_first_entry_is_named(chain: list[ChainEntry]) -> None:
    result = verify_chain(KEY, chain[1:])
    assert (result.first_bad_sequence, result.problem) == (1, "entry 1 is missing")


def test_a_deletion_hidden_by_renumbering_is_named(chain: list[ChainEntry]) -> None:
    forged = chain[:16] + renumber(chain[17:], 17)
    result = verify_chain(KEY, forged)
    assert result.first_bad_sequence == 17
    assert result.problem == "entry 17 is missing (the entries after it were renumbered)"


def test_a_deleted_first_entry_hidden_by_renumbering(chain: list[ChainEntry]) -> None:
    result = verify_chain(KEY, renumber(chain[1:], 1))
    assert (result.first_bad_sequence, result.problem) == (
        1,
        "entry 1 is missing (the entries after it were renumbered)",
    )


def test_entries_delivered_out_of_order(chain: list[ChainEntry]) -> None:
    chain[16], chain[17] = chain[17], chain[16]
    result = verify_chain(KEY, chain)
    assert (result.first_bad_sequence, result.problem) == (17, "entries out of order at 17")


def test_swapped_sequence_numbers_are_named(chain: list[ChainEntry]) -> None:
    # Rows swapped in the database: each takes the other's sequence number (and place in ORDER BY).
    a, b = chain[16], chain[17]
    chain[16], chain[17] = dataclasses.replace(b, sequence=17), dataclasses.replace(a, sequence=18)
    result = verify_chain(KEY, chain)
    assert (result.first_bad_sequence, result.problem) == (17, "entries out of order at 17")


def test_distant_swap_is_detected(chain: list[ChainEntry]) -> None:
    a, b = chain[4], chain[20]
    chain[4], chain[20] = dataclasses.replace(b, sequence=5), dataclasses.replace(a, sequence=21)
    result = verify_chain(KEY, chain)
    assert not result.valid and result.first_bad_sequence == 5


def test_an_inserted_forged_entry_is_named(chain: list[ChainEntry]) -> None:
    forged = new_entry(
        b"not the key".ljust(32, b"\0"),
        chain[15],
        time=START,
        actor_id="intruder",
        organisation_id=ORG,
        action="case.event",
        case_id="case-1",
        details={},
    )
    for tampered in ([*chain[:16], forged, *renumber(chain[16:], 18)], [*chain[:16], forged, *chain[16:]]):
        result = verify_chain(KEY, tampered)
        assert result.first_bad_sequence == 17
        assert result.problem == "entry 17: its content was changed"


def test_a_duplicated_entry_is_named(chain: list[ChainEntry]) -> None:
    result = verify_chain(KEY, [*chain[:17], chain[16], *chain[17:]])
    assert (result.first_bad_sequence, result.problem) == (17, "entry 17 appears twice")


def rebuild(entries: list[ChainEntry], key: bytes = KEY) -> list[ChainEntry]:
    """What someone holding the key could do: recompute every MAC from the (edited) fields."""
    rebuilt: list[ChainEntry] = []
    previous: ChainEntry | None = None
    for e in entries:
        previous = new_entry(
            key,
            previous,
            time=e.time,
            actor_id=e.actor_id,
            organisation_id=e.organisation_id,
            action=e.action,
            case_id=e.case_id,
            details=e.details,
        )
        rebuilt.append(previous)
    return rebuilt


def test_an_entry_from_earlier_replayed_later_is_named(chain: list[ChainEntry]) -> None:
    result = verify_chain(KEY, [*chain[:17], chain[4], *chain[17:]])
    assert result.first_bad_sequence == 5
    assert result.problem == "entries out of order at 18: entry 5 comes after entry 17"


def test_a_chain_spliced_from_another_log_is_named(chain: list[ChainEntry]) -> None:
    # Two logs under the same key (say, a restored backup that kept running): each entry is authentic, but
    # entry 11 was written after another entry 10.
    other = rebuild([dataclasses.replace(e, details={"other": True}) for e in chain])
    result = verify_chain(KEY, chain[:10] + other[10:])
    assert result.first_bad_sequence == 11
    assert result.problem == "entry 11 does not follow entry 10: the chain was cut or spliced"


def test_wrong_key_fails_at_the_first_entry(chain: list[ChainEntry]) -> None:
    result = verify_chain(bytes(32), chain)
    assert (result.valid, result.entries, result.first_bad_sequence) == (False, 0, 1)


def test_a_truncated_tail_is_caught_by_the_recorded_head(chain: list[ChainEntry]) -> None:
    head = ChainHead(sequence=30, mac=chain[-1].mac)
    assert verify_chain(KEY, chain, expected_head=head).valid
    # A head recorded earlier is still fine once the log has grown.
    assert verify_chain(KEY, chain, expected_head=ChainHead(20, chain[19].mac)).valid
    result = verify_chain(KEY, chain[:25], expected_head=head)
    assert not result.valid and result.first_bad_sequence == 26 and result.entries == 25
    assert result.problem is not None and result.problem.startswith("entries 26 to 30 are missing")
    assert verify_chain(KEY, chain[:25]).valid  # without the head, the cut is invisible


def test_a_chain_rebuilt_with_the_key_does_not_match_the_recorded_head(chain: list[ChainEntry]) -> None:
    head = ChainHead(30, chain[-1].mac)
    chain[2] = dataclasses.replace(chain[2], action="forged")
    rebuilt = rebuild(chain)
    assert verify_chain(KEY, rebuilt).valid  # the key holder's forgery is consistent...
    result = verify_chain(KEY, rebuilt, expected_head=head)  # ...but not with the head kept elsewhere
    assert (result.valid, result.first_bad_sequence) == (False, 30)
    assert result.problem == "entry 30 does not match the recorded chain head"


def test_chain_head_text_round_trip(chain: list[ChainEntry]) -> None:
    head = ChainHead(30, chain[-1].mac)
    assert str(head) == f"30:{chain[-1].mac}"
    assert ChainHead.parse(str(head) + "\n") == head
    for bad in ("", "30", "x:" + "a" * 64, "30:" + "A" * 64, "30:abc"):
        with pytest.raises(ValueError):
            ChainHead.parse(bad)


@settings(max_examples=60, deadline=None)
@given(position=st.integers(min_value=0, max_value=19), kind=st.sampled_from(["edit", "delete", "swap"]))
def test_any_single_tampering_names_its_position(position: int, kind: str) -> None:
    chain = build_chain(20)
    if kind == "edit":
        chain[position] = dataclasses.replace(chain[position], action="forged")
        expected = position + 1
    elif kind == "delete":
        if position == 19:
            return  # the tail: only a recorded head can tell
        del chain[position]
        expected = position + 1
    else:
        if position == 19:
            return
        a, b = chain[position], chain[position + 1]
        chain[position] = dataclasses.replace(b, sequence=a.sequence)
        chain[position + 1] = dataclasses.replace(a, sequence=b.sequence)
        expected = position + 1
    result = verify_chain(KEY, chain)
    assert not result.valid and result.first_bad_sequence == expected
    assert result.entries == expected - 1


def as_stored(entry: ChainEntry) -> StoredEntry:
    """The entry as the database gives it back: the time as canonical text, the details as JSON text that is
    not canonical (keys in reverse order, spaces, non-ASCII escaped, as `json.dumps` writes by default)."""
    return StoredEntry(
        entry.sequence,
        entry.time.astimezone(UTC).isoformat(timespec="microseconds"),
        entry.actor_id,
        entry.organisation_id,
        entry.action,
        entry.case_id,
        json.dumps(dict(reversed(list(entry.details.items())))),
        entry.prev_mac,
        entry.mac,
    )


@settings(max_examples=60, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=19),
    kind=st.sampled_from(["none", "edit", "details", "time", "delete", "swap", "relink"]),
    anchored=st.booleans(),
    stretch=st.booleans(),
)
def test_stored_entries_get_the_answers_of_entries(position: int, kind: str, anchored: bool, stretch: bool) -> None:
    """`verify_stored` and `verify_chain` agree, result for result, on good and tampered logs and stretches."""
    chain = build_chain(20)
    head = ChainHead(chain[-1].sequence, chain[-1].mac) if anchored else None
    if kind == "edit":
        chain[position] = dataclasses.replace(chain[position], action="forged")
    elif kind == "details":
        chain[position] = dataclasses.replace(chain[position], details={"event": "forged"})
    elif kind == "time":
        chain[position] = dataclasses.replace(chain[position], time=chain[position].time + timedelta(microseconds=1))
    elif kind == "delete":
        del chain[position]
    elif kind == "swap" and position < 19:
        a, b = chain[position], chain[position + 1]
        chain[position] = dataclasses.replace(b, sequence=a.sequence)
        chain[position + 1] = dataclasses.replace(a, sequence=b.sequence)
    elif kind == "relink":
        chain[position] = dataclasses.replace(chain[position], prev_mac="f" * 64)
    after = ChainHead(chain[4].sequence, chain[4].mac) if stretch else None
    entries = chain[5:] if stretch else chain
    expected = verify_chain(KEY, entries, expected_head=head, after=after)
    assert verify_stored(KEY, [as_stored(e) for e in entries], expected_head=head, after=after) == expected


def test_stored_details_are_re_encoded_canonically() -> None:
    # The golden entry below, as stored: the MAC is over the canonical bytes, not over the stored text.
    stored = StoredEntry(
        7,
        "2026-11-26T10:00:00.000000+00:00",
        "5f0c8f4e-6d2b-4b8e-9a41-0c1d2e3f4a5b",
        None,
        "identity.read",
        "7b1f2c9e-3d4a-4c5b-9e6f-1a2b3c4d5e6f",
        '{"purpose": "panel_review", "b": [1, "\\u00fc", null, true]}',
        GENESIS_MAC,
        "04f0990249ecc1fb9bb94ef226343676828a0b74bb594c91698b9672b6e87e53",
    )
    assert verify_stored(KEY, [stored], after=ChainHead(6, GENESIS_MAC)).valid


# --- canonical form ----------------------------------------------------------------------------------------


def test_canonical_bytes_golden() -> None:
    # Changing the canonical form breaks the verification of every log already written: this must not move.
    fields = EntryFields(
        sequence=7,
        time=datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC),
        actor_id="5f0c8f4e-6d2b-4b8e-9a41-0c1d2e3f4a5b",
        organisation_id=None,
        action="identity.read",
        case_id="7b1f2c9e-3d4a-4c5b-9e6f-1a2b3c4d5e6f",
        details={"purpose": "panel_review", "b": [1, "ü", None, True]},
    )
    expected = (
        '{"action":"identity.read","actor":"5f0c8f4e-6d2b-4b8e-9a41-0c1d2e3f4a5b",'
        '"case":"7b1f2c9e-3d4a-4c5b-9e6f-1a2b3c4d5e6f","details":{"b":[1,"ü",null,true],'
        '"purpose":"panel_review"},"org":null,"prev":"' + "0" * 64 + '","seq":7,'
        '"time":"2026-11-26T10:00:00.000000+00:00","v":1}'
    ).encode()
    assert canonical_bytes(GENESIS_MAC, fields) == expected
    assert compute_mac(KEY, GENESIS_MAC, fields) == hmac.new(KEY, expected, "sha256").hexdigest()
    assert compute_mac(KEY, GENESIS_MAC, fields) == ("04f0990249ecc1fb9bb94ef226343676828a0b74bb594c91698b9672b6e87e53")


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text())
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(
    sequence=st.integers(min_value=1, max_value=2**63),
    time=st.datetimes(timezones=st.just(UTC)),
    actor=st.text(min_size=1),
    organisation=st.none() | st.text(),
    action=st.text(min_size=1),
    case=st.none() | st.text(),
    details=st.dictionaries(st.text(), json_value, max_size=5),
    prev=st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
)
def test_canonical_bytes_are_sorted_compact_json(
    sequence: int,
    time: datetime,
    actor: str,
    organisation: str | None,
    action: str,
    case: str | None,
    details: dict[str, Any],
    prev: str,
) -> None:
    fields = EntryFields(sequence, time, actor, organisation, action, case, details)
    try:
        expected = json.dumps(
            {
                "v": 1,
                "seq": sequence,
                "time": f"{time.year:04d}-{time:%m-%dT%H:%M:%S.%f}+00:00",
                "actor": actor,
                "org": organisation,
                "action": action,
                "case": case,
                "details": details,
                "prev": prev,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: not UTF-8, refused by both
        with pytest.raises(UnicodeEncodeError):
            canonical_bytes(prev, fields)
        return
    assert canonical_bytes(prev, fields) == expected


def test_uuid_objects_serialise_as_their_canonical_text() -> None:
    actor, case = uuid.uuid4(), uuid.uuid4()
    as_text = EntryFields(1, START, str(actor), ORG, "a", str(case), {})
    as_uuid = EntryFields(1, START, actor, uuid.UUID(ORG), "a", case, {})  # type: ignore[arg-type]
    assert canonical_bytes(GENESIS_MAC, as_text) == canonical_bytes(GENESIS_MAC, as_uuid)
    entry = new_entry(KEY, None, time=START, actor_id=actor, organisation_id=None, action="a", case_id=case, details={})
    assert entry.actor_id == str(actor) and entry.case_id == str(case)


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 64, 65, 200])
def test_fast_hmac_equals_the_standard_library(length: int) -> None:
    key = bytes((i * 7 + 3) % 256 for i in range(length))
    mac = hmac_sha256_hex(key)
    for message in (b"", b"x", b"a" * 1000):
        assert mac(message) == hmac.new(key, message, "sha256").hexdigest()


# --- writing -----------------------------------------------------------------------------------------------


def test_new_entry_refuses_what_would_not_verify_the_same_later() -> None:
    base: dict[str, Any] = {
        "time": START,
        "actor_id": "u",
        "organisation_id": ORG,
        "action": "a",
        "case_id": None,
        "details": {},
    }
    changes: list[tuple[dict[str, Any], str]] = [
        ({"time": datetime(2026, 1, 1)}, "timezone-aware"),
        ({"details": {"ratio": 0.5}}, "float"),
        ({"details": {"when": START}}, "datetime"),
        ({"details": {1: "x"}}, "keys must be strings"),
        ({"details": ["x"]}, "mapping"),
        ({"actor_id": ""}, "actor_id"),
        ({"actor_id": None}, "actor_id"),
        ({"action": ""}, "action"),
        ({"case_id": 5}, "case_id"),
    ]
    for change, message in changes:
        with pytest.raises(ValueError, match=message):
            new_entry(KEY, None, **{**base, **change})


def test_new_entry_copies_the_details() -> None:
    details: dict[str, Any] = {"reasons": ["a"]}
    entry = new_entry(
        KEY, None, time=START, actor_id="u", organisation_id=None, action="a", case_id=None, details=details
    )
    details["reasons"].append("b")
    assert verify_chain(KEY, [entry]).valid


def test_new_entry_continues_from_a_head(chain: list[ChainEntry]) -> None:
    head = ChainHead(30, chain[-1].mac)
    entry = new_entry(KEY, head, time=START, actor_id="u", organisation_id=None, action="a", case_id=None, details={})
    assert entry.sequence == 31 and entry.prev_mac == chain[-1].mac
    assert verify_chain(KEY, [*chain, entry]).valid


@pytest.mark.slow
def test_verification_of_200_000_entries_streams() -> None:
    count = 200_000
    mac = hmac_sha256_hex(KEY)

    def synthetic() -> Iterator[ChainEntry]:
        previous = GENESIS_MAC
        for i in range(1, count + 1):
            fields = EntryFields(i, START + timedelta(seconds=i), "u", ORG, "case.event", "case-1", {"n": i})
            current = mac(canonical_bytes(previous, fields))
            yield ChainEntry(i, fields.time, "u", ORG, "case.event", "case-1", fields.details, previous, current)
            previous = current

    result = verify_chain(KEY, synthetic())
    assert result.valid and result.entries == count
