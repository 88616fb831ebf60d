"""The shared core of the case use-cases, called openly by each of them (and by support, documents and the
worker): load and lock a case the caller may know of, check need-to-know, build the workflow's snapshot,
apply a decision to the rows, append the decision's audit entry.

The order inside a use-case is always the same: lock the case row (`load_visible_case(..., for_update=True)`),
check what the caller may do, build the snapshot (`snapshot_of`), ask the workflow (`decide`), apply the
decision (`apply_decision`: state, deadlines, panel, encrypted texts, version, history row), append the audit
entry last (`append_decision_audit`: it takes the chain's lock, held until the commit). Any error rolls all of
it back.

`record_decision` is the one applier of the workflow's effects to rows; `app/workflow/apply.py` says what each
effect means on a snapshot, and tests/services/test_rows_match_workflow.py holds the two to the same result.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.models import Case, CaseHistory, Deadline, Panel, PanelSeat
from app.security.permissions import Principal
from app.services import audit
from app.services.case_access import case_ties, visible_cases
from app.services.case_keys import CaseCipher, cipher_unless_erased, seal_text_or_none
from app.services.context import ServiceContext
from app.services.errors import Forbidden, NotFound
from app.workflow import (
    AgeOutcome,
    CaseSnapshot,
    CloseReason,
    DeadlineKind,
    DeadlineSnapshot,
    Decision,
    FormalOutcome,
    PanelMember,
    PanelSnapshot,
    Sector,
    State,
    Vote,
    model,
)
from app.workflow.authority import reads_personal_data
from app.workflow.states import RIGHT_KINDS, TERMINAL_STATES

#: Who acted, as the history row records it: (user id, organisation id), or (None, None) for the system.
ActorIds = tuple[uuid.UUID | None, uuid.UUID | None]
SYSTEM_IDS: ActorIds = (None, None)

#: The deadline kinds the workflow runs; service deadlines (`service_<need>`, app/services/support.py) are not.
WORKFLOW_DEADLINE_KINDS = frozenset(k.value for k in DeadlineKind)


def audit_actor_of(principal: Principal) -> audit.AuditActor:
    return audit.AuditActor(str(principal.user_id), str(principal.organisation_id))


def actor_ids_of(principal: Principal) -> ActorIds:
    return principal.user_id, principal.organisation_id


# --- loading and need-to-know ------------------------------------------------------------------------------


def load_visible_case(session: Session, principal: Principal, case_id: uuid.UUID, *, for_update: bool) -> Case:
    """The case with its deadlines, if the caller may know of it (else 'no such case', whether it exists or
    not). `for_update` locks the row until the transaction ends: use it in every use-case that writes."""
    if for_update:
        query = select(Case).options(selectinload(Case.deadlines)).with_for_update(of=Case)
    else:
        # A read takes the deadlines in the case's own statement: one round trip fewer. A write may not: the
        # deadlines joined to a row whose lock it waited for would be those of its snapshot, not the committed
        # ones that the separate statement after the lock reads.
        query = select(Case).options(joinedload(Case.deadlines))
    case = session.execute(query.where(Case.id == case_id, visible_cases(principal))).unique().scalar_one_or_none()
    if case is None:
        raise NotFound("no such case")
    return case


def has_need_to_know(session: Session, principal: Principal, case: Case) -> bool:
    """May this caller read the personal data of this case (identity, documents, support texts)?"""
    return reads_personal_data(principal.actor, case_ties(session, case))


def require_need_to_know(session: Session, principal: Principal, case: Case, what: str) -> None:
    """Refuse (403) a caller without need-to-know; `what` names what they asked for, e.g. "this case's support"."""
    if not has_need_to_know(session, principal, case):
        raise Forbidden(f"you have no need-to-know for {what}")


def cipher_of(session: Session, ctx: ServiceContext, case: Case) -> CaseCipher | None:
    """The case's cipher, or None once erased (a text sent after erasure is dropped, never kept in clear)."""
    return cipher_unless_erased(session, ctx.keyring, case.id, case.erased_at is not None)


def cipher_for_reader(session: Session, ctx: ServiceContext, principal: Principal, case: Case) -> CaseCipher | None:
    """The case's cipher for a reader with need-to-know; None for anyone else (they see codes and dates only)."""
    return cipher_of(session, ctx, case) if has_need_to_know(session, principal, case) else None


# --- the workflow's view of a case -------------------------------------------------------------------------


