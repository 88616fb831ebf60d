"""Key operations: rotate the key-encryption key (re-wrapping every wrapped key) and retire an old one."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import read_only, transaction
from app.security.keyfile import retire_kek, rotate_kek
from app.services import audit
from app.services.context import ServiceContext
from app.services.errors import Conflict, KeyStillInUse, NotFound
from app.services.keyfile_guard import record_checks
from app.services.wrapped_keys import WRAPPED_KEY_TABLES, describe_counts, keks_in_use, rewrap_all, wrapped_by


@dataclass(frozen=True)
class RotationReport:
    active_kek_id: str
    rewrapped_by_table: dict[str, int]

    @property
    def rewrapped(self) -> int:
        return sum(self.rewrapped_by_table.values())


def rotate(ctx: ServiceContext) -> RotationReport:
    """A new active KEK, then every wrapped key of every table re-wrapped under it in one transaction, audited.

    Run again after an interruption: it re-wraps whatever is still under an older KEK."""
    ring = rotate_kek(ctx.settings.key_file)
    ctx.reload_keys()
    with transaction(ctx.sessions) as session:
        record_checks(session, ring, ctx.clock.now())
        counts = rewrap_all(session, ring)
        audit.append(
            session,
            ring,
            time=ctx.clock.now(),
            actor=audit.SYSTEM_ACTOR,
            action="keys.rotated",
            details={"active_kek_id": ring.active_kek_id, "rewrapped": sum(counts.values()), "by_table": counts},
        )
    return RotationReport(ring.active_kek_id, counts)


def retire(ctx: ServiceContext, kek_id: str) -> None:
    """Destroy an old KEK; refused if it is the active one or while anything at all is still wrapped by it."""
    if kek_id not in ctx.keyring.kek_ids:
        raise NotFound("no such key-encryption key")
    if kek_id == ctx.keyring.active_kek_id:
        raise Conflict("the active key-encryption key cannot be retired; rotate first")
    with read_only(ctx.read_sessions) as session:
        still_wrapped = wrapped_by(session, kek_id)
    if still_wrapped:
        raise KeyStillInUse(
            f"key-encryption key {kek_id} still wraps {describe_counts(still_wrapped)}; run `nrm keys rotate` "
            "to re-wrap them under the active key, then retire it",
            still_wrapped=still_wrapped,
        )
    retire_kek(ctx.settings.key_file, kek_id)
    ctx.reload_keys()
    audit.record(ctx, audit.SYSTEM_ACTOR, "keys.retired", details={"kek_id": kek_id})


@dataclass(frozen=True)
class KekUse:
    """One key-encryption key: whether it is the active one, whether the key file holds it, and how many keys
    of each table it wraps (every table named, zeros included)."""

    kek_id: str
    active: bool
    in_key_file: bool
    wraps: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.wraps.values())


def status(ctx: ServiceContext) -> list[KekUse]:
    """Every KEK of the key file and every KEK some wrapped key names, the active one first: counts only,
    nothing is unwrapped."""
    with read_only(ctx.read_sessions) as session:
        in_use = keks_in_use(session)
    ring = ctx.keyring
    ids = [ring.active_kek_id, *(k for k in ring.kek_ids if k != ring.active_kek_id)]
    ids += sorted(k for k in in_use if k not in ids)
    tables = [table.what for table in WRAPPED_KEY_TABLES]
    return [
        KekUse(
            kek_id=kek_id,
            active=kek_id == ring.active_kek_id,
            in_key_file=kek_id in ring.kek_ids,
            wraps={what: in_use.get(kek_id, {}).get(what, 0) for what in tables},
        )
        for kek_id in ids
    ]
