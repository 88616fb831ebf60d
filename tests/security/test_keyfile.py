from __future__ import annotations

import base64
import json
import os
import re
import stat
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.security.keyfile import (
    KEY_BYTES,
    InstanceKeys,
    KeyFileError,
    KeyRing,
    MissingInstanceKeysError,
    UnknownKekError,
    ensure_key_file,
    load_key_file,
    retire_instance_keys,
    retire_kek,
    rotate_instance_keys,
    rotate_kek,
)

KEK_ID = re.compile(r"kek-\d{4}-\d{2}-\d{2}-[0-9a-f]{4}")
INSTANCE_KEY_ID = re.compile(r"inst-\d{4}-\d{2}-\d{2}-[0-9a-f]{4}")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_texts(ring: KeyRing) -> list[str]:
    """Every way a key could show up in a message: raw repr, hex, base64."""
    keys = [ring.kek(k) for k in ring.kek_ids] + [ring.audit_hmac_key]
    for generation in ring.instance_keys.values():
        keys += [generation.signing_key, generation.encryption_key]
    return [t for key in keys for t in (repr(key), key.hex(), base64.b64encode(key).decode())]


def together(count: int, action: Callable[[], KeyRing]) -> list[KeyRing]:
    """Run `action` in `count` threads released at the same instant (as many processes starting at once)."""
    rings: list[KeyRing] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        rings.append(action())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rings) == count  # every thread finished without an error
    return rings


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "nrm.keys"


def test_ensure_creates_a_private_file_in_a_new_directory(key_path: Path) -> None:
    ring = ensure_key_file(key_path)
    assert key_path.is_file()
    assert mode_of(key_path) == 0o600
    assert mode_of(key_path.parent) == 0o700
    assert KEK_ID.fullmatch(ring.active_kek_id)
    assert ring.kek_ids == (ring.active_kek_id,)
    assert len(ring.kek(ring.active_kek_id)) == KEY_BYTES
    assert len(ring.audit_hmac_key) == KEY_BYTES
    assert ring.audit_hmac_key != ring.kek(ring.active_kek_id)
    # No temporary file left behind.
    assert sorted(p.name for p in key_path.parent.iterdir()) == [".nrm.keys.lock", "nrm.keys"]


def test_ensure_is_private_whatever_the_umask(key_path: Path) -> None:
    old = os.umask(0)
    try:
        ensure_key_file(key_path)
    finally:
        os.umask(old)
    assert mode_of(key_path) == 0o600


def test_ensure_reads_an_existing_file_and_load_gives_the_same_keys(key_path: Path) -> None:
    first = ensure_key_file(key_path)
    again = ensure_key_file(key_path)
    loaded = load_key_file(str(key_path))
    for ring in (again, loaded):
        assert ring.active_kek_id == first.active_kek_id
        assert ring.kek(first.active_kek_id) == first.kek(first.active_kek_id)
        assert ring.audit_hmac_key == first.audit_hmac_key


def test_file_layout(key_path: Path) -> None:
    ring = ensure_key_file(key_path, now=datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    document = json.loads(key_path.read_text())
    assert set(document) == {
        "format",
        "version",
        "active_kek_id",
        "keks",
        "audit_hmac_key",
        "active_instance_key_id",
        "instance_keys",
    }
    assert document["format"] == "nrm-key-file"
    assert document["version"] == 2
    assert document["active_kek_id"] == ring.active_kek_id
    assert ring.active_kek_id.startswith("kek-2026-11-26-")
    entry = document["keks"][ring.active_kek_id]
    assert base64.b64decode(entry["key"]) == ring.kek(ring.active_kek_id)
    assert entry["created_at"] == "2026-11-26T12:00:00+00:00"
    assert base64.b64decode(document["audit_hmac_key"]) == ring.audit_hmac_key
    active = ring.active_instance_keys
    assert INSTANCE_KEY_ID.fullmatch(active.key_id) and active.key_id.startswith("inst-2026-11-26-")
    assert document["active_instance_key_id"] == active.key_id
    instance = document["instance_keys"][active.key_id]
    assert set(instance) == {"created_at", "signing_key", "encryption_key"}
    assert instance["created_at"] == "2026-11-26T12:00:00+00:00"
    assert base64.b64decode(instance["signing_key"]) == active.signing_key
    assert base64.b64decode(instance["encryption_key"]) == active.encryption_key


def test_two_processes_creating_at_once_end_with_one_set_of_keys(key_path: Path) -> None:
    rings = together(8, lambda: ensure_key_file(key_path))
    assert len({r.active_kek_id for r in rings}) == 1
    assert len({r.audit_hmac_key for r in rings}) == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o606])
