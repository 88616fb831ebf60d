"""The key file a process opens is the one its database was written with, or the process does not start.

`open_key_ring` runs in `ServiceContext.build`, so for `nrm serve`, `nrm worker` and every other command:

- the key file is missing: on an empty database (no wrapped key, no audit entry, no recorded check) a new one is
  created; on a database that holds data the start is refused, naming NRM_KEY_FILE. A new key file there would
  leave every identity unreadable, wrap new cases under a throw-away key and break the audit chain for good;
- the key file exists: its key-check values (`app/security/key_checks.py`) must agree with those the database
  recorded, and it must hold every KEK a live wrapped key names; otherwise the start is refused. A database
  written before check values were recorded is checked against its data instead (the last audit entry's MAC,
  one wrapped key per KEK) before its values are recorded.

Check values of keys the database has not seen yet (the first start, a rotation) are recorded here and by
`keys.rotate`, in the same transaction as the rotation's re-wrapping.
"""

from __future__ import annotations

import hmac
import os
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from app.models import AuditEntry, KeyCheck
from app.security.audit_chain import compute_mac
from app.security.envelope import DecryptionError, unwrap_case_key
from app.security.key_checks import CheckKey, mismatches, ring_check_values
from app.security.keyfile import KeyFileError, KeyRing, ensure_key_file, load_key_file
from app.services.wrapped_keys import describe_counts, keks_in_use, sample_wrapped_keys


class KeyFileMismatch(KeyFileError):
    """The key file is missing or is not the one the database was written with. Names NRM_KEY_FILE."""


class DatabaseNotMigrated(RuntimeError):
    """The database has no schema, or one too old to record key checks: `nrm migrate` comes first."""


def open_key_ring(sessions: sessionmaker[Session], key_file: Path, now: datetime) -> KeyRing:
    """The key ring of `key_file`, checked against the database (created only for an empty database)."""
    with sessions() as probe:
        migrated = inspect(probe.connection()).has_table(KeyCheck.__tablename__)
    if not migrated:
        raise DatabaseNotMigrated(
            "the database (NRM_DATABASE_URL) is not at the latest schema: run `nrm migrate` first"
        )
    with transaction(sessions) as session:
        recorded = recorded_checks(session)
        in_use = keks_in_use(session)
        audit_entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        holds_data = bool(recorded or in_use or audit_entries)
        if not os.path.lexists(key_file):
            if holds_data:
                raise KeyFileMismatch(
                    f"NRM_KEY_FILE ({key_file}) does not exist, but the database holds data written with its keys "
                    f"({_summary(in_use, audit_entries)}). Restore the key file from its backup and point "
                    "NRM_KEY_FILE at it; a new key file is only ever made for an empty database."
                )
            ring = ensure_key_file(key_file)
        else:
            ring = load_key_file(key_file)
        problems = mismatches(ring, recorded, {kek: describe_counts(counts) for kek, counts in in_use.items()})
        if holds_data and not recorded:
            problems += _proof_from_data(session, ring)
        if problems:
            raise KeyFileMismatch(
                f"NRM_KEY_FILE ({key_file}) does not match the database: {'; '.join(problems)}. Point NRM_KEY_FILE "
                "at the key file this database was written with."
            )
        record_checks(session, ring, now, already=recorded)
    if not ring.has_instance_keys:
        # A version-1 file, checked above: upgraded in place (its KEKs and audit key kept byte for byte).
        ring = ensure_key_file(key_file)
    return ring


def recorded_checks(session: Session) -> dict[CheckKey, str]:
    return {(row.kind, row.key_id): row.check_value for row in session.scalars(select(KeyCheck))}


def record_checks(
    session: Session, ring: KeyRing, now: datetime, *, already: dict[CheckKey, str] | None = None
) -> None:
    """Record the check value of every key of the ring the database does not know yet (never overwrites one)."""
    known = recorded_checks(session) if already is None else already
    rows = [
        {"kind": kind, "key_id": key_id, "check_value": value, "recorded_at": now}
        for (kind, key_id), value in ring_check_values(ring).items()
        if (kind, key_id) not in known
    ]
    if not rows:
        return
    # Two processes starting together on an empty database record the same values: the second insert is a no-op.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(dialect.insert(KeyCheck).values(rows).on_conflict_do_nothing())


def _summary(in_use: dict[str, dict[str, int]], audit_entries: int) -> str:
    totals: dict[str, int] = {}
    for counts in in_use.values():
        for what, count in counts.items():
            totals[what] = totals.get(what, 0) + count
    parts = [describe_counts(totals)] if totals else []
    if audit_entries:
        parts.append(describe_counts({"audit entries": audit_entries}))
    return ", ".join(parts) or "recorded key checks"


def _proof_from_data(session: Session, ring: KeyRing) -> list[str]:
    """For a database that holds data but no check values yet: does this ring open and verify what it holds?"""
    problems: list[str] = []
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.sequence.desc()).limit(1)).first()
    if last is not None and not hmac.compare_digest(compute_mac(ring.audit_hmac_key, last.prev_mac, last), last.mac):
        problems.append("its audit key does not verify the audit log")
    for kek_id, (wrapped, context) in sample_wrapped_keys(session).items():
        if kek_id not in ring.keks:
            continue  # already reported as missing
        try:
            unwrap_case_key(ring, wrapped, context)
        except DecryptionError:
            problems.append(f"its key-encryption key {kek_id} does not open the keys it wraps")
    return problems
