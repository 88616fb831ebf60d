from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.envelope import (
    STREAM_HEADER_BYTES,
    TAG_BYTES,
    ChunkedEncryptor,
    DecryptionError,
    EnvelopeError,
    KeyUnavailableError,
    WrappedKey,
    decrypt_chunks,
    decrypt_field,
    decrypt_json,
    encrypt_document,
    encrypt_field,
    encrypt_json,
    encrypt_stream,
    new_case_key,
    rewrap,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.keyfile import KeyRing, ensure_key_file, load_key_file, retire_kek, rotate_kek

CASE = "7b1f2c9e-3d4a-4c5b-9e6f-1a2b3c4d5e6f"
OTHER_CASE = "0f9e8d7c-6b5a-4a3b-8c2d-1e0f9a8b7c6d"
STORY = "Ana Popescu was recruited in Constanța and held in a flat on Calea Victoriei".encode()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing.generate()


@pytest.fixture
def case_key() -> bytes:
    return new_case_key()


def flip(blob: bytes, index: int) -> bytes:
    return blob[:index] + bytes([blob[index] ^ 0x01]) + blob[index + 1 :]


def decrypt_all(case_key: bytes, case_id: str, document_id: str, data: bytes | list[bytes]) -> bytes:
    return b"".join(decrypt_chunks(case_key, case_id, document_id, data))


# --- case keys ---------------------------------------------------------------------------------------------


def test_new_case_keys_are_random_256_bit_keys() -> None:
    keys = {new_case_key() for _ in range(20)}
    assert len(keys) == 20 and all(len(k) == 32 for k in keys)


def test_wrap_unwrap_round_trip_and_layout(ring: KeyRing, case_key: bytes) -> None:
    wrapped = wrap_case_key(ring, case_key, CASE)
    kek_id = ring.active_kek_id.encode()
    assert wrapped.kek_id == ring.active_kek_id
    assert wrapped.blob[0] == 1
    assert wrapped.blob[1] == len(kek_id)
    assert wrapped.blob[2 : 2 + len(kek_id)] == kek_id
    assert len(wrapped.blob) == 2 + len(kek_id) + 12 + 32 + 16
    assert unwrap_case_key(ring, wrapped, CASE) == case_key
    assert WrappedKey.from_blob(wrapped.blob) == wrapped


def test_a_wrapped_key_moved_to_another_case_does_not_open(ring: KeyRing, case_key: bytes) -> None:
    wrapped = wrap_case_key(ring, case_key, CASE)
    with pytest.raises(DecryptionError):
        unwrap_case_key(ring, wrapped, OTHER_CASE)


def test_tampered_wrapped_key_does_not_open(ring: KeyRing, case_key: bytes) -> None:
    wrapped = wrap_case_key(ring, case_key, CASE)
    header = 2 + len(wrapped.kek_id)
    for index in range(header, len(wrapped.blob)):  # nonce, ciphertext, tag
        with pytest.raises(DecryptionError):
            unwrap_case_key(ring, WrappedKey(wrapped.kek_id, flip(wrapped.blob, index)), CASE)
    with pytest.raises(DecryptionError):
        unwrap_case_key(ring, WrappedKey(wrapped.kek_id, wrapped.blob[:-1]), CASE)


def test_wrong_kek_does_not_open(ring: KeyRing, case_key: bytes) -> None:
    wrapped = wrap_case_key(ring, case_key, CASE)
    # Another key file altogether: the id is unknown.
    with pytest.raises(KeyUnavailableError):
        unwrap_case_key(KeyRing.generate(), wrapped, CASE)
    # Same id, other key bytes.
    impostor = KeyRing(
        active_kek_id=ring.active_kek_id,
        keks={ring.active_kek_id: os.urandom(32)},
        audit_hmac_key=ring.audit_hmac_key,
        created_at=ring.created_at,
    )
    with pytest.raises(DecryptionError):
        unwrap_case_key(impostor, wrapped, CASE)


def test_the_kek_id_is_bound_to_the_wrapped_key(ring: KeyRing, case_key: bytes) -> None:
    rotated = ring.with_new_kek()
    wrapped = wrap_case_key(rotated, case_key, CASE)
    # Relabel the blob as wrapped by the other KEK (same id length): it must not open.
    old_id, new_id = ring.active_kek_id.encode(), rotated.active_kek_id.encode()
    assert len(old_id) == len(new_id)
    relabelled = wrapped.blob.replace(new_id, old_id, 1)
    with pytest.raises(DecryptionError):
        unwrap_case_key(rotated, WrappedKey.from_blob(relabelled), CASE)


def test_wrapped_key_consistency_and_repr(ring: KeyRing, case_key: bytes) -> None:
    wrapped = wrap_case_key(ring, case_key, CASE)
    with pytest.raises(ValueError):
        WrappedKey("kek-other", wrapped.blob)
    text = repr(wrapped)
    assert ring.active_kek_id in text and wrapped.blob.hex() not in text and repr(wrapped.blob) not in text


def test_rotation_keeps_old_wrapped_keys_readable_and_rewrap_moves_them(tmp_path: Path, case_key: bytes) -> None:
    path = tmp_path / "nrm.keys"
    old = ensure_key_file(path)
    wrapped = wrap_case_key(old, case_key, CASE)

    new = rotate_kek(path)
    assert unwrap_case_key(new, wrapped, CASE) == case_key

    rewrapped = rewrap(new, wrapped, CASE)
    assert rewrapped.kek_id == new.active_kek_id != wrapped.kek_id
    assert unwrap_case_key(new, rewrapped, CASE) == case_key
    assert rewrap(new, rewrapped, CASE) is rewrapped  # already current: nothing to do

    retired = retire_kek(path, old.active_kek_id)
    assert unwrap_case_key(retired, rewrapped, CASE) == case_key
    # What a backup taken before the rotation still holds is now unreadable for good.
    with pytest.raises(KeyUnavailableError):
        unwrap_case_key(load_key_file(path), wrapped, CASE)


def test_case_key_length_is_checked(ring: KeyRing) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_case_key(ring, b"too short", CASE)
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt_field(b"too short", CASE, "name", b"x")


# --- fields ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [b"", b"x", STORY, os.urandom(5000)])
def test_field_round_trip_and_layout(case_key: bytes, plaintext: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "account", plaintext)
    assert blob[:2] == b"\x01\x00"
    assert len(blob) == 2 + 12 + len(plaintext) + 16
    # A byte or two may turn up in 44 random bytes by chance (b"x" about one run in ten): look for longer ones.
    assert len(plaintext) < 8 or plaintext not in blob
    assert decrypt_field(case_key, CASE, "account", blob) == plaintext


def test_field_nonces_are_fresh(case_key: bytes) -> None:
    blobs = {encrypt_field(case_key, CASE, "name", b"same") for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[2:14] for b in blobs}) == 50


