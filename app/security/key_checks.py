"""Key-check values: what a database records to recognise the keys it was written with, without holding them.

A check value is HMAC-SHA256 under the key of a fixed label, in hex: it identifies the key (a different key gives
a different value) and reveals nothing of it (HMAC is a PRF). Comparing the key file's values with the recorded
ones tells a missing, foreign or truncated key file from the right one before anything is written with it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

from app.security.keyfile import KeyRing

CHECK_LABEL: Final = b"nrm/key-check/v1"
KIND_KEK: Final = "kek"
KIND_AUDIT: Final = "audit"
AUDIT_KEY_ID: Final = "audit-hmac"

CheckKey = tuple[str, str]  # (kind, key id)


def check_value(key: bytes) -> str:
    return hmac.new(key, CHECK_LABEL, hashlib.sha256).hexdigest()


def ring_check_values(ring: KeyRing) -> dict[CheckKey, str]:
    """The check value of every key in the ring: each KEK by its id, and the audit key."""
    values = {(KIND_KEK, kek_id): check_value(key) for kek_id, key in ring.keks.items()}
    values[(KIND_AUDIT, AUDIT_KEY_ID)] = check_value(ring.audit_hmac_key)
    return values


def mismatches(ring: KeyRing, recorded: Mapping[CheckKey, str], keks_in_use: Mapping[str, str]) -> list[str]:
    """Why this ring is not the one the database was written with (empty when it is).

    `recorded` are the database's check values; `keks_in_use` the KEK ids live wrapped keys name, each with a
    description of what it wraps ("3 case keys, 1 provider key").
    KEKs in the ring the database has not recorded yet are fine (a rotation made them); recorded KEKs missing
    from the ring are fine once nothing is wrapped by them (they were retired)."""
    problems: list[str] = []
    current = ring_check_values(ring)
    audit = (KIND_AUDIT, AUDIT_KEY_ID)
    if audit in recorded and not hmac.compare_digest(recorded[audit], current[audit]):
        problems.append("its audit key is not the one the audit log was written with")
    for (kind, key_id), value in current.items():
        if kind == KIND_KEK and (kind, key_id) in recorded and not hmac.compare_digest(recorded[kind, key_id], value):
            problems.append(f"its key-encryption key {key_id} is not the key of that name the database knows")
    for kek_id, what in sorted(keks_in_use.items()):
        if kek_id not in ring.keks:
            problems.append(f"it lacks key-encryption key {kek_id}, which wraps {what}")
    return problems


def changes_under_a_running_service(verified: KeyRing, reread: KeyRing) -> list[str]:
    """Why a key file re-read while serving may not replace the verified ring (empty when it may).

    A rotation adds a KEK and a retirement removes one; neither changes the audit key or a KEK that stays."""
    problems: list[str] = []
    if not hmac.compare_digest(verified.audit_hmac_key, reread.audit_hmac_key):
        problems.append("the audit key changed")
    for kek_id in set(verified.keks) & set(reread.keks):
        if not hmac.compare_digest(verified.keks[kek_id], reread.keks[kek_id]):
            problems.append(f"key-encryption key {kek_id} changed")
    return problems