def current_panel(session: Session, case_id: uuid.UUID) -> Panel | None:
    """The panel that sits on the case now, if any."""
    return session.scalar(
        select(Panel).where(Panel.case_id == case_id, Panel.dissolved_at.is_(None)).order_by(Panel.convened_at.desc())
    )


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


def _member(seat: PanelSeat) -> PanelMember:
    return PanelMember(
        user_id=str(seat.user_id),
        organisation_id=str(seat.organisation_id),
        sector=Sector(seat.sector),
    )


def deadline_snapshots(case: Case) -> tuple[DeadlineSnapshot, ...]:
    """The case's workflow deadlines (not the service referrals' own) as the workflow sees them."""
    return tuple(_deadline_snapshot(d) for d in case.deadlines if d.kind in WORKFLOW_DEADLINE_KINDS)


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
        reconsiderations_held=case.reconsiderations_held,
        review_done=case.review_done,
        second_check_pending=case.second_check_pending,
        deadlines=deadline_snapshots(case),
        formal_outcome=FormalOutcome(case.formal_outcome) if case.formal_outcome else None,
        close_reason=CloseReason(case.close_reason) if case.close_reason else None,
        personal_data_erased=case.erased_at is not None,
    )


def load_snapshot(session: Session, case: Case) -> CaseSnapshot:
    return snapshot_of(case, current_panel(session, case.id))


# --- applying a decision -----------------------------------------------------------------------------------


def apply_decision(
    session: Session, ctx: ServiceContext, case: Case, decision: Decision, actor_ids: ActorIds, now: datetime
) -> None:
    """A decision on an existing case: its effects and history row, and the case's next version. The audit
    entry is appended apart (`append_decision_audit`), last."""
    record_decision(session, case, decision, cipher_of(session, ctx, case), actor_ids, now)
    case.version += 1
    case.updated_at = now


def commit_decision(
    session: Session,
    ctx: ServiceContext,
    case: Case,
    decision: Decision,
    actor: audit.AuditActor,
    actor_ids: ActorIds,
    now: datetime,
) -> None:
    """`apply_decision` then `append_decision_audit`, for a use-case with nothing to do in between."""
    apply_decision(session, ctx, case, decision, actor_ids, now)
    append_decision_audit(session, ctx, case, decision, actor, now)


def record_decision(
    session: Session,
    case: Case,
    decision: Decision,
    cipher: CaseCipher | None,
    actor_ids: ActorIds,
    now: datetime,
) -> None:
    """Apply the workflow's effects to the rows in order, then write the history row; free texts (reasons,
    notes, rationales) are stored encrypted with the case key, never in clear."""
    texts: dict[str, str] = {}
    _apply_effects(session, case, decision, cipher, now, texts)
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
            facts=facts_of(decision),
            text_blob=cipher.seal_json("history_text", texts) if texts and cipher is not None else None,
        )
    )


def _unclosed(case: Case, kind: DeadlineKind) -> Deadline:
    for row in case.deadlines:
        if row.kind == kind.value and row.met_at is None and row.cancelled_at is None:
            return row
    raise AssertionError(f"the workflow addressed a {kind.value} deadline the case does not hold")


def _record_outcome(case: Case, stage: str, outcome: str, now: datetime) -> None:
    """The decision that stands (`preliminary_*`, `formal_*`), and each decision apart: the first preliminary
    and the first formal decision are never overwritten, the review decision has its own columns."""
    if stage == "preliminary":
        case.preliminary_outcome, case.preliminary_decided_at = outcome, now
        if case.first_preliminary_outcome is None:
            case.first_preliminary_outcome, case.first_preliminary_decided_at = outcome, now
        return
    case.formal_outcome, case.formal_decided_at = outcome, now
    if stage == "review":
        case.review_outcome, case.review_decided_at = outcome, now
    elif case.first_formal_outcome is None:
        case.first_formal_outcome, case.first_formal_decided_at = outcome, now


def _seat(panel: Panel | None, user_id: str) -> PanelSeat:
    assert panel is not None, "the workflow sent a panel effect without a panel"
    for seat in panel.members:
        if str(seat.user_id) == user_id:
            return seat
    raise AssertionError("the workflow addressed a seat the panel does not have")


