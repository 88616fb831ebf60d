"""Support of the person: needs, the providers directory, service referrals with deadlines, interviews.

Each use-case that writes is one transaction, like the case use-cases: lock the case, check need-to-know,
write, audit (through the case core, `app/services/cases/core.py`). Reads use read-only sessions.

Service deadlines. A referral's deadline is a row of the `deadlines` table with kind `service_<need kind>`
(not a workflow `DeadlineKind`: the workflow never opens, pauses or closes it, and the case snapshot leaves it
out). It is a duty, so the compliance report counts it, grouped by its kind, like any other deadline. Its due
time comes from `policy.service_deadline(need kind, long-term?)` through the workflow's calendar
(`Calendar.due_after`): a long-term need (work, housing, therapy) may take longer where the policy says so.
One open deadline per need: a second referral for the same need (after a refusal) shares it, so changing
provider does not restart the clock. Which statuses a referral moves through, and which meet its deadline,
is declared in `app/workflow/support.py`. The workflow's closure of the case cancels open service deadlines.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
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
from app.security.permissions import Permission, Principal
from app.services.case_access import may_read_provider_contact
from app.services.case_keys import CaseCipher, opening, seal_text_or_none
from app.services.case_policy import policy_of
from app.services.cases.core import (
    append_audit,
    cipher_for_reader,
    cipher_of,
    load_visible_case,
    require_need_to_know,
)
from app.services.context import ServiceContext
from app.services.errors import FieldProblem, Forbidden, InvalidInput, NotFound, choice, refused
from app.services.wrapped_keys import provider_key_context
from app.workflow.states import NeedKind
from app.workflow.support import (
    MEETS_SERVICE_DEADLINE,
    ProviderKind,
    ServiceStatus,
    Urgency,
    refuse_service_request,
    refuse_status_change,
    serves,
    service_deadline_kind,
)

__all__ = [
    "InterviewView",
    "NeedView",
    "ProviderSummary",
    "ProviderView",
    "ServiceView",
    "create_provider",
    "get_provider",
    "list_interviews",
    "list_needs",
    "list_providers",
    "list_services",
    "need_view",
    "record_interview",
    "record_need",
    "refer_to_service",
    "service_deadline_kind",
    "set_service_status",
]

_SUPPORT = "this case's support"
#: The field name a need's note is encrypted under (bound as associated data with the case id).
NEED_NOTE = "need_note"


def _case_for_support(session: Session, principal: Principal, case_id: uuid.UUID, *, for_update: bool) -> Case:
    case = load_visible_case(session, principal, case_id, for_update=for_update)
    require_need_to_know(session, principal, case, _SUPPORT)
    return case


# --- needs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedView:
    """`assessment_id`: the needs assessment that found it, if any (`app/services/assessments.py`)."""

    id: uuid.UUID
    kind: NeedKind
    urgency: Urgency
    note: str | None
    created_at: datetime
    assessment_id: uuid.UUID | None = None


def need_view(row: SupportNeed, cipher: CaseCipher | None) -> NeedView:
    """A need as its readers see it; the note opened with the case's cipher (None: not shown)."""
    note = cipher.open_text(NEED_NOTE, row.note_blob) if cipher is not None and row.note_blob else None
    return NeedView(row.id, NeedKind(row.kind), Urgency(row.urgency), note, row.created_at, row.assessment_id)


def record_need(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, kind: str, urgency: str, note: str | None
) -> NeedView:
    need_kind, need_urgency = choice(NeedKind, kind, "kind"), choice(Urgency, urgency, "urgency")
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = _case_for_support(session, principal, case_id, for_update=True)
        cipher = cipher_of(session, ctx, case)
        row = SupportNeed(
            id=uuid.uuid4(),
            case_id=case.id,
            kind=need_kind.value,
            urgency=need_urgency.value,
            note_blob=seal_text_or_none(cipher, NEED_NOTE, note),
            recorded_by=principal.user_id,
            created_at=now,
        )
        session.add(row)
        append_audit(
            session,
            ctx,
            principal,
            "need.recorded",
            details={"need_id": str(row.id), "kind": need_kind.value, "urgency": need_urgency.value},
            now=now,
            case=case,
        )
        return need_view(row, cipher)


