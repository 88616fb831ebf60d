"""Key operations: rotate the key-encryption key (re-wrapping every case key and referral-draft key) and retire
an old one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.db import read_only, transaction
from app.models import CaseKey, ReferralDraft, Transfer
from app.security.keyfile import retire_kek, rotate_kek
from app.services import audit
from app.services.case_keys import rewrap_all
from app.services.context import ServiceContext
from app.services.errors import Conflict, NotFound
from app.services.referral_drafts import rewrap_draft_keys
from app.services.transfers import rewrap_package_keys


@dataclass(frozen=True)
class RotationReport:
    active_kek_id: str
    rewrapped: int


def rotate(ctx: ServiceContext) -> RotationReport:
    """A new active KEK, then every case key (and the key of every received transfer package still waiting for
    a decision) re-wrapped under it in one transaction, audited."""
    ring = rotate_kek(ctx.settings.key_file)
    ctx.reload_keys()
    with transaction(ctx.sessions) as session:
        count = rewrap_all(session, ring) + rewrap_draft_keys(session, ring) + rewrap_package_keys(session, ring)
        audit.append(
            session,
            ring,
            time=ctx.clock.now(),
            actor=audit.SYSTEM_ACTOR,
            action="keys.rotated",
            details={"active_kek_id": ring.active_kek_id, "rewrapped": count},
        )
    return RotationReport(ring.active_kek_id, count)


def retire(ctx: ServiceContext, kek_id: str) -> None:
    """Destroy an old KEK; refused while a case key is still wrapped by it or if it is the active one."""
    if kek_id not in ctx.keyring.kek_ids:
        raise NotFound("no such key-encryption key")
    if kek_id == ctx.keyring.active_kek_id:
        raise Conflict("the active key-encryption key cannot be retired; rotate first")
    with read_only(ctx.read_sessions) as session:
        still_used = session.scalar(select(func.count()).select_from(CaseKey).where(CaseKey.kek_id == kek_id)) or 0
        still_used += (
            session.scalar(select(func.count()).select_from(ReferralDraft).where(ReferralDraft.kek_id == kek_id)) or 0
        )
        still_used += (
            session.scalar(select(func.count()).select_from(Transfer).where(Transfer.payload_kek_id == kek_id)) or 0
        )
    if still_used:
        raise Conflict(
            f"{still_used} case, draft or package key(s) are still wrapped by this key; run `nrm keys rotate` first"
        )
    retire_kek(ctx.settings.key_file, kek_id)
    ctx.reload_keys()
    audit.record(ctx, audit.SYSTEM_ACTOR, "keys.retired", details={"kek_id": kek_id})
