"""Every key wrapped by a key-encryption key (KEK), in whichever table it is kept: one registry.

Rotation re-wraps what is listed here, retirement counts what is listed here, and the start-up key check asks
here which KEKs the database still needs. A table that stores a wrapped key adds one `WrappedKeyTable` to
`WRAPPED_KEY_TABLES`, and every one of those operations covers it; forgetting to is how a rotation once left
every shelter's address wrapped by a key that `nrm keys retire` then destroyed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.models import CaseKey, Provider, ReferralDraft, Transfer
from app.models.base import Base
from app.security.envelope import WrappedKey, unwrap_case_key, wrap_case_key
from app.security.keyfile import KeyRing


def case_key_context(case_id: uuid.UUID) -> str:
    """The associated data a case key is wrapped with: the case id."""
    return str(case_id)


def provider_key_context(provider_id: uuid.UUID) -> str:
    """The associated data a provider's key is wrapped with (and its contacts encrypted with)."""
    return f"provider:{provider_id}"


def draft_key_context(draft_id: uuid.UUID) -> str:
    """The associated data a referral draft's key is wrapped with (and its answers encrypted with)."""
    return f"draft:{draft_id}"


def transfer_package_key_context(transfer_id: uuid.UUID) -> str:
    """The associated data the key of a received transfer package (kept until a decision) is wrapped with."""
    return f"transfer:{transfer_id}"


@dataclass(frozen=True)
class WrappedKeyTable:
    """Where a kind of wrapped key lives: its table, its KEK id and blob columns, and its associated data."""

    what: str  # for operators: "case keys"
    model: type[Base]
    kek_id: InstrumentedAttribute[Any]
    blob: InstrumentedAttribute[Any]
    key_context: Callable[[Any], str]


WRAPPED_KEY_TABLES: tuple[WrappedKeyTable, ...] = (
    WrappedKeyTable(
        "case keys", CaseKey, CaseKey.kek_id, CaseKey.wrapped_key, lambda row: case_key_context(row.case_id)
    ),
    WrappedKeyTable(
        "provider keys", Provider, Provider.kek_id, Provider.wrapped_key, lambda row: provider_key_context(row.id)
    ),
    WrappedKeyTable(
        "referral draft keys",
        ReferralDraft,
        ReferralDraft.kek_id,
        ReferralDraft.wrapped_key,
        lambda row: draft_key_context(row.id),
    ),
    WrappedKeyTable(
        "transfer package keys",
        Transfer,
        Transfer.payload_kek_id,
        Transfer.payload_wrapped_key,
        lambda row: transfer_package_key_context(row.id),
    ),
)


def rewrap_all(session: Session, keyring: KeyRing, batch: int = 1000) -> dict[str, int]:
    """Re-wrap every live wrapped key of every table under the active KEK, in the caller's transaction.

    Returns how many were re-wrapped per table (every table named, zeros included). The data the keys protect
    are not touched. Rows are locked as they are re-wrapped, so a concurrent use-case waits rather than writing
    back a key wrapped under the old KEK.
    """
    active = keyring.active_kek_id
    counts: dict[str, int] = {}
    for table in WRAPPED_KEY_TABLES:
        count = 0
        while True:
            rows = list(
                session.scalars(
                    select(table.model)
                    .where(table.blob.is_not(None), table.kek_id != active)
                    .limit(batch)
                    .with_for_update()
                )
            )
            if not rows:
                break
            for row in rows:
                context = table.key_context(row)
                old = WrappedKey(kek_id=getattr(row, table.kek_id.key), blob=getattr(row, table.blob.key))
                fresh = wrap_case_key(keyring, unwrap_case_key(keyring, old, context), context)
                setattr(row, table.kek_id.key, fresh.kek_id)
                setattr(row, table.blob.key, fresh.blob)
                count += 1
            session.flush()
        counts[table.what] = count
    return counts


def wrapped_by(session: Session, kek_id: str) -> dict[str, int]:
    """How many live keys each table still holds wrapped by this KEK (tables with none are left out)."""
    counts: dict[str, int] = {}
    for table in WRAPPED_KEY_TABLES:
        count = session.scalar(
            select(func.count()).select_from(table.model).where(table.kek_id == kek_id, table.blob.is_not(None))
        )
        if count:
            counts[table.what] = int(count)
    return counts


def keks_in_use(session: Session) -> dict[str, dict[str, int]]:
    """Every KEK id some live wrapped key names, with how many keys of each table it wraps."""
    in_use: dict[str, dict[str, int]] = {}
    for table in WRAPPED_KEY_TABLES:
        rows = session.execute(
            select(table.kek_id, func.count()).where(table.blob.is_not(None)).group_by(table.kek_id)
        ).all()
        for kek_id, count in rows:
            if kek_id is not None:
                in_use.setdefault(kek_id, {})[table.what] = int(count)
    return in_use


def sample_wrapped_keys(session: Session) -> dict[str, tuple[WrappedKey, str]]:
    """One live wrapped key per KEK id, with its associated data: enough to prove a KEK opens what it wraps."""
    samples: dict[str, tuple[WrappedKey, str]] = {}
    for table in WRAPPED_KEY_TABLES:
        kek_ids = session.scalars(select(table.kek_id).where(table.blob.is_not(None)).distinct())
        for kek_id in kek_ids:
            if kek_id is None or kek_id in samples:
                continue
            row = session.scalars(
                select(table.model).where(table.kek_id == kek_id, table.blob.is_not(None)).limit(1)
            ).one()
            samples[kek_id] = (WrappedKey(kek_id=kek_id, blob=getattr(row, table.blob.key)), table.key_context(row))
    return samples


def describe_counts(counts: dict[str, int]) -> str:
    """`{"case keys": 3, "provider keys": 1}` as "3 case keys, 1 provider key"."""
    return ", ".join(f"{count} {what if count != 1 else what.removesuffix('s')}" for what, count in counts.items())
