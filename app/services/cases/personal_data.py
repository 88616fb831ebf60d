"""The person's identity and account: read with need-to-know and a stated purpose (always audited), and
erased by crypto-shredding (the case key destroyed, every ciphertext dropped, the anonymous metadata kept)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import (
    Case,
    CaseHistory,
    Document,
    Interview,
    JusticeMilestone,
    NeedsAssessment,
    OutboxMessage,
    Panel,
    ServiceReferral,
    SupportNeed,
    Transfer,
)
from app.security.permissions import Principal
from app.services import audit
from app.services.case_keys import destroy_case_key, open_case_key
from app.services.cases.core import append_audit, audit_actor_of, load_visible_case, require_need_to_know
from app.services.context import ServiceContext
from app.services.errors import Gone


@dataclass(frozen=True)
class Identity:
    person: dict[str, Any]
    account: dict[str, Any]


def read_identity(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, purpose: str) -> Identity:
    """Decrypt the person and the account for someone with need-to-know; always audited with the purpose."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, "this person's identity")
        cipher = open_case_key(session, ctx.keyring, case.id)
        assert case.person_blob is not None and case.account_blob is not None
        identity = Identity(
            cipher.open_json("person", case.person_blob), cipher.open_json("account", case.account_blob)
        )
        append_audit(
            session,
            ctx,
            principal,
            "identity.read",
            details={"purpose": purpose},
            now=now,
            case=case,
        )
        return identity


ERASURE_REASONS = frozenset({"person_request", "withdrawal", "retention", "court_order", "other"})


def erase(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, reason: str) -> None:
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        erase_personal_data(session, ctx, case, audit_actor_of(principal), reason)


def erase_personal_data(
    session: Session, ctx: ServiceContext, case: Case, actor: audit.AuditActor, reason: str
) -> None:
    """Crypto-shredding: destroy the case key and drop every ciphertext; the anonymous metadata remain."""
    now = ctx.clock.now()
    if case.erased_at is not None:
        raise Gone("the personal data of this case have already been erased")
    destroy_case_key(session, case.id, now)
    case.person_blob = case.account_blob = None
    case.erased_at = now
    for row in session.scalars(select(CaseHistory).where(CaseHistory.case_id == case.id)):
        row.text_blob = None
    for panel in session.scalars(select(Panel).where(Panel.case_id == case.id)):
        for seat in panel.members:
            seat.text_blob = None
    # Support and evidence (app/services/support.py, documents.py): their ciphertexts go too.
    session.execute(update(Document).where(Document.case_id == case.id).values(content=None))
    session.execute(update(SupportNeed).where(SupportNeed.case_id == case.id).values(note_blob=None))
    session.execute(update(ServiceReferral).where(ServiceReferral.case_id == case.id).values(note_blob=None))
    session.execute(update(Interview).where(Interview.case_id == case.id).values(purpose_blob=None))
    # Needs assessments and justice milestones (app/services/assessments.py, justice.py): their notes too.
    session.execute(update(NeedsAssessment).where(NeedsAssessment.case_id == case.id).values(note_blob=None))
    session.execute(update(JusticeMilestone).where(JusticeMilestone.case_id == case.id).values(note_blob=None))
    # Transfers (app/services/transfers/): the sender's texts go, and a package not yet delivered is not sent.
    session.execute(update(Transfer).where(Transfer.case_id == case.id).values(text_blob=None))
    undelivered = select(Transfer.id).where(Transfer.case_id == case.id, Transfer.state == "pending")
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.transfer_row_id.in_(undelivered), OutboxMessage.status == "pending")
        .values(status="failed", data=None, last_error="case-erased")
    )
    session.execute(update(Transfer).where(Transfer.id.in_(undelivered)).values(state="failed", updated_at=now))
    case.version += 1
    case.updated_at = now
    audit.append(
        session,
        ctx.keyring,
        time=now,
        actor=actor,
        action="case.erased",
        case_id=str(case.id),
        # Only a known reason code: a free-text reason could name the person.
        details={"reason": reason if reason in ERASURE_REASONS else "other"},
    )