def list_needs(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[NeedView]:
    with read_only(ctx.read_sessions) as session:
        case = _case_for_support(session, principal, case_id, for_update=False)
        cipher = cipher_of(session, ctx, case)
        rows = session.scalars(
            select(SupportNeed).where(SupportNeed.case_id == case.id).order_by(SupportNeed.created_at, SupportNeed.id)
        )
        return [need_view(row, cipher) for row in rows]


# --- providers ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderSummary:
    id: uuid.UUID
    name: str
    kind: ProviderKind


@dataclass(frozen=True)
class ProviderView(ProviderSummary):
    """`address` and `phone` are null unless the caller may locate the provider (`authority.PROVIDER_CONTACT`):
    the coordinator, or a caseworker while an assigned case has a live referral there of a need it serves."""

    address: str | None = None
    phone: str | None = None


def _provider_key(keyring: KeyRing, row: Provider) -> bytes:
    return unwrap_case_key(keyring, WrappedKey(kek_id=row.kek_id, blob=row.wrapped_key), provider_key_context(row.id))


def create_provider(
    ctx: ServiceContext, principal: Principal, name: str, kind: str, address: str, phone: str | None
) -> ProviderView:
    if not principal.can(Permission.manage_providers):
        raise Forbidden("only the coordinator manages the providers directory")
    provider_kind = choice(ProviderKind, kind, "kind")
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
                kind=provider_kind.value,
                kek_id=wrapped.kek_id,
                wrapped_key=wrapped.blob,
                address_blob=encrypt_field(key, ad, "address", address.encode("utf-8")),
                phone_blob=encrypt_field(key, ad, "phone", phone.encode("utf-8")) if phone else None,
                created_at=now,
            )
        )
        append_audit(
            session,
            ctx,
            principal,
            "provider.created",
            details={"provider_id": str(provider_id), "kind": provider_kind.value},
            now=now,
        )
    return ProviderView(provider_id, name, provider_kind, address, phone)


def list_providers(ctx: ServiceContext, kind: ProviderKind | None = None) -> list[ProviderSummary]:
    query = select(Provider).order_by(Provider.name, Provider.id)
    if kind is not None:
        query = query.where(Provider.kind == ProviderKind(kind).value)
    with read_only(ctx.read_sessions) as session:
        return [ProviderSummary(row.id, row.name, ProviderKind(row.kind)) for row in session.scalars(query)]