def test_a_field_moved_to_another_case_or_field_does_not_open(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "name", STORY)
    for case_id, field in [(OTHER_CASE, "name"), (CASE, "aliases"), (CASE, "nam"), (CASE, "name ")]:
        with pytest.raises(DecryptionError) as caught:
            decrypt_field(case_key, case_id, field, blob)
        assert "Ana" not in str(caught.value)


def test_case_and_field_cannot_trade_characters(case_key: bytes) -> None:
    # Without length prefixes ("ab", "c") and ("a", "bc") would give the same associated data.
    blob = encrypt_field(case_key, "case-a", "bname", b"x")
    with pytest.raises(DecryptionError):
        decrypt_field(case_key, "case-ab", "name", blob)


def test_every_tampered_byte_is_detected(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "name", b"Ana Popescu")
    for index in range(len(blob)):
        with pytest.raises(DecryptionError):
            decrypt_field(case_key, CASE, "name", flip(blob, index))


@pytest.mark.parametrize("cut", [0, 1, 2, 13, 14, 29])
def test_truncated_field_does_not_open(case_key: bytes, cut: int) -> None:
    blob = encrypt_field(case_key, CASE, "name", b"")
    assert len(blob) == 30
    with pytest.raises(DecryptionError):
        decrypt_field(case_key, CASE, "name", blob[:cut])


def test_wrong_case_key_does_not_open(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "name", STORY)
    with pytest.raises(DecryptionError):
        decrypt_field(new_case_key(), CASE, "name", blob)


def test_unknown_version_or_case_key_generation(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "name", STORY)
    with pytest.raises(DecryptionError, match="version"):
        decrypt_field(case_key, CASE, "name", b"\x02" + blob[1:])
    with pytest.raises(DecryptionError, match="case key"):
        decrypt_field(case_key, CASE, "name", b"\x01\x01g" + blob[2:])


