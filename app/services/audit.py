"""The audit log: append an entry inside the caller's transaction, list entries, verify the chain.

Appending locks the single `audit_head` row, so entries stay gapless and in commit order; the lock is
taken last in a use-case and released at its commit, which keeps the serialised section short.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import AuditEntry, AuditHead
from app.security.audit_chain import ChainHead, VerifyResult, new_entry
from app.security.keyfile import KeyRing
from app.services import audit_stretches
from app.services.context import ServiceContext


@dataclass(frozen=True)
class AuditActor:
    """Who the entry is about: a user of an organisation, or the system (scheduled jobs, operators)."""

    actor_id: str
    organisation_id: str | None


SYSTEM_ACTOR = AuditActor("system", None)
ANONYMOUS_ACTOR = AuditActor("anonymous", None)


def append(
    session: Session,
    keyring: KeyRing,
    *,
    time: datetime,
    actor: AuditActor,
    action: str,
    case_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add the next entry to the chain in `session`'s transaction (details must hold no personal data).

    The lock on the head is held from here to the commit and serialises every writer, in every process: the
    select's autoflush sends what the use-case wrote before the lock is asked for, and the entry and the head
    are written at once by plain statements rather than by the unit of work at commit, so the section holds
    the select, one statement (two on SQLite) and the commit, and little Python (a thread waiting for the
    interpreter while holding the lock would hold up every other writer)."""
    head = session.execute(select(AuditHead.sequence, AuditHead.mac).where(AuditHead.id == 1).with_for_update()).one()
    previous = ChainHead(head.sequence, head.mac) if head.sequence else None
    entry = new_entry(
        keyring.audit_hmac_key,
        previous,
        time=time,
        actor_id=actor.actor_id,
        organisation_id=actor.organisation_id,
        action=action,
        case_id=case_id,
        details=details or {},
    )
    values = {
        "sequence": entry.sequence,
        "time": entry.time,
        "actor_id": entry.actor_id,
        "organisation_id": entry.organisation_id,
        "action": entry.action,
        "case_id": entry.case_id,
        "details": dict(entry.details),
        "prev_mac": entry.prev_mac,
        "mac": entry.mac,
    }
    write_entry = insert(AuditEntry).values(**values)
    move_head = update(AuditHead).where(AuditHead.id == 1).values(sequence=entry.sequence, mac=entry.mac)
    if session.connection().dialect.name == "postgresql":
        # One round trip fewer in the locked section: the entry is written by a data-modifying WITH of the
        # head's UPDATE (PostgreSQL runs it to completion although nothing reads it). SQLite has no such WITH.
        session.execute(move_head.add_cte(write_entry.cte("entry")))
    else:
        session.execute(write_entry)
        session.execute(move_head)
    return AuditEntry(**values)


def record(
    ctx: ServiceContext,
    actor: AuditActor,
    action: str,
    *,
    case_id: str | None = None,
    details: Mapping[str, Any],
) -> None:
    """An audit entry that is its own transaction (a login, a key operation, an export)."""
    with transaction(ctx.sessions) as session:
        append(
            session,
            ctx.keyring,
            time=ctx.clock.now(),
            actor=actor,
            action=action,
            case_id=case_id,
            details=details,
        )


@dataclass(frozen=True)
class AuditEntryView:
    sequence: int
    time: datetime
    actor_id: str
    organisation_id: str | None
    action: str
    case_id: str | None
    details: dict[str, Any]
    mac: str


def list_entries(ctx: ServiceContext, *, case_id: str | None, after: int | None, limit: int) -> list[AuditEntryView]:
    with read_only(ctx.read_sessions) as session:
        query = select(AuditEntry).order_by(AuditEntry.sequence).limit(limit)
        if case_id is not None:
            query = query.where(AuditEntry.case_id == case_id)
        if after is not None:
            query = query.where(AuditEntry.sequence > after)
        return [
            AuditEntryView(e.sequence, e.time, e.actor_id, e.organisation_id, e.action, e.case_id, e.details, e.mac)
            for e in session.scalars(query)
        ]


def verify(
    ctx: ServiceContext,
    expected_head: ChainHead | None = None,
    *,
    processes: int = 1,
    min_stretch: int = audit_stretches.MIN_STRETCH,
) -> VerifyResult:
    """Check the whole chain up to the head recorded when the check starts. A read-only session takes no
    lock, so entries may be appended meanwhile: the head is read first and later entries are left for the next
    check (an entry and the head that counts it are committed together, so every entry up to it is there).

    With `processes` > 1 a long log is verified in stretches in that many processes
    (`audit_stretches`); a log that is not good is then passed over once more in order, so the answer,
    first bad entry and wording included, is the same either way."""
    with read_only(ctx.read_sessions) as session:
        recorded = session.get(AuditHead, 1)
        assert recorded is not None, "the migration creates the audit head row"
        recorded_sequence = recorded.sequence
        result = audit_stretches.verify_in_processes(
            ctx.settings.database_url,
            ctx.keyring.audit_hmac_key,
            recorded_sequence,
            processes=processes,
            expected_head=expected_head,
            min_stretch=min_stretch,
        )
        if result is None:
            result = audit_stretches.verify_entries(
                session.connection(), ctx.keyring.audit_hmac_key, 1, recorded_sequence, expected_head=expected_head
            )
        if result.valid and recorded_sequence != result.entries:
            # Entries cut from the end leave a shorter chain that is valid in itself; the head row knows better.
            return VerifyResult(
                False,
                result.entries,
                result.head,
                result.entries + 1,
                f"the log ends at entry {result.entries} but the chain head records entry {recorded_sequence}",
            )
        if result.valid:
            # One statement, so one snapshot: an entry beyond the head it sees was never appended by the service.
            current_head = select(AuditHead.sequence).where(AuditHead.id == 1).scalar_subquery()
            stray = session.scalar(select(func.min(AuditEntry.sequence)).where(AuditEntry.sequence > current_head))
            if stray is not None:
                return VerifyResult(
                    False, result.entries, result.head, stray, f"entry {stray} lies beyond the recorded chain head"
                )
        return result


def head(ctx: ServiceContext) -> ChainHead:
    with read_only(ctx.read_sessions) as session:
        row = session.get(AuditHead, 1)
        assert row is not None, "the migration creates the audit head row"
        return ChainHead(row.sequence, row.mac)