def get_provider(ctx: ServiceContext, principal: Principal, provider_id: uuid.UUID) -> ProviderView:
    """A provider; its address and phone too for someone who may locate it (`authority.PROVIDER_CONTACT`),
    and that read is audited."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = session.get(Provider, provider_id)
        if row is None:
            raise NotFound("no such provider")
        if not may_read_provider_contact(session, principal, provider_id, ProviderKind(row.kind)):
            return ProviderView(row.id, row.name, ProviderKind(row.kind))
        with opening(f"the contacts of provider {row.id}"):
            key, ad = _provider_key(ctx.keyring, row), provider_key_context(row.id)
            address = decrypt_field(key, ad, "address", row.address_blob).decode("utf-8")
            phone = decrypt_field(key, ad, "phone", row.phone_blob).decode("utf-8") if row.phone_blob else None
        append_audit(
            session,
            ctx,
            principal,
            "provider.contact_read",
            details={"provider_id": str(row.id)},
            now=now,
        )
        return ProviderView(row.id, row.name, ProviderKind(row.kind), address, phone)


# --- service referrals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceView:
    id: uuid.UUID
    need_id: uuid.UUID
    need_kind: NeedKind
    provider_id: uuid.UUID
    status: ServiceStatus
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
        NeedKind(need.kind),
        row.provider_id,
        ServiceStatus(row.status),
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
        case = _case_for_support(session, principal, case_id, for_update=True)
        refusal = refuse_service_request(case_ended=case.ended_at is not None)
        if refusal is not None:
            raise refused(refusal)
        need = session.get(SupportNeed, need_id)
        if need is None or need.case_id != case.id:
            raise InvalidInput("no such need on this case", [FieldProblem(("need_id",), "unknown need")])
        provider = session.get(Provider, provider_id)
        if provider is None:
            raise InvalidInput("no such provider", [FieldProblem(("provider_id",), "unknown provider")])
        if not serves(ProviderKind(provider.kind), NeedKind(need.kind)):
            raise InvalidInput(
                "this provider does not serve a need of this kind",
                [FieldProblem(("provider_id",), "this provider does not serve a need of this kind")],
            )
        deadline = _open_service_deadline(session, need)
        if deadline is None:
            long_term = need.urgency == Urgency.long_term.value
            policy = policy_of(session, ctx, case)
            duration = policy.service_deadline(NeedKind(need.kind), long_term)
            deadline = Deadline(
                id=uuid.uuid4(),
                kind=service_deadline_kind(need.kind),
                is_duty=True,
                opened_at=now,
                due_at=policy.calendar.due_after(now, duration),
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
            status=ServiceStatus.requested.value,
            note_blob=None,
            requested_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        append_audit(
            session,
            ctx,
            principal,
            "service.requested",
            details={
                "service_id": str(row.id),
                "need_kind": need.kind,
                "provider_id": str(provider_id),
                "due_at": deadline.due_at.isoformat(),
            },
            now=now,
            case=case,
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
    new_status = choice(ServiceStatus, status, "status")
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = _case_for_support(session, principal, case_id, for_update=True)
        row = session.get(ServiceReferral, service_id)
        if row is None or row.case_id != case.id:
            raise NotFound("no such service referral")
        refusal = refuse_status_change(ServiceStatus(row.status), new_status)
        if refusal is not None:
            raise refused(refusal)
        need = session.get(SupportNeed, row.need_id)
        deadline = session.get(Deadline, row.deadline_id)
        assert need is not None and deadline is not None
        met = False
        if new_status in MEETS_SERVICE_DEADLINE and deadline.met_at is None and deadline.cancelled_at is None:
            deadline.met_at, met = now, True
        row.status, row.updated_at = new_status.value, now
        if note:
            row.note_blob = seal_text_or_none(cipher_of(session, ctx, case), "service_note", note)
        append_audit(
            session,
            ctx,
            principal,
            f"service.{new_status.value}",
            details={"service_id": str(row.id), "need_kind": need.kind, "deadline_met": met},
            now=now,
            case=case,
        )
        return _service_view(row, need, deadline)


def list_services(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[ServiceView]:
    with read_only(ctx.read_sessions) as session:
        case = _case_for_support(session, principal, case_id, for_update=False)
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
        case = _case_for_support(session, principal, case_id, for_update=True)
        if session.get(Organisation, interviewer_organisation_id) is None:
            raise InvalidInput(
                "no such organisation",
                [FieldProblem(("interviewer_organisation_id",), "unknown organisation")],
            )
        row = Interview(
            id=uuid.uuid4(),
            case_id=case.id,
            interviewer_organisation_id=interviewer_organisation_id,
            held_at=held_at,
            purpose_blob=seal_text_or_none(cipher_of(session, ctx, case), "interview_purpose", purpose),
            recorded_by=principal.user_id,
            created_at=now,
        )
        session.add(row)
        append_audit(
            session,
            ctx,
            principal,
            "interview.recorded",
            details={"interview_id": str(row.id), "interviewer_organisation_id": str(interviewer_organisation_id)},
            now=now,
            case=case,
        )
        return InterviewView(row.id, interviewer_organisation_id, held_at, purpose, now)


def list_interviews(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[InterviewView]:
    """Every interview already held: who, when; the purpose only to someone with need-to-know."""
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        cipher = cipher_for_reader(session, ctx, principal, case)
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