def test_refuses_a_file_others_can_access(key_path: Path, mode: int) -> None:
    ring = ensure_key_file(key_path)
    key_path.chmod(mode)
    for attempt in (load_key_file, ensure_key_file, rotate_kek):
        with pytest.raises(KeyFileError) as caught:
            attempt(key_path)
        message = str(caught.value)
        assert str(key_path) in message
        assert f"{mode:04o}" in message
        assert not any(text in message for text in key_texts(ring))
    assert mode_of(key_path) == mode  # ensure never replaces an existing file


def test_missing_file_is_named(key_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist") as caught:
        load_key_file(key_path)
    assert str(key_path) in str(caught.value)


def test_a_directory_is_not_a_key_file(tmp_path: Path) -> None:
    target = tmp_path / "keys"
    target.mkdir(mode=0o700)
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_key_file(target)


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)


def valid_document(ring: KeyRing) -> dict[str, Any]:
    return {
        "format": "nrm-key-file",
        "version": 1,
        "active_kek_id": ring.active_kek_id,
        "keks": {
            k: {"created_at": "2026-11-26T00:00:00+00:00", "key": base64.b64encode(ring.kek(k)).decode()}
            for k in ring.kek_ids
        },
        "audit_hmac_key": base64.b64encode(ring.audit_hmac_key).decode(),
    }


def test_malformed_json_is_refused_without_echoing_the_keys(key_path: Path) -> None:
    ring = KeyRing.generate()
    text = json.dumps(valid_document(ring))
    write_private(key_path, text[:-5])  # cut off: not JSON any more
    with pytest.raises(KeyFileError) as caught:
        ensure_key_file(key_path)
    message = str(caught.value)
    assert str(key_path) in message and "not valid JSON" in message
    assert not any(t in message for t in key_texts(ring))
    # The JSONDecodeError (which holds the whole document) is not chained to the error.
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert key_path.read_text() == text[:-5]  # left for a human to repair, never overwritten


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(format="other"), "'format'"),
        (lambda d: d.update(version=3), "version"),
        (lambda d: d.update(version=True), "version"),
        (lambda d: d.update(version=2), "'instance_keys'"),
        (lambda d: d.update(keks={}), "'keks'"),
        (lambda d: d.update(keks=[]), "'keks'"),
        (lambda d: d.update(active_kek_id="kek-missing"), "'active_kek_id'"),
        (lambda d: d.update(audit_hmac_key="c2hvcnQ="), "not 32 bytes"),
        (lambda d: d.update(audit_hmac_key="not base64!"), "not valid base64"),
        (lambda d: d.update(audit_hmac_key="kéy"), "not valid base64"),
        (lambda d: d.pop("audit_hmac_key"), "'audit_hmac_key'"),
        (lambda d: next(iter(d["keks"].values())).update(key=None), "base64 string"),
        (lambda d: next(iter(d["keks"].values())).update(created_at="yesterday"), "created_at"),
        (lambda d: next(iter(d["keks"].values())).update(created_at="2026-11-26T00:00:00"), "created_at"),
        (lambda d: d.update(keks={"bad id with spaces": {"key": "", "created_at": ""}}), "KEK id"),
    ],
)
def test_malformed_content_is_refused_naming_file_and_problem(
    key_path: Path, change: Callable[[dict[str, Any]], object], problem: str
) -> None:
    ring = KeyRing.generate()
    document = valid_document(ring)
    change(document)
    write_private(key_path, json.dumps(document))
    with pytest.raises(KeyFileError) as caught:
        load_key_file(key_path)
    message = str(caught.value)
    assert str(key_path) in message and "malformed" in message and problem in message
    assert not any(t in message for t in key_texts(ring))


def test_an_active_id_holding_key_material_is_not_echoed(key_path: Path) -> None:
    ring = KeyRing.generate()
    document = valid_document(ring)
    secret = base64.b64encode(ring.audit_hmac_key).decode()
    document["active_kek_id"] = secret
    write_private(key_path, json.dumps(document))
    with pytest.raises(KeyFileError) as caught:
        load_key_file(key_path)
    assert secret not in str(caught.value)