def test_decryption_errors_carry_no_data(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "name", STORY)
    with pytest.raises(DecryptionError) as caught:
        decrypt_field(case_key, OTHER_CASE, "name", blob)
    error = caught.value
    rendered = str(error) + repr(error) + repr(error.args)
    assert case_key.hex() not in rendered and repr(case_key) not in rendered and "Ana" not in rendered


def test_json_round_trip(case_key: bytes) -> None:
    person = {"names": ["Ana Popescu", "Anișoara"], "born": "1999-04-02", "contact": None, "n": 3}
    blob = encrypt_json(case_key, CASE, "person", person)
    assert decrypt_json(case_key, CASE, "person", blob) == person
    with pytest.raises(DecryptionError):
        decrypt_json(case_key, CASE, "account", blob)


def test_json_helper_refuses_what_json_cannot_hold(case_key: bytes) -> None:
    with pytest.raises(ValueError):
        encrypt_json(case_key, CASE, "person", {"x": float("nan")})
    with pytest.raises(TypeError):
        encrypt_json(case_key, CASE, "person", {"when": datetime.now(UTC)})


def test_a_field_that_is_not_json_fails_without_exposing_it(case_key: bytes) -> None:
    blob = encrypt_field(case_key, CASE, "person", b"Ana Popescu, not JSON")
    with pytest.raises(DecryptionError) as caught:
        decrypt_json(case_key, CASE, "person", blob)
    # The JSONDecodeError holds the plaintext; it must not be chained.
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert "Ana" not in str(caught.value)


def test_a_field_blob_does_not_open_as_a_document(case_key: bytes) -> None:
    field_blob = encrypt_field(case_key, CASE, "name", STORY)
    with pytest.raises(DecryptionError):
        decrypt_chunks(case_key, CASE, "name", field_blob).__next__()


# --- documents ---------------------------------------------------------------------------------------------

DOC = "4c3b2a19-0807-4605-9403-020100fedcba"


def chunks_of(blob: bytes, chunk_size: int) -> list[bytes]:
    body = blob[STREAM_HEADER_BYTES:]
    step = chunk_size + TAG_BYTES
    return [body[i : i + step] for i in range(0, len(body), step)]


