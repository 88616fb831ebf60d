"""Referrals and case events: each use-case is one transaction (lock, ask the workflow, write, audit).

The order inside a use-case is always the same: lock the case row, check that the caller may know of it,
check `If-Match`, build the workflow's snapshot, ask `decide`, apply the effects (state, deadlines, panel,
encrypted texts), write the history row, append the audit entry, commit. Any error rolls all of it back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.db import read_only, transaction
from app.models import (
    Case,
    CaseHistory,
    Deadline,
    Document,
    IdempotencyRecord,
    Interview,
    Notification,
    Panel,
    PanelSeat,
    ServiceReferral,
    SupportNeed,
    User,
)
from app.security.permissions import Principal
from app.services import audit
from app.services.case_access import may_read_personal_data, visible_cases
from app.services.case_keys import (
    CaseCipher,
    cipher_unless_erased,
    create_case_key,
    destroy_case_key,
    open_case_key,
    seal_text_or_none,
)
from app.services.context import ServiceContext
from app.services.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from app.workflow import (
    Actor,
    AgeBand,
    AgeOutcome,
    CaseSnapshot,
    DeadlineKind,
    DeadlineSnapshot,
    Decision,
    EventName,
    EventRequest,
    PanelMember,
    PanelSnapshot,
    PreliminaryOutcome,
    Refusal,
    Role,
    Sector,
    State,
    Vote,
    allowed_events,
    deadline_status,
    decide,
    decide_referral,
)
from app.workflow.model import (
    CancelDeadline,
    ConvenePanel,
    DissolvePanel,
    MarkReconsiderationDone,
    MarkReviewDone,
    MeetDeadline,
    OpenDeadline,
    PauseDeadline,
    RecordConflict,
    RecordNote,
    RecordOutcome,
    RecordPreviousAssessor,
    RecordVote,
    Referral,
    ResumeDeadline,
    SetAgeAssessed,
    SetAssessor,
    SetChild,
    SetClosure,
    SetConsent,
    SetEarlyDecisionRequested,
    SetStateBeforeSuspension,
)
from app.workflow.states import RIGHT_KINDS

# --- inputs and views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralInput:
    """A referral as the API parsed it. `person` and `account` are personal data: encrypted, never logged."""

    person: dict[str, Any]
    account: dict[str, Any]
    needs: dict[str, Any]
    age_band: str
    age_disputed: bool
    unaccompanied: bool
    gender: str
    nationality: str
    region: str
    exploitation_forms: list[str]
    indicators: list[str]
    consent_given: bool
    asylum_interview_reference: str | None = None

    @property
    def date_of_birth(self) -> date | None:
        value = self.person.get("date_of_birth")
        return date.fromisoformat(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class EventInput:
    """An event as the API parsed it; ids are resolved into workflow records here, not by the caller."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeadlineView:
    kind: str
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    status: str


@dataclass(frozen=True)
class PanelView:
    id: uuid.UUID
    is_review: bool
    members: list[uuid.UUID]
    votes_cast: int
    conflicts_declared: int


@dataclass(frozen=True)
class CaseView:
    id: uuid.UUID
    state: str
    version: int
    is_child: bool
    age_disputed: bool
    age_band: str
    gender: str
    nationality: str
    region: str
    exploitation_forms: list[str]
    indicators: list[str]
    needs: dict[str, Any]
    referring_organisation_id: uuid.UUID
    assessor_id: uuid.UUID | None
    caseworker_ids: list[uuid.UUID]
    panel: PanelView | None
    created_at: datetime
    updated_at: datetime
    close_reason: str | None
    erased: bool
    deadlines: list[DeadlineView]
    allowed_events: list[str]
    interview_count: int = 0
    testimony_documents: int = 0


@dataclass(frozen=True)
class HistoryView:
    at: datetime
    event: str
    from_state: str | None
    to_state: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    facts: dict[str, Any]
    has_text: bool


@dataclass(frozen=True)
class CasePage:
    items: list[CaseView]
    next_cursor: str | None


# --- the workflow's view of actors and cases ---------------------------------------------------------------