def test_repr_shows_ids_only() -> None:
    ring = KeyRing.generate().with_new_kek()
    for text in (repr(ring), str(ring), f"{ring}"):
        assert not any(t in text for t in key_texts(ring))
        for kek_id in ring.kek_ids:
            assert kek_id in text


def test_key_ring_is_frozen() -> None:
    ring = KeyRing.generate()
    with pytest.raises(AttributeError):
        ring.active_kek_id = "kek-other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ring.keks["kek-other"] = bytes(32)  # type: ignore[index]


def test_unknown_kek() -> None:
    with pytest.raises(UnknownKekError):
        KeyRing.generate().kek("kek-nope")


def test_rotate_adds_an_active_kek_and_keeps_the_others(key_path: Path) -> None:
    first = ensure_key_file(key_path)
    rotated = rotate_kek(key_path)
    assert rotated.active_kek_id != first.active_kek_id
    assert rotated.kek_ids == (first.active_kek_id, rotated.active_kek_id)
    assert rotated.kek(first.active_kek_id) == first.kek(first.active_kek_id)
    assert rotated.audit_hmac_key == first.audit_hmac_key
    assert mode_of(key_path) == 0o600
    loaded = load_key_file(key_path)
    assert loaded.active_kek_id == rotated.active_kek_id and loaded.kek_ids == rotated.kek_ids


def test_concurrent_rotations_lose_no_kek(key_path: Path) -> None:
    ensure_key_file(key_path)
    results = together(6, lambda: rotate_kek(key_path))
    final = load_key_file(key_path)
    assert len(final.kek_ids) == 7
    # Every KEK any rotation handed out (and may have used) is still in the file.
    assert {r.active_kek_id for r in results} <= set(final.kek_ids)


def test_retire_removes_an_old_kek(key_path: Path) -> None:
    first = ensure_key_file(key_path)
    rotate_kek(key_path)
    retired = retire_kek(key_path, first.active_kek_id)
    assert first.active_kek_id not in retired.kek_ids
    assert first.active_kek_id not in load_key_file(key_path).kek_ids
    assert mode_of(key_path) == 0o600


def test_retire_refuses_the_active_and_unknown_keks(key_path: Path) -> None:
    ring = ensure_key_file(key_path)
    with pytest.raises(KeyFileError, match="active"):
        retire_kek(key_path, ring.active_kek_id)
    with pytest.raises(KeyFileError, match="no KEK"):
        retire_kek(key_path, "kek-2020-01-01-0000")
    assert load_key_file(key_path).kek_ids == ring.kek_ids


def test_key_ring_validation() -> None:
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing(active_kek_id="k1", keks={"k1": b"short"}, audit_hmac_key=bytes(32), created_at={"k1": now})
    with pytest.raises(ValueError, match="not among"):
        KeyRing(active_kek_id="k2", keks={"k1": bytes(32)}, audit_hmac_key=bytes(32), created_at={"k1": now})
    with pytest.raises(ValueError, match="audit"):
        KeyRing(active_kek_id="k1", keks={"k1": bytes(32)}, audit_hmac_key=b"", created_at={"k1": now})


# --- instance keys (cross-border transfers) ----------------------------------------------------------------