def _apply_effects(
    session: Session,
    case: Case,
    decision: Decision,
    cipher: CaseCipher | None,
    now: datetime,
    texts: dict[str, str],
) -> None:
    """The effects in order; free texts are collected in `texts` for the history row."""
    # A case not yet in the database (a referral being made) has no panel: no statement (and no early flush).
    panel = None if inspect(case).pending else current_panel(session, case.id)
    for effect in decision.effects:
        match effect:
            case model.OpenDeadline(kind, opened_at, due_at):
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
            case model.MeetDeadline(kind, at):
                _unclosed(case, kind).met_at = at
            case model.CancelDeadline(kind, at):
                # A cancelled duty is no longer paused either (as `app/workflow/apply.py` has it).
                row = _unclosed(case, kind)
                row.cancelled_at, row.paused_at, row.remaining_seconds = at, None, None
            case model.PauseDeadline(kind, at, remaining):
                row = _unclosed(case, kind)
                row.paused_at, row.remaining_seconds = at, int(remaining.total_seconds())
            case model.ResumeDeadline(kind, at, new_due_at):
                row = _unclosed(case, kind)
                assert row.paused_at is not None
                row.paused_seconds += int((at - row.paused_at).total_seconds())
                row.due_at, row.paused_at, row.remaining_seconds = new_due_at, None, None
            case model.SetAssessor(assessor_id):
                case.assessor_id = uuid.UUID(assessor_id) if assessor_id else None
            case model.RecordPreviousAssessor(assessor_id):
                case.previous_assessor_ids = sorted({*case.previous_assessor_ids, assessor_id})
            case model.ConvenePanel(members, is_review):
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
            case model.DissolvePanel(at):
                if panel is not None:
                    panel.dissolved_at = at
            case model.RecordConflict(user_id, reason):
                seat = _seat(panel, user_id)
                seat.conflict_declared_at = now
                seat.text_blob = seal_text_or_none(cipher, "panel_conflict", reason)
            case model.RecordVote(user_id, vote, rationale):
                seat = _seat(panel, user_id)
                seat.vote, seat.voted_at = vote.value, now
                seat.text_blob = seal_text_or_none(cipher, "panel_rationale", rationale)
            case model.SetEarlyDecisionRequested():
                case.early_decision_requested = True
            case model.SetChild(is_child):
                case.is_child = is_child
            case model.SetAgeAssessed(outcome):
                case.age_assessed, case.age_disputed = outcome.value, False
            case model.SetConsent(given):
                case.consent_given = given
            case model.RecordOutcome(stage, outcome, reasons):
                _record_outcome(case, stage, outcome, now)
                if reasons:
                    texts["reasons"] = reasons
            case model.SetStateBeforeSuspension(state):
                case.state_before_suspension = state.value if state else None
            case model.MarkReconsiderationDone(held, used_up):
                case.reconsiderations_held, case.reconsideration_done = held, used_up
            case model.MarkReviewDone():
                case.review_done = True
            case model.AwaitSecondCheck(pending):
                case.second_check_pending = pending
            case model.SetClosure(reason, risk_assessment, best_interests):
                case.close_reason = reason.value
                if risk_assessment:
                    texts["risk_assessment"] = risk_assessment
                if best_interests:
                    texts["best_interests_determination"] = best_interests
            case model.ClearClosure():
                # Reopened: no longer closed, so retention, erasure and service requests see an open case.
                case.close_reason, case.ended_at = None, None
            case model.RecordNote(text):
                texts["note"] = text
            case _:
                raise AssertionError(f"an effect the service does not apply: {type(effect).__name__}")
    case.state = decision.new_state.value
    if decision.new_state in TERMINAL_STATES and case.ended_at is None:
        case.ended_at = now
        # Service deadlines are not the workflow's: the end of the case cancels those still open.
        for row in case.deadlines:
            if row.kind not in WORKFLOW_DEADLINE_KINDS and row.met_at is None and row.cancelled_at is None:
                row.cancelled_at = now


# --- the audit entry ---------------------------------------------------------------------------------------


def facts_of(decision: Decision) -> dict[str, Any]:
    """The decision's facts as JSON (names and codes only, never personal data)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in decision.facts.items()}


def append_audit(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    action: str,
    *,
    details: dict[str, Any],
    now: datetime,
    case: Case | None = None,
) -> None:
    """An audit entry of this caller's action (about `case`, if any), appended last in the use-case's
    transaction; `details` hold codes and ids, never personal data."""
    audit.append(
        session,
        ctx.keyring,
        time=now,
        actor=audit_actor_of(principal),
        action=action,
        case_id=str(case.id) if case is not None else None,
        details=details,
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
        details={**facts_of(decision), "version": case.version},
    )