def actor_of(principal: Principal) -> Actor:
    return Actor(
        user_id=str(principal.user_id),
        organisation_id=str(principal.organisation_id),
        sector=Sector(principal.sector),
        roles=frozenset(Role(r) for r in principal.roles),
    )


def audit_actor_of(principal: Principal) -> audit.AuditActor:
    return audit.AuditActor(str(principal.user_id), str(principal.organisation_id))


def current_panel(session: Session, case_id: uuid.UUID) -> Panel | None:
    return session.scalar(
        select(Panel).where(Panel.case_id == case_id, Panel.dissolved_at.is_(None)).order_by(Panel.convened_at.desc())
    )


_WORKFLOW_DEADLINE_KINDS = frozenset(k.value for k in DeadlineKind)


def _deadline_snapshot(row: Deadline) -> DeadlineSnapshot:
    return DeadlineSnapshot(
        kind=DeadlineKind(row.kind),
        opened_at=row.opened_at,
        due_at=row.due_at,
        met_at=row.met_at,
        paused_at=row.paused_at,
        remaining=None if row.remaining_seconds is None else timedelta(seconds=row.remaining_seconds),
        cancelled_at=row.cancelled_at,
    )


def _member(seat: PanelSeat, roles: frozenset[Role] = frozenset({Role.panel_member})) -> PanelMember:
    return PanelMember(
        user_id=str(seat.user_id),
        organisation_id=str(seat.organisation_id),
        sector=Sector(seat.sector),
        roles=roles,
    )


def snapshot_of(case: Case, panel: Panel | None) -> CaseSnapshot:
    """The workflow's view of a case: clear columns only, no personal data."""
    panel_snapshot = None
    if panel is not None:
        panel_snapshot = PanelSnapshot(
            members=tuple(_member(seat) for seat in panel.members),
            # The reasons are encrypted and the rules need only who declared one.
            conflicts={str(s.user_id): "declared" for s in panel.members if s.conflict_declared_at is not None},
            votes={str(s.user_id): Vote(s.vote) for s in panel.members if s.vote is not None},
            is_review=panel.is_review,
        )
    return CaseSnapshot(
        id=str(case.id),
        state=State(case.state),
        created_at=case.created_at,
        referring_organisation_id=str(case.referring_organisation_id),
        is_child=case.is_child,
        age_disputed=case.age_disputed,
        age_assessed=AgeOutcome(case.age_assessed) if case.age_assessed else None,
        unaccompanied=case.unaccompanied,
        consent_given=case.consent_given,
        shelter_needed=case.shelter_needed,
        state_before_suspension=State(case.state_before_suspension) if case.state_before_suspension else None,
        assessor_id=str(case.assessor_id) if case.assessor_id else None,
        previous_assessor_ids=frozenset(case.previous_assessor_ids),
        caseworker_ids=frozenset(case.caseworker_ids),
        early_decision_requested=case.early_decision_requested,
        panel=panel_snapshot,
        first_panel_member_ids=frozenset(case.first_panel_member_ids),
        reconsideration_done=case.reconsideration_done,
        review_done=case.review_done,
        # Service deadlines (`service_<need>`, app/services/support.py) are not the workflow's: left out.
        deadlines=tuple(_deadline_snapshot(d) for d in case.deadlines if d.kind in _WORKFLOW_DEADLINE_KINDS),
    )


# --- reading -----------------------------------------------------------------------------------------------


def load_visible_case(session: Session, principal: Principal, case_id: uuid.UUID, *, for_update: bool) -> Case:
    query = select(Case).options(selectinload(Case.deadlines)).where(Case.id == case_id, visible_cases(principal))
    if for_update:
        query = query.with_for_update(of=Case)
    case = session.scalar(query)
    if case is None:
        raise NotFound("no such case")
    return case


# Readable statements already on file: the case shows how many, so a panel sees what the person already told
# before asking for another interview.
TESTIMONY_KINDS = ("evidence", "asylum_interview")


@dataclass(frozen=True)
class _ViewExtras:
    """What a case view needs beyond the case row and its deadlines."""

    panel: Panel | None = None
    interviews: int = 0
    testimony: int = 0