def raw_public(key: Ed25519PrivateKey | X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_a_new_key_file_holds_one_generation_of_instance_keys(key_path: Path) -> None:
    ring = ensure_key_file(key_path)
    assert ring.has_instance_keys and ring.instance_key_ids == (ring.active_instance_key_id,)
    keys = ring.active_instance_keys
    secrets_ = {keys.signing_key, keys.encryption_key, ring.audit_hmac_key, ring.kek(ring.active_kek_id)}
    assert len(secrets_) == 4  # four independent keys
    # The public halves are those of the private keys kept, in raw form.
    assert keys.signing_public_key == raw_public(Ed25519PrivateKey.from_private_bytes(keys.signing_key))
    assert keys.encryption_public_key == raw_public(X25519PrivateKey.from_private_bytes(keys.encryption_key))
    signature = keys.signing_private_key().sign(b"message")
    Ed25519PublicKey.from_public_bytes(keys.signing_public_key).verify(signature, b"message")
    again = load_key_file(key_path).active_instance_keys
    assert (again.key_id, again.signing_key, again.encryption_key) == (
        keys.key_id,
        keys.signing_key,
        keys.encryption_key,
    )


def write_version_1(path: Path) -> KeyRing:
    """A key file as the previous release wrote it: KEKs and the audit key, no instance keys."""
    ring = KeyRing.generate().with_new_kek()
    write_private(path, json.dumps(valid_document(ring)))
    return ring


def test_a_version_1_file_is_read_without_instance_keys(key_path: Path) -> None:
    old = write_version_1(key_path)
    ring = load_key_file(key_path)
    assert not ring.has_instance_keys and ring.instance_key_ids == () and ring.active_instance_key_id is None
    with pytest.raises(MissingInstanceKeysError, match="nrm keys ensure"):
        _ = ring.active_instance_keys
    assert ring.kek_ids == old.kek_ids
    assert json.loads(key_path.read_text())["version"] == 1  # reading never writes


def test_ensure_upgrades_a_version_1_file_keeping_every_other_key(key_path: Path) -> None:
    old = write_version_1(key_path)
    upgraded = ensure_key_file(key_path)
    assert upgraded.has_instance_keys
    assert upgraded.active_kek_id == old.active_kek_id and upgraded.kek_ids == old.kek_ids
    assert all(upgraded.kek(k) == old.kek(k) for k in old.kek_ids)
    assert upgraded.audit_hmac_key == old.audit_hmac_key
    assert mode_of(key_path) == 0o600
    document = json.loads(key_path.read_text())
    assert document["version"] == 2 and document["active_instance_key_id"] == upgraded.active_instance_key_id
    # The next ensure finds them and changes nothing.
    before = key_path.read_bytes()
    assert ensure_key_file(key_path).active_instance_keys.signing_key == upgraded.active_instance_keys.signing_key
    assert key_path.read_bytes() == before


def test_concurrent_upgrades_end_with_one_set_of_instance_keys(key_path: Path) -> None:
    write_version_1(key_path)
    rings = together(6, lambda: ensure_key_file(key_path))
    assert len({r.active_instance_keys.signing_key for r in rings}) == 1
    assert load_key_file(key_path).instance_key_ids == rings[0].instance_key_ids


def test_kek_rotation_and_retirement_keep_the_instance_keys(key_path: Path) -> None:
    first = ensure_key_file(key_path)
    rotated = rotate_kek(key_path)
    retired = retire_kek(key_path, first.active_kek_id)
    for ring in (rotated, retired, load_key_file(key_path)):
        assert ring.instance_key_ids == first.instance_key_ids
        assert ring.active_instance_keys.signing_key == first.active_instance_keys.signing_key


def test_kek_rotation_of_a_version_1_file_also_adds_instance_keys(key_path: Path) -> None:
    old = write_version_1(key_path)
    rotated = rotate_kek(key_path)
    assert rotated.has_instance_keys and rotated.audit_hmac_key == old.audit_hmac_key
    assert load_key_file(key_path).active_instance_key_id == rotated.active_instance_key_id


def test_rotating_instance_keys_adds_a_generation_and_keeps_the_old_one(key_path: Path) -> None:
    first = ensure_key_file(key_path)
    rotated = rotate_instance_keys(key_path)
    old_id, new_id = first.active_instance_key_id, rotated.active_instance_key_id
    assert old_id is not None and new_id is not None and old_id != new_id
    assert rotated.instance_key_ids == (old_id, new_id)
    assert rotated.instance_keys[old_id].encryption_key == first.active_instance_keys.encryption_key
    new = rotated.active_instance_keys
    assert new.signing_key != first.active_instance_keys.signing_key
    assert new.encryption_key != first.active_instance_keys.encryption_key
    # Nothing else moves: the KEKs and the audit key are the same.
    assert rotated.kek_ids == first.kek_ids and rotated.audit_hmac_key == first.audit_hmac_key
    assert mode_of(key_path) == 0o600
    assert load_key_file(key_path).instance_key_ids == (old_id, new_id)

    retired = retire_instance_keys(key_path, old_id)
    assert retired.instance_key_ids == (new_id,)
    assert load_key_file(key_path).instance_key_ids == (new_id,)


def test_retiring_instance_keys_refuses_the_active_and_unknown_ones(key_path: Path) -> None:
    ring = ensure_key_file(key_path)
    active = ring.active_instance_key_id
    assert active is not None
    with pytest.raises(KeyFileError, match="active"):
        retire_instance_keys(key_path, active)
    with pytest.raises(KeyFileError, match="no instance keys"):
        retire_instance_keys(key_path, "inst-2020-01-01-0000")
    with pytest.raises(KeyFileError, match="no instance keys") as caught:
        retire_instance_keys(key_path, base64.b64encode(ring.audit_hmac_key).decode())
    assert not any(t in str(caught.value) for t in key_texts(ring))
    assert load_key_file(key_path).instance_key_ids == ring.instance_key_ids


def test_concurrent_instance_rotations_lose_no_generation(key_path: Path) -> None:
    ensure_key_file(key_path)
    results = together(5, lambda: rotate_instance_keys(key_path))
    final = load_key_file(key_path)
    assert len(final.instance_key_ids) == 6
    assert {r.active_instance_key_id for r in results} <= set(final.instance_key_ids)


def valid_document_2(ring: KeyRing) -> dict[str, Any]:
    document = valid_document(ring)
    document["version"] = 2
    document["active_instance_key_id"] = ring.active_instance_key_id
    document["instance_keys"] = {
        key_id: {
            "created_at": "2026-11-26T00:00:00+00:00",
            "signing_key": base64.b64encode(keys.signing_key).decode(),
            "encryption_key": base64.b64encode(keys.encryption_key).decode(),
        }
        for key_id, keys in ring.instance_keys.items()
    }
    return document


def first_instance(document: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(iter(document["instance_keys"].values()))
    return entry


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.pop("instance_keys"), "'instance_keys'"),
        (lambda d: d.update(instance_keys={}), "'instance_keys'"),
        (lambda d: d.update(instance_keys=[]), "'instance_keys'"),
        (lambda d: d.update(active_instance_key_id="inst-missing"), "'active_instance_key_id'"),
        (lambda d: d.pop("active_instance_key_id"), "'active_instance_key_id'"),
        (lambda d: first_instance(d).update(signing_key="c2hvcnQ="), "not 32 bytes"),
        (lambda d: first_instance(d).update(encryption_key="not base64!"), "not valid base64"),
        (lambda d: first_instance(d).pop("encryption_key"), "base64 string"),
        (lambda d: first_instance(d).update(created_at="2026-11-26T00:00:00"), "created_at"),
        (lambda d: d.update(instance_keys={"bad id": {}}), "instance key id"),
        (lambda d: d["instance_keys"].update({"inst-2026-11-26-0000": "x"}), "must be an object"),
    ],
)
def test_malformed_instance_keys_are_refused_naming_file_and_problem(
    key_path: Path, change: Callable[[dict[str, Any]], object], problem: str
) -> None:
    ring = KeyRing.generate()
    document = valid_document_2(ring)
    write_private(key_path, json.dumps(document))
    assert load_key_file(key_path).active_instance_key_id == ring.active_instance_key_id  # valid as written
    change(document)
    write_private(key_path, json.dumps(document))
    for attempt in (load_key_file, ensure_key_file):
        with pytest.raises(KeyFileError) as caught:
            attempt(key_path)
        message = str(caught.value)
        assert str(key_path) in message and "malformed" in message and problem in message
        assert not any(t in message for t in key_texts(ring))


