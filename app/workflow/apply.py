"""The reference meaning of every effect: `apply_decision(snapshot, decision)` gives the next snapshot.

The service applies effects to rows inside one transaction; this pure version says what that must amount to,
and the workflow's own tests replay long event sequences through it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from app.workflow import model
from app.workflow.deadlines import DeadlineSnapshot
from app.workflow.model import CaseSnapshot, Decision, Effect, Referral
from app.workflow.panels import PanelSnapshot
from app.workflow.states import DeadlineKind, FormalOutcome


def _update(
    deadlines: tuple[DeadlineSnapshot, ...], kind: DeadlineKind, **changes: object
) -> tuple[DeadlineSnapshot, ...]:
    updated = []
    found = False
    for deadline in deadlines:
        if deadline.kind is kind and not deadline.is_closed and not found:
            deadline = replace(deadline, **changes)  # type: ignore[arg-type]
            found = True
        updated.append(deadline)
    if not found:
        raise ValueError(f"no open deadline of kind {kind.value}")
    return tuple(updated)


def apply_effect(case: CaseSnapshot, effect: Effect) -> CaseSnapshot:
    """One effect applied to a snapshot; effects that only store text leave the snapshot as it is."""
    match effect:
        case model.SetAssessor(assessor_id=assessor_id):
            return replace(case, assessor_id=assessor_id)
        case model.RecordPreviousAssessor(assessor_id=assessor_id):
            return replace(case, previous_assessor_ids=case.previous_assessor_ids | {assessor_id})
        case model.OpenDeadline(kind=kind, opened_at=opened_at, due_at=due_at):
            if any(d.kind is kind and not d.is_closed for d in case.deadlines):
                raise ValueError(f"a {kind.value} deadline is already open")
            return replace(case, deadlines=(*case.deadlines, DeadlineSnapshot(kind, opened_at, due_at)))
        case model.MeetDeadline(kind=kind, at=at):
            return replace(case, deadlines=_update(case.deadlines, kind, met_at=at))
        case model.CancelDeadline(kind=kind, at=at):
            return replace(
                case, deadlines=_update(case.deadlines, kind, cancelled_at=at, paused_at=None, remaining=None)
            )
        case model.PauseDeadline(kind=kind, at=at, remaining=remaining):
            return replace(case, deadlines=_update(case.deadlines, kind, paused_at=at, remaining=remaining))
        case model.ResumeDeadline(kind=kind, new_due_at=new_due_at):
            return replace(
                case,
                deadlines=_update(case.deadlines, kind, due_at=new_due_at, paused_at=None, remaining=None),
            )
        case model.ConvenePanel(members=members, is_review=is_review):
            first = case.first_panel_member_ids
            if not is_review:
                first = first | {m.user_id for m in members}
            return replace(
                case, panel=PanelSnapshot(members=members, is_review=is_review), first_panel_member_ids=first
            )
        case model.DissolvePanel():
            return replace(case, panel=None)
        case model.RecordConflict(user_id=user_id, reason=reason):
            assert case.panel is not None
            conflicts = {**case.panel.conflicts, user_id: reason}
            return replace(case, panel=replace(case.panel, conflicts=conflicts))
        case model.RecordVote(user_id=user_id, vote=vote):
            assert case.panel is not None
            votes = {**case.panel.votes, user_id: vote}
            return replace(case, panel=replace(case.panel, votes=votes))
        case model.SetEarlyDecisionRequested():
            return replace(case, early_decision_requested=True)
        case model.SetChild(is_child=is_child):
            return replace(case, is_child=is_child)
        case model.SetAgeAssessed(outcome=outcome):
            return replace(case, age_assessed=outcome, age_disputed=False)
        case model.SetConsent(given=given):
            return replace(case, consent_given=given)
        case model.SetStateBeforeSuspension(state=state):
            return replace(case, state_before_suspension=state)
        case model.MarkReconsiderationDone(held=held, used_up=used_up):
            return replace(case, reconsiderations_held=held, reconsideration_done=used_up)
        case model.MarkReviewDone():
            return replace(case, review_done=True)
        case model.AwaitSecondCheck(pending=pending):
            return replace(case, second_check_pending=pending)
        case model.RecordOutcome(stage=stage, outcome=outcome) if stage != "preliminary":
            return replace(case, formal_outcome=FormalOutcome(outcome))
        case model.SetClosure(reason=reason):
            return replace(case, close_reason=reason)
        case model.ClearClosure():
            return replace(case, close_reason=None)
        case _:
            return case


def apply_decision(case: CaseSnapshot, decision: Decision) -> CaseSnapshot:
    """The snapshot after a decision: its effects in order, then its new state."""
    for effect in decision.effects:
        case = apply_effect(case, effect)
    return replace(case, state=decision.new_state)


def new_case(
    case_id: str, referring_organisation_id: str, referral: Referral, decision: Decision, now: datetime
) -> CaseSnapshot:
    """The snapshot of a case a referral decision creates (classification from the referral itself)."""
    empty = CaseSnapshot(
        id=case_id,
        state=decision.new_state,
        created_at=now,
        referring_organisation_id=referring_organisation_id,
        age_disputed=referral.age_disputed,
        unaccompanied=referral.unaccompanied,
        shelter_needed=referral.shelter_needed,
    )
    return apply_decision(empty, decision)
