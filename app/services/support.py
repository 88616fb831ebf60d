"""Support of the person: needs, the providers directory, service referrals with deadlines, interviews.

Each use-case is one transaction, like the case use-cases: lock the case, check need-to-know, write, audit.

Service deadlines. A referral's deadline is a row of the `deadlines` table with kind `service_<need kind>`
(not a workflow `DeadlineKind`: the workflow never opens, pauses or closes it, and the case snapshot leaves it
out). It is a duty, so the compliance report counts it, grouped by its kind, like any other deadline. Its due
time comes from `policy.service_deadlines[need kind]` through the workflow's calendar (`Calendar.due_after`).
One open deadline per need: a second referral for the same need (after a refusal) shares it, so changing
provider does not restart the clock. The deadline is met when the provider *accepts* (the service is offered
in time, the natural reading of "shelter offered within 24 hours") or, if never accepted, when it is
*delivered*; a refusal keeps it open. The workflow's closure of the case cancels open service deadlines.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import Case, Deadline, Interview, Organisation, Provider, ServiceReferral, SupportNeed
from app.security.envelope import (
    WrappedKey,
    decrypt_field,
    encrypt_field,
    new_case_key,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.keyfile import KeyRing
from app.security.permissions import Principal
from app.services import audit
from app.services.case_access import NEVER_PERSONAL_DATA
from app.services.case_keys import CaseCipher, cipher_unless_erased, seal_text_or_none
from app.services.cases import audit_actor_of, has_need_to_know, load_visible_case
from app.services.context import ServiceContext
from app.services.errors import Conflict, FieldProblem, Forbidden, InvalidInput, NotFound
from app.services.wrapped_keys import provider_key_context
from app.workflow.states import NeedKind

URGENCIES = frozenset({"immediate", "long_term"})
PROVIDER_KINDS = frozenset({"shelter", "psychologist", "lawyer", "interpreter", "medical", "other"})
SERVICE_STATUSES = frozenset({"requested", "accepted", "refused", "delivered"})
# From a status, the statuses it may move to; refused and delivered are final (refer again instead).
_TRANSITIONS = {"requested": {"accepted", "refused", "delivered"}, "accepted": {"delivered", "refused"}}
SERVICE_DEADLINE_PREFIX = "service_"


def service_deadline_kind(need_kind: str) -> str:
    return SERVICE_DEADLINE_PREFIX + need_kind


def _cipher(session: Session, ctx: ServiceContext, case: Case) -> CaseCipher | None:
    return cipher_unless_erased(session, ctx.keyring, case.id, case.erased_at is not None)


def _require_personal(session: Session, principal: Principal, case: Case) -> None:
    if not has_need_to_know(session, principal, case):
        raise Forbidden("you have no need-to-know for this case's support")


# --- needs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedView:
    id: uuid.UUID
    kind: str
    urgency: str
    note: str | None
    created_at: datetime


def _need_view(row: SupportNeed, cipher: CaseCipher | None) -> NeedView:
    note = cipher.open_text("need_note", row.note_blob) if cipher is not None and row.note_blob else None
    return NeedView(row.id, row.kind, row.urgency, note, row.created_at)


def record_need(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, kind: str, urgency: str, note: str | None
) -> NeedView:
    if kind not in set(NeedKind) or urgency not in URGENCIES:
        raise InvalidInput("unknown need kind or urgency", [FieldProblem(["body", "kind"], "unknown value")])
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        _require_personal(session, principal, case)
        cipher = _cipher(session, ctx, case)
        row = SupportNeed(
            id=uuid.uuid4(),
            case_id=case.id,
            kind=kind,
            urgency=urgency,
            note_blob=seal_text_or_none(cipher, "need_note", note),
            recorded_by=principal.user_id,
            created_at=now,
        )
        session.add(row)
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="need.recorded",
            case_id=str(case.id),
            details={"need_id": str(row.id), "kind": kind, "urgency": urgency},
        )
        return _need_view(row, cipher)


def list_needs(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[NeedView]:
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        _require_personal(session, principal, case)
        cipher = _cipher(session, ctx, case)
        rows = session.scalars(
            select(SupportNeed).where(SupportNeed.case_id == case.id).order_by(SupportNeed.created_at, SupportNeed.id)
        )
        return [_need_view(row, cipher) for row in rows]


# --- providers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderView:
    id: uuid.UUID
    name: str
    kind: str
    address: str | None = None
    phone: str | None = None


def _provider_key(keyring: KeyRing, row: Provider) -> bytes:
    return unwrap_case_key(keyring, WrappedKey(kek_id=row.kek_id, blob=row.wrapped_key), provider_key_context(row.id))


def create_provider(
    ctx: ServiceContext, principal: Principal, name: str, kind: str, address: str, phone: str | None
) -> ProviderView:
    if "coordinator" not in principal.roles:
        raise Forbidden("only the coordinator manages the providers directory")
    if kind not in PROVIDER_KINDS:
        raise InvalidInput("unknown provider kind", [FieldProblem(["body", "kind"], "unknown value")])
    now = ctx.clock.now()
    provider_id = uuid.uuid4()
    ad = provider_key_context(provider_id)
    key = new_case_key()
    wrapped = wrap_case_key(ctx.keyring, key, ad)
    with transaction(ctx.sessions) as session:
        session.add(
            Provider(
                id=provider_id,
                name=name,
                kind=kind,
                kek_id=wrapped.kek_id,
                wrapped_key=wrapped.blob,
                address_blob=encrypt_field(key, ad, "address", address.encode("utf-8")),
                phone_blob=encrypt_field(key, ad, "phone", phone.encode("utf-8")) if phone else None,
                created_at=now,
            )
        )
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="provider.created",
            details={"provider_id": str(provider_id), "kind": kind},
        )
    return ProviderView(provider_id, name, kind, address, phone)


def list_providers(ctx: ServiceContext, kind: str | None = None) -> list[ProviderView]:
    query = select(Provider).order_by(Provider.name, Provider.id)
    if kind is not None:
        query = query.where(Provider.kind == kind)
    with transaction(ctx.sessions) as session:
        return [ProviderView(row.id, row.name, row.kind) for row in session.scalars(query)]


def may_locate_provider(session: Session, principal: Principal, provider_id: uuid.UUID) -> bool:
    """The coordinator, or a caseworker assigned to a case referred to this provider (domain "Personal data":
    a shelter location goes to the coordinator and the assigned caseworker only)."""
    roles = principal.roles
    if roles & NEVER_PERSONAL_DATA:
        return False
    if "coordinator" in roles:
        return True
    if "caseworker" not in roles:
        return False
    caseworker_lists = session.scalars(
        select(Case.caseworker_ids)
        .join(ServiceReferral, ServiceReferral.case_id == Case.id)
        .where(ServiceReferral.provider_id == provider_id)
    )
    return any(str(principal.user_id) in ids for ids in caseworker_lists)


def get_provider(ctx: ServiceContext, principal: Principal, provider_id: uuid.UUID) -> ProviderView:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = session.get(Provider, provider_id)
        if row is None:
            raise NotFound("no such provider")
        if not may_locate_provider(session, principal, provider_id):
            return ProviderView(row.id, row.name, row.kind)
        key, ad = _provider_key(ctx.keyring, row), provider_key_context(row.id)
        address = decrypt_field(key, ad, "address", row.address_blob).decode("utf-8")
        phone = decrypt_field(key, ad, "phone", row.phone_blob).decode("utf-8") if row.phone_blob else None
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="provider.contact_read",
            details={"provider_id": str(row.id)},
        )
        return ProviderView(row.id, row.name, row.kind, address, phone)


# --- service referrals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceView:
    id: uuid.UUID
    need_id: uuid.UUID
    need_kind: str
    provider_id: uuid.UUID
    status: str
    deadline_kind: str
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _service_view(row: ServiceReferral, need: SupportNeed, deadline: Deadline) -> ServiceView:
    return ServiceView(
        row.id,
        need.id,
        need.kind,
        row.provider_id,
        row.status,
        deadline.kind,
        deadline.opened_at,
        deadline.due_at,
        deadline.met_at,
        row.created_at,
        row.updated_at,
    )


def _open_service_deadline(session: Session, need: SupportNeed) -> Deadline | None:
    return session.scalar(
        select(Deadline)
        .join(ServiceReferral, ServiceReferral.deadline_id == Deadline.id)
        .where(ServiceReferral.need_id == need.id, Deadline.met_at.is_(None), Deadline.cancelled_at.is_(None))
        .limit(1)
    )


def refer_to_service(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, need_id: uuid.UUID, provider_id: uuid.UUID
) -> ServiceView:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        _require_personal(session, principal, case)
        if case.ended_at is not None:
            raise Conflict("the case has ended; no service can be requested for it")
        need = session.get(SupportNeed, need_id)
        if need is None or need.case_id != case.id:
            raise InvalidInput("no such need on this case", [FieldProblem(["body", "need_id"], "unknown need")])
        if session.get(Provider, provider_id) is None:
            raise InvalidInput("no such provider", [FieldProblem(["body", "provider_id"], "unknown provider")])
        deadline = _open_service_deadline(session, need)
        if deadline is None:
            duration = ctx.policy.service_deadlines[NeedKind(need.kind)]
            deadline = Deadline(
                id=uuid.uuid4(),
                kind=service_deadline_kind(need.kind),
                is_duty=True,
                opened_at=now,
                due_at=ctx.policy.calendar.due_after(now, duration),
                paused_seconds=0,
            )
            case.deadlines.append(deadline)
            session.flush()
        row = ServiceReferral(
            id=uuid.uuid4(),
            case_id=case.id,
            need_id=need.id,
            provider_id=provider_id,
            deadline_id=deadline.id,
            status="requested",
            note_blob=None,
            requested_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="service.requested",
            case_id=str(case.id),
            details={
                "service_id": str(row.id),
                "need_kind": need.kind,
                "provider_id": str(provider_id),
                "due_at": deadline.due_at.isoformat(),
            },
        )
        return _service_view(row, need, deadline)


def set_service_status(
    ctx: ServiceContext,
    principal: Principal,
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    status: str,
    note: str | None,
) -> ServiceView:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        _require_personal(session, principal, case)
        row = session.get(ServiceReferral, service_id)
        if row is None or row.case_id != case.id:
            raise NotFound("no such service referral")
        if status not in _TRANSITIONS.get(row.status, set()):
            raise Conflict(f"a {row.status} service referral cannot become {status}")
        need = session.get(SupportNeed, row.need_id)
        deadline = session.get(Deadline, row.deadline_id)
        assert need is not None and deadline is not None
        met = False
        if status in {"accepted", "delivered"} and deadline.met_at is None and deadline.cancelled_at is None:
            deadline.met_at, met = now, True
        row.status, row.updated_at = status, now
        if note:
            row.note_blob = seal_text_or_none(_cipher(session, ctx, case), "service_note", note)
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action=f"service.{status}",
            case_id=str(case.id),
            details={"service_id": str(row.id), "need_kind": need.kind, "deadline_met": met},
        )
        return _service_view(row, need, deadline)


def list_services(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[ServiceView]:
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        _require_personal(session, principal, case)
        rows = session.execute(
            select(ServiceReferral, SupportNeed, Deadline)
            .join(SupportNeed, SupportNeed.id == ServiceReferral.need_id)
            .join(Deadline, Deadline.id == ServiceReferral.deadline_id)
            .where(ServiceReferral.case_id == case.id)
            .order_by(ServiceReferral.created_at, ServiceReferral.id)
        ).all()
        return [_service_view(r, n, d) for r, n, d in rows]


# --- interviews --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterviewView:
    id: uuid.UUID
    interviewer_organisation_id: uuid.UUID
    held_at: datetime
    purpose: str | None
    created_at: datetime


def record_interview(
    ctx: ServiceContext,
    principal: Principal,
    case_id: uuid.UUID,
    purpose: str,
    interviewer_organisation_id: uuid.UUID,
    held_at: datetime,
) -> InterviewView:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        _require_personal(session, principal, case)
        if session.get(Organisation, interviewer_organisation_id) is None:
            raise InvalidInput(
                "no such organisation",
                [FieldProblem(["body", "interviewer_organisation_id"], "unknown organisation")],
            )
        row = Interview(
            id=uuid.uuid4(),
            case_id=case.id,
            interviewer_organisation_id=interviewer_organisation_id,
            held_at=held_at,
            purpose_blob=seal_text_or_none(_cipher(session, ctx, case), "interview_purpose", purpose),
            recorded_by=principal.user_id,
            created_at=now,
        )
        session.add(row)
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="interview.recorded",
            case_id=str(case.id),
            details={"interview_id": str(row.id), "interviewer_organisation_id": str(interviewer_organisation_id)},
        )
        return InterviewView(row.id, interviewer_organisation_id, held_at, purpose, now)


def list_interviews(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[InterviewView]:
    """Every interview already held: who, when; the purpose only to someone with need-to-know."""
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        cipher = _cipher(session, ctx, case) if has_need_to_know(session, principal, case) else None
        rows = session.scalars(
            select(Interview).where(Interview.case_id == case.id).order_by(Interview.held_at, Interview.id)
        )
        return [
            InterviewView(
                r.id,
                r.interviewer_organisation_id,
                r.held_at,
                cipher.open_text("interview_purpose", r.purpose_blob) if cipher and r.purpose_blob else None,
                r.created_at,
            )
            for r in rows
        ]