def test_instance_keys_repr_and_validation() -> None:
    ring = KeyRing.generate().with_new_instance_keys()
    for keys in ring.instance_keys.values():
        for text in (repr(keys), str(keys), repr(ring)):
            assert keys.key_id in text
            assert not any(t in text for t in key_texts(ring))
        public = (keys.signing_public_key, keys.encryption_public_key)
        assert not any(p.hex() in repr(ring) for p in public)
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="32 bytes"):
        InstanceKeys(key_id="inst-1", signing_key=b"short", encryption_key=bytes(32), created_at=now)
    with pytest.raises(ValueError, match="timezone-aware"):
        InstanceKeys(key_id="inst-1", signing_key=bytes(32), encryption_key=bytes(32), created_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="not a valid id"):
        InstanceKeys(key_id="bad id", signing_key=bytes(32), encryption_key=bytes(32), created_at=now)
    keys = ring.active_instance_keys
    with pytest.raises(ValueError, match="another id"):
        replace(ring, instance_keys={"inst-other": keys})
    with pytest.raises(ValueError, match="not among"):
        replace(ring, active_instance_key_id="inst-other")
    with pytest.raises(ValueError, match="no instance keys"):
        replace(ring, instance_keys={})
    with pytest.raises(TypeError):
        ring.instance_keys["inst-other"] = keys  # type: ignore[index]