def split(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    position = 0
    for size in sizes:
        yield data[position : position + size]
        position += size
    yield data[position:]


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=300),
    chunk_size=st.integers(min_value=1, max_value=40),
    write_sizes=st.lists(st.integers(min_value=0, max_value=70), max_size=10),
    read_sizes=st.lists(st.integers(min_value=0, max_value=70), max_size=10),
)
def test_stream_round_trip_over_chunk_boundaries(
    data: bytes, chunk_size: int, write_sizes: list[int], read_sizes: list[int]
) -> None:
    case_key = bytes(range(32))
    blob = b"".join(encrypt_stream(case_key, CASE, DOC, split(data, write_sizes), chunk_size=chunk_size))
    full_chunks = max(0, (len(data) - 1) // chunk_size)  # the last chunk holds 1..chunk_size bytes
    assert len(blob) == STREAM_HEADER_BYTES + (full_chunks + 1) * TAG_BYTES + len(data)
    assert decrypt_all(case_key, CASE, DOC, list(split(blob, read_sizes))) == data


def test_large_document_with_the_default_chunk_size(case_key: bytes) -> None:
    data = os.urandom(3 * 64 * 1024 + 123)
    blob = encrypt_document(case_key, CASE, DOC, data)
    assert int.from_bytes(blob[2:6], "big") == 64 * 1024
    assert decrypt_all(case_key, CASE, DOC, blob) == data
    pieces = list(decrypt_chunks(case_key, CASE, DOC, blob))
    assert [len(p) for p in pieces] == [65536, 65536, 65536, 123]


def test_empty_document(case_key: bytes) -> None:
    blob = encrypt_document(case_key, CASE, DOC, b"")
    assert len(blob) == STREAM_HEADER_BYTES + TAG_BYTES
    assert decrypt_all(case_key, CASE, DOC, blob) == b""


def test_incremental_encryptor(case_key: bytes) -> None:
    encryptor = ChunkedEncryptor(case_key, CASE, DOC, chunk_size=10)
    out = [encryptor.update(STORY[i : i + 3]) for i in range(0, len(STORY), 3)]
    out.append(encryptor.finalize())
    assert decrypt_all(case_key, CASE, DOC, b"".join(out)) == STORY
    with pytest.raises(EnvelopeError):
        encryptor.update(b"more")
    with pytest.raises(EnvelopeError):
        encryptor.finalize()


def test_finalize_without_update(case_key: bytes) -> None:
    blob = ChunkedEncryptor(case_key, CASE, DOC).finalize()
    assert decrypt_all(case_key, CASE, DOC, blob) == b""


@pytest.fixture
def document(case_key: bytes) -> bytes:
    return encrypt_document(case_key, CASE, DOC, STORY, chunk_size=16)  # 5 chunks, the last one short


def test_truncation_at_a_chunk_boundary_is_detected(case_key: bytes, document: bytes) -> None:
    chunks = chunks_of(document, 16)
    assert len(chunks) == 5
    for keep in range(len(chunks)):
        cut = document[:STREAM_HEADER_BYTES] + b"".join(chunks[:keep])
        with pytest.raises(DecryptionError):
            decrypt_all(case_key, CASE, DOC, cut)


@pytest.mark.parametrize("cut", [0, 1, 5, STREAM_HEADER_BYTES, STREAM_HEADER_BYTES + 7, -1, -16])
def test_truncation_anywhere_is_detected(case_key: bytes, document: bytes, cut: int) -> None:
    with pytest.raises(DecryptionError):
        decrypt_all(case_key, CASE, DOC, document[:cut])


def test_swapped_chunks_are_detected(case_key: bytes, document: bytes) -> None:
    header, chunks = document[:STREAM_HEADER_BYTES], chunks_of(document, 16)
    chunks[1], chunks[2] = chunks[2], chunks[1]
    with pytest.raises(DecryptionError, match="chunk 1"):
        decrypt_all(case_key, CASE, DOC, header + b"".join(chunks))


def test_a_repeated_or_appended_chunk_is_detected(case_key: bytes, document: bytes) -> None:
    header, chunks = document[:STREAM_HEADER_BYTES], chunks_of(document, 16)
    for forged in ([*chunks, chunks[-1]], chunks[:2] + chunks[1:], [*chunks, chunks[0]]):
        with pytest.raises(DecryptionError):
            decrypt_all(case_key, CASE, DOC, header + b"".join(forged))


def test_a_document_moved_to_another_document_or_case_does_not_open(case_key: bytes, document: bytes) -> None:
    for case_id, document_id in [(CASE, "another-document"), (OTHER_CASE, DOC)]:
        with pytest.raises(DecryptionError):
            decrypt_all(case_key, case_id, document_id, document)
    with pytest.raises(DecryptionError):
        decrypt_all(new_case_key(), CASE, DOC, document)


def test_chunks_cannot_be_spliced_between_documents(case_key: bytes) -> None:
    a = encrypt_document(case_key, CASE, DOC, b"a" * 40, chunk_size=16)
    b = encrypt_document(case_key, CASE, DOC, b"b" * 40, chunk_size=16)  # same ids, other nonce prefix
    spliced = a[:STREAM_HEADER_BYTES] + chunks_of(a, 16)[0] + b"".join(chunks_of(b, 16)[1:])
    with pytest.raises(DecryptionError):
        decrypt_all(case_key, CASE, DOC, spliced)


def test_every_tampered_byte_of_a_document_is_detected(case_key: bytes, document: bytes) -> None:
    for index in range(len(document)):
        with pytest.raises(DecryptionError):
            decrypt_all(case_key, CASE, DOC, flip(document, index))


def test_forged_chunk_size_is_refused(case_key: bytes, document: bytes) -> None:
    for size in (0, 2**31):
        forged = document[:2] + size.to_bytes(4, "big") + document[6:]
        with pytest.raises(DecryptionError):
            decrypt_all(case_key, CASE, DOC, forged)


def test_stream_arguments_are_checked(case_key: bytes) -> None:
    with pytest.raises(ValueError):
        ChunkedEncryptor(case_key, CASE, DOC, chunk_size=0)
    with pytest.raises(ValueError):
        ChunkedEncryptor(case_key, CASE, "", chunk_size=16)
    with pytest.raises(ValueError):
        decrypt_chunks(b"short", CASE, DOC, b"")


def test_json_is_compact_utf8(case_key: bytes) -> None:
    blob = encrypt_json(case_key, CASE, "person", {"name": "Anișoara"})
    assert (
        decrypt_field(case_key, CASE, "person", blob)
        == json.dumps({"name": "Anișoara"}, ensure_ascii=False, separators=(",", ":")).encode()
    )