def _view_extras(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, _ViewExtras]:
    """Panels and counts for a whole page of cases in two statements, not a few per case."""
    if not case_ids:
        return {}
    panels: dict[uuid.UUID, Panel] = {}
    open_panels = session.scalars(
        select(Panel)
        .options(selectinload(Panel.members))
        .where(Panel.case_id.in_(case_ids), Panel.dissolved_at.is_(None))
        .order_by(Panel.convened_at)
    )
    for panel in open_panels:
        panels[panel.case_id] = panel  # the latest open one wins, as in `current_panel`
    interviews = select(func.count()).where(Interview.case_id == Case.id).scalar_subquery()
    testimony = (
        select(func.count())
        .where(Document.case_id == Case.id, Document.kind.in_(TESTIMONY_KINDS), Document.content.is_not(None))
        .scalar_subquery()
    )
    counts = session.execute(select(Case.id, interviews, testimony).where(Case.id.in_(case_ids))).all()
    return {case_id: _ViewExtras(panels.get(case_id), int(n), int(t)) for case_id, n, t in counts}


def _view(
    session: Session, ctx: ServiceContext, case: Case, principal: Principal | None, extras: _ViewExtras | None = None
) -> CaseView:
    now = ctx.clock.now()
    if extras is None:
        extras = _view_extras(session, [case.id])[case.id]
    panel = extras.panel
    snapshot = snapshot_of(case, panel)
    events = (
        [] if principal is None else [e.value for e in allowed_events(snapshot, actor_of(principal), now, ctx.policy)]
    )
    return CaseView(
        id=case.id,
        state=case.state,
        version=case.version,
        is_child=case.is_child,
        age_disputed=case.age_disputed,
        age_band=case.age_band,
        gender=case.gender,
        nationality=case.nationality,
        region=case.region,
        exploitation_forms=list(case.exploitation_forms),
        indicators=list(case.indicators),
        needs=dict(case.needs),
        referring_organisation_id=case.referring_organisation_id,
        assessor_id=case.assessor_id,
        caseworker_ids=[uuid.UUID(c) for c in case.caseworker_ids],
        panel=None
        if panel is None
        else PanelView(
            id=panel.id,
            is_review=panel.is_review,
            members=[seat.user_id for seat in panel.members],
            votes_cast=sum(1 for seat in panel.members if seat.vote is not None),
            conflicts_declared=sum(1 for seat in panel.members if seat.conflict_declared_at is not None),
        ),
        created_at=case.created_at,
        updated_at=case.updated_at,
        close_reason=case.close_reason,
        erased=case.erased_at is not None,
        deadlines=[
            DeadlineView(d.kind.value, d.opened_at, d.due_at, d.met_at, deadline_status(d, now).value)
            for d in snapshot.deadlines
        ],
        allowed_events=events,
        interview_count=extras.interviews,
        testimony_documents=extras.testimony,
    )


def get_case(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> CaseView:
    with read_only(ctx.read_sessions) as session:
        return _view(session, ctx, load_visible_case(session, principal, case_id, for_update=False), principal)


def _encode_cursor(case: Case) -> str:
    raw = json.dumps([case.created_at.isoformat(), str(case.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, case_id = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(created), uuid.UUID(case_id)
    except (ValueError, TypeError):
        raise InvalidInput("the cursor is not valid", [FieldProblem(["query", "cursor"], "not a cursor")]) from None


def overdue_condition(now: datetime) -> Any:
    """A case has an overdue duty: open, not paused, past its due time (rights are never overdue)."""
    return exists(
        select(Deadline.id).where(
            Deadline.case_id == Case.id,
            Deadline.is_duty.is_(True),
            Deadline.met_at.is_(None),
            Deadline.cancelled_at.is_(None),
            Deadline.paused_at.is_(None),
            Deadline.due_at < now,
        )
    )


def list_cases(
    ctx: ServiceContext,
    principal: Principal,
    *,
    state: str | None = None,
    overdue: bool | None = None,
    organisation_id: uuid.UUID | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> CasePage:
    now = ctx.clock.now()
    query = select(Case).where(visible_cases(principal))
    if state is not None:
        query = query.where(Case.state == state)
    if organisation_id is not None:
        query = query.where(Case.referring_organisation_id == organisation_id)
    if overdue is True:
        query = query.where(overdue_condition(now))
    elif overdue is False:
        query = query.where(~overdue_condition(now))
    if cursor is not None:
        created, last_id = _decode_cursor(cursor)
        query = query.where((Case.created_at < created) | and_(Case.created_at == created, Case.id < last_id))
    query = query.order_by(Case.created_at.desc(), Case.id.desc()).limit(limit + 1)
    with read_only(ctx.read_sessions) as session:
        cases = list(session.scalars(query.options(selectinload(Case.deadlines))))
        page, more = cases[:limit], len(cases) > limit
        extras = _view_extras(session, [case.id for case in page])
        return CasePage(
            items=[_view(session, ctx, case, principal, extras[case.id]) for case in page],
            next_cursor=_encode_cursor(page[-1]) if more and page else None,
        )


def history(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[HistoryView]:
    with transaction(ctx.sessions) as session:
        load_visible_case(session, principal, case_id, for_update=False)
        rows = session.scalars(
            select(CaseHistory).where(CaseHistory.case_id == case_id).order_by(CaseHistory.at, CaseHistory.id)
        )
        return [
            HistoryView(
                r.at,
                r.event,
                r.from_state,
                r.to_state,
                r.actor_id,
                r.organisation_id,
                r.facts,
                r.text_blob is not None,
            )
            for r in rows
        ]


# --- refusals ----------------------------------------------------------------------------------------------


def _raise_refusal(refusal: Refusal) -> None:
    if refusal.kind == "not_allowed_in_state":
        raise Conflict(
            refusal.message,
            state=refusal.state.value if refusal.state else None,
            allowed_events=[e.value for e in refusal.allowed_events],
        )
    if refusal.kind == "forbidden_role":
        raise Forbidden(refusal.message)
    if refusal.http_status == 422:
        raise InvalidInput(refusal.message, [FieldProblem(["body", refusal.code], refusal.message)])
    raise Conflict(
        refusal.message,
        state=refusal.state.value if refusal.state else None,
        allowed_events=[e.value for e in refusal.allowed_events],
    )


# --- applying a decision -----------------------------------------------------------------------------------


def _unclosed(case: Case, kind: DeadlineKind) -> Deadline:
    for row in case.deadlines:
        if row.kind == kind.value and row.met_at is None and row.cancelled_at is None:
            return row
    raise AssertionError(f"the workflow addressed a {kind.value} deadline the case does not hold")


def _apply(
    session: Session,
    case: Case,
    decision: Decision,
    cipher: CaseCipher | None,
    now: datetime,
    texts: dict[str, str],
) -> None:
    """Apply the workflow's effects in order. Free texts are collected in `texts` for the history row."""
    panel = current_panel(session, case.id)
    for effect in decision.effects:
        match effect:
            case OpenDeadline(kind, opened_at, due_at):
                case.deadlines.append(
                    Deadline(
                        id=uuid.uuid4(),
                        kind=kind.value,
                        is_duty=kind not in RIGHT_KINDS,
                        opened_at=opened_at,
                        due_at=due_at,
                        paused_seconds=0,
                    )
                )
            case MeetDeadline(kind, at):
                _unclosed(case, kind).met_at = at
            case CancelDeadline(kind, at):
                _unclosed(case, kind).cancelled_at = at
            case PauseDeadline(kind, at, remaining):
                row = _unclosed(case, kind)
                row.paused_at, row.remaining_seconds = at, int(remaining.total_seconds())
            case ResumeDeadline(kind, at, new_due_at):
                row = _unclosed(case, kind)
                assert row.paused_at is not None
                row.paused_seconds += int((at - row.paused_at).total_seconds())
                row.due_at, row.paused_at, row.remaining_seconds = new_due_at, None, None
            case SetAssessor(assessor_id):
                case.assessor_id = uuid.UUID(assessor_id) if assessor_id else None
            case RecordPreviousAssessor(assessor_id):
                case.previous_assessor_ids = sorted({*case.previous_assessor_ids, assessor_id})
            case ConvenePanel(members, is_review):
                if panel is not None:
                    panel.dissolved_at = now
                panel = Panel(id=uuid.uuid4(), case_id=case.id, is_review=is_review, convened_at=now)
                panel.members = [
                    PanelSeat(
                        user_id=uuid.UUID(m.user_id),
                        organisation_id=uuid.UUID(m.organisation_id),
                        sector=m.sector.value,
                    )
                    for m in members
                ]
                session.add(panel)
                if not is_review:
                    case.first_panel_member_ids = sorted({*case.first_panel_member_ids, *(m.user_id for m in members)})
            case DissolvePanel(at):
                if panel is not None:
                    panel.dissolved_at = at
            case RecordConflict(user_id, reason):
                seat = _seat(panel, user_id)
                seat.conflict_declared_at = now
                seat.text_blob = seal_text_or_none(cipher, "panel_conflict", reason)
            case RecordVote(user_id, vote, rationale):
                seat = _seat(panel, user_id)
                seat.vote, seat.voted_at = vote.value, now
                seat.text_blob = seal_text_or_none(cipher, "panel_rationale", rationale)
            case SetEarlyDecisionRequested():
                case.early_decision_requested = True
            case SetChild(is_child):
                case.is_child = is_child
            case SetAgeAssessed(outcome):
                case.age_assessed, case.age_disputed = outcome.value, False
            case SetConsent(given):
                case.consent_given = given
            case RecordOutcome(stage, outcome, reasons):
                if stage == "preliminary":
                    case.preliminary_outcome, case.preliminary_decided_at = outcome, now
                else:
                    case.formal_outcome, case.formal_decided_at = outcome, now
                if reasons:
                    texts["reasons"] = reasons
            case SetStateBeforeSuspension(state):
                case.state_before_suspension = state.value if state else None
            case MarkReconsiderationDone():
                case.reconsideration_done = True
            case MarkReviewDone():
                case.review_done = True
            case SetClosure(reason, risk_assessment, best_interests):
                case.close_reason = reason.value
                if risk_assessment:
                    texts["risk_assessment"] = risk_assessment
                if best_interests:
                    texts["best_interests_determination"] = best_interests
            case RecordNote(text):
                texts["note"] = text
            case _:
                raise AssertionError(f"an effect the service does not apply: {type(effect).__name__}")
    case.state = decision.new_state.value
    if decision.new_state in {State.closed, State.withdrawn} and case.ended_at is None:
        case.ended_at = now
        # Service deadlines are not the workflow's: the end of the case cancels those still open.
        for row in case.deadlines:
            if row.kind not in _WORKFLOW_DEADLINE_KINDS and row.met_at is None and row.cancelled_at is None:
                row.cancelled_at = now


def _seat(panel: Panel | None, user_id: str) -> PanelSeat:
    assert panel is not None, "the workflow sent a panel effect without a panel"
    for seat in panel.members:
        if str(seat.user_id) == user_id:
            return seat
    raise AssertionError("the workflow addressed a seat the panel does not have")


def _facts(decision: Decision) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in decision.facts.items()}


def _write_history(
    session: Session,
    case: Case,
    decision: Decision,
    actor_ids: tuple[uuid.UUID | None, uuid.UUID | None],
    cipher: CaseCipher | None,
    texts: dict[str, str],
    now: datetime,
) -> None:
    facts = _facts(decision)
    session.add(
        CaseHistory(
            id=uuid.uuid4(),
            case_id=case.id,
            at=now,
            actor_id=actor_ids[0],
            organisation_id=actor_ids[1],
            event=decision.event.value,
            from_state=decision.from_state.value if decision.from_state else None,
            to_state=decision.new_state.value,
            facts=facts,
            text_blob=cipher.seal_json("history_text", texts) if texts and cipher is not None else None,
        )
    )


def append_decision_audit(
    session: Session, ctx: ServiceContext, case: Case, decision: Decision, actor: audit.AuditActor, now: datetime
) -> None:
    """The decision's audit entry. Called last in a use-case: it takes the chain's lock, held until commit."""
    audit.append(
        session,
        ctx.keyring,
        time=now,
        actor=actor,
        action=f"case.{decision.event.value}",
        case_id=str(case.id),
        details={**_facts(decision), "version": case.version},
    )


# --- referral ----------------------------------------------------------------------------------------------


def _request_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ReferralResult:
    view: dict[str, Any]
    replayed: bool


def refer(
    ctx: ServiceContext,
    principal: Principal,
    referral: ReferralInput,
    *,
    raw_body: Mapping[str, Any],
    idempotency_key: str | None,
    render: Callable[[CaseView], dict[str, Any]],
) -> ReferralResult:
    """Create a case from a referral. With an idempotency key, a retry returns the first answer.

    `render` turns a CaseView into the response body (the API's schema); the body is stored with the key
    so a retry gets exactly the first answer.
    """
    now = ctx.clock.now()
    request_hash = _request_hash(raw_body)
    if idempotency_key is not None:
        replay = _replay(ctx, principal, idempotency_key, request_hash)
        if replay is not None:
            return ReferralResult(replay, True)
    decision = decide_referral(
        actor_of(principal),
        Referral(
            age_band=AgeBand(referral.age_band),
            date_of_birth=referral.date_of_birth,
            age_disputed=referral.age_disputed,
            unaccompanied=referral.unaccompanied,
            consent_given=referral.consent_given,
            shelter_needed=bool(referral.needs.get("shelter_needed")),
        ),
        now,
        ctx.policy,
    )
    if isinstance(decision, Refusal):
        _raise_refusal(decision)
    assert isinstance(decision, Decision)
    try:
        with transaction(ctx.sessions) as session:
            case_id = uuid.uuid4()
            cipher = create_case_key(session, ctx.keyring, case_id, now)
            case = Case(
                id=case_id,
                version=1,
                state=decision.new_state.value,
                policy_name=ctx.policy.name,
                created_at=now,
                updated_at=now,
                referring_organisation_id=principal.organisation_id,
                referrer_id=principal.user_id,
                previous_assessor_ids=[],
                caseworker_ids=[],
                is_child=False,
                age_disputed=referral.age_disputed,
                unaccompanied=referral.unaccompanied,
                age_band=referral.age_band,
                gender=referral.gender,
                nationality=referral.nationality,
                region=referral.region,
                exploitation_forms=sorted(referral.exploitation_forms),
                indicators=sorted(referral.indicators),
                needs=referral.needs,
                consent_given=referral.consent_given,
                shelter_needed=bool(referral.needs.get("shelter_needed")),
                referring_sector=principal.sector,
                first_panel_member_ids=[],
                person_blob=cipher.seal_json(
                    "person",
                    {**referral.person, "asylum_interview_reference": referral.asylum_interview_reference},
                ),
                account_blob=cipher.seal_json("account", referral.account),
            )
            session.add(case)
            texts: dict[str, str] = {}
            _apply(session, case, decision, cipher, now, texts)
            _write_history(session, case, decision, (principal.user_id, principal.organisation_id), cipher, texts, now)
            # A new case has no panel, interview or document yet: its view needs no query.
            body = render(_view(session, ctx, case, principal, _ViewExtras()))
            if idempotency_key is not None:
                session.add(
                    IdempotencyRecord(
                        user_id=principal.user_id,
                        key=idempotency_key,
                        request_hash=request_hash,
                        status_code=201,
                        response_body=body,
                        case_id=case_id,
                        created_at=now,
                    )
                )
            append_decision_audit(session, ctx, case, decision, audit_actor_of(principal), now)
            return ReferralResult(body, False)
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as a retry would be answered.
        if idempotency_key is not None:
            replay = _replay(ctx, principal, idempotency_key, request_hash)
            if replay is not None:
                return ReferralResult(replay, True)
        raise


def _replay(ctx: ServiceContext, principal: Principal, key: str, request_hash: str) -> dict[str, Any] | None:
    with transaction(ctx.sessions) as session:
        record = session.get(IdempotencyRecord, (principal.user_id, key))
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise InvalidInput(
                "this Idempotency-Key was already used with another request body",
                [FieldProblem(["header", "Idempotency-Key"], "reused with a different body")],
            )
        return dict(record.response_body)


# --- events ------------------------------------------------------------------------------------------------


def _resolve_user(session: Session, user_id: Any, loc: str, roles: frozenset[Role] | None = None) -> PanelMember:
    try:
        parsed = uuid.UUID(str(user_id))
    except ValueError:
        raise InvalidInput("not a user id", [FieldProblem(["body", loc], "not a user id")]) from None
    user = session.get(User, parsed)
    if user is None or not user.is_active:
        raise InvalidInput("no such active user", [FieldProblem(["body", loc], "no such active user")])
    return PanelMember(
        user_id=str(user.id),
        organisation_id=str(user.organisation_id),
        sector=Sector(user.organisation.sector),
        roles=frozenset(Role(r) for r in user.roles) if roles is None else roles,
    )


def _event_request(session: Session, event: EventInput) -> EventRequest:
    try:
        name = EventName(event.name)
    except ValueError:
        raise InvalidInput("unknown event", [FieldProblem(["body", "event"], "unknown event")]) from None
    if name is EventName.referral:
        raise InvalidInput(
            "a referral is made with POST /api/v1/referrals",
            [FieldProblem(["body", "event"], "not an event")],
        )
    f = event.fields
    outcome: Any = None
    if f.get("outcome") is not None:
        enum = AgeOutcome if name is EventName.age_assessed else PreliminaryOutcome
        try:
            outcome = enum(f["outcome"])
        except ValueError:
            raise InvalidInput("unknown outcome", [FieldProblem(["body", "outcome"], "unknown outcome")]) from None
    assessor = _resolve_user(session, f["assessor_id"], "assessor_id") if f.get("assessor_id") else None
    members = tuple(_resolve_user(session, member_id, "member_ids") for member_id in (f.get("member_ids") or []))
    if len({m.user_id for m in members}) != len(members):
        raise InvalidInput("a member is listed twice", [FieldProblem(["body", "member_ids"], "duplicate member")])
    return EventRequest(
        name=name,
        outcome=outcome,
        reasons=f.get("reasons"),
        assessor=assessor,
        members=members,
        vote=Vote(f["vote"]) if f.get("vote") else None,
        rationale=f.get("rationale"),
        reason=f.get("reason"),
        note=f.get("note"),
        risk_assessment=f.get("risk_assessment"),
        best_interests_determination=f.get("best_interests_determination"),
        consent_given=f.get("consent_given"),
    )


def parse_version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidInput(
            "If-Match must be the case's version", [FieldProblem(["header", "If-Match"], "not a version")]
        )
    return int(value)


def send_event(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, event: EventInput, if_match: str | None
) -> CaseView:
    expected_version = parse_version(if_match)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        if expected_version is not None and expected_version != case.version:
            raise PreconditionFailed(
                "the case changed since you read it; reload it and try again", current_version=case.version
            )
        request = _event_request(session, event)
        snapshot, actor = snapshot_of(case, current_panel(session, case.id)), actor_of(principal)
        decision = decide(snapshot, actor, request, now, ctx.policy)
        if isinstance(decision, Refusal):
            if decision.http_status == 409:
                # Every 409 names the events this caller may send now (api-contract "Errors"), guards included.
                decision = replace(decision, allowed_events=tuple(allowed_events(snapshot, actor, now, ctx.policy)))
            _raise_refusal(decision)
        assert isinstance(decision, Decision)
        apply_decision(session, ctx, case, decision, (principal.user_id, principal.organisation_id), now)
        session.flush()
        view = _view(session, ctx, case, principal)
        append_decision_audit(session, ctx, case, decision, audit_actor_of(principal), now)
        return view


def commit_decision(
    session: Session,
    ctx: ServiceContext,
    case: Case,
    decision: Decision,
    actor: audit.AuditActor,
    actor_ids: tuple[uuid.UUID | None, uuid.UUID | None],
    now: datetime,
) -> None:
    apply_decision(session, ctx, case, decision, actor_ids, now)
    append_decision_audit(session, ctx, case, decision, actor, now)


def apply_decision(
    session: Session,
    ctx: ServiceContext,
    case: Case,
    decision: Decision,
    actor_ids: tuple[uuid.UUID | None, uuid.UUID | None],
    now: datetime,
) -> None:
    """State, deadlines, panel, encrypted texts, version and history row; the audit entry is appended apart."""
    cipher = cipher_unless_erased(session, ctx.keyring, case.id, case.erased_at is not None)
    texts: dict[str, str] = {}
    _apply(session, case, decision, cipher, now, texts)
    case.version += 1
    case.updated_at = now
    _write_history(session, case, decision, actor_ids, cipher, texts, now)


# --- personal data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    person: dict[str, Any]
    account: dict[str, Any]


def has_need_to_know(session: Session, principal: Principal, case: Case) -> bool:
    """May this caller read the personal data of this case (identity, documents, support texts)?"""
    panel = current_panel(session, case.id)
    members = {seat.user_id for seat in panel.members} if panel is not None else set()
    return may_read_personal_data(principal, case, members)


def read_identity(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, purpose: str) -> Identity:
    """Decrypt the person and the account for someone with need-to-know; always audited with the purpose."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        if not has_need_to_know(session, principal, case):
            raise Forbidden("you have no need-to-know for this person's identity")
        cipher = open_case_key(session, ctx.keyring, case.id)
        assert case.person_blob is not None and case.account_blob is not None
        identity = Identity(
            cipher.open_json("person", case.person_blob), cipher.open_json("account", case.account_blob)
        )
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="identity.read",
            case_id=str(case.id),
            details={"purpose": purpose},
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


# --- anonymous notifications -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationInput:
    gender: str
    age_band: str
    nationality: str
    region: str
    exploitation_forms: list[str]


@dataclass(frozen=True)
class NotificationView:
    id: uuid.UUID
    gender: str
    age_band: str
    nationality: str
    region: str
    exploitation_forms: list[str]
    sector: str
    created_at: datetime


def notify(ctx: ServiceContext, principal: Principal, notification: NotificationInput) -> NotificationView:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = Notification(
            id=uuid.uuid4(),
            organisation_id=principal.organisation_id,
            sector=principal.sector,
            gender=notification.gender,
            age_band=notification.age_band,
            nationality=notification.nationality,
            region=notification.region,
            exploitation_forms=sorted(notification.exploitation_forms),
            created_at=now,
        )
        session.add(row)
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="notification.created",
            details={},
        )
        return NotificationView(
            row.id,
            row.gender,
            row.age_band,
            row.nationality,
            row.region,
            row.exploitation_forms,
            row.sector,
            now,
        )


# --- caseworkers -------------------------------------------------------------------------------------------


def assign_caseworker(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, caseworker_id: uuid.UUID
) -> CaseView:
    """The coordinator assigns a support provider's caseworker to the case (need-to-know follows)."""
    if "coordinator" not in principal.roles:
        raise Forbidden("only the coordinator assigns caseworkers")
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        version_before = case.version
        user = session.get(User, caseworker_id)
        if user is None or not user.is_active or "caseworker" not in user.roles:
            raise InvalidInput(
                "not an active caseworker", [FieldProblem(["body", "caseworker_id"], "not a caseworker")]
            )
        if str(user.id) not in case.caseworker_ids:
            case.caseworker_ids = sorted({*case.caseworker_ids, str(user.id)})
            case.version += 1
            case.updated_at = now
            session.add(
                CaseHistory(
                    id=uuid.uuid4(),
                    case_id=case.id,
                    at=now,
                    actor_id=principal.user_id,
                    organisation_id=principal.organisation_id,
                    event="assign_caseworker",
                    from_state=case.state,
                    to_state=case.state,
                    facts={"caseworker_id": str(user.id)},
                    text_blob=None,
                )
            )
        session.flush()
        view = _view(session, ctx, case, principal)
        if view.version != version_before:
            audit.append(
                session,
                ctx.keyring,
                time=now,
                actor=audit_actor_of(principal),
                action="case.assign_caseworker",
                case_id=str(case.id),
                details={"caseworker_id": str(user.id)},
            )
        return view
