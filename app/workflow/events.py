"""Every event of the case workflow, one record each: its transitions, who may send it, its fields, what the
case or the time holds back (its guard) and what it does (its handler).

Adding an event means a name in `EventName` and one record here (with its rows of the transitions table);
`app/workflow/machine.py` builds the machine from these rows and `decide` reads the rest.

Senders are relations to the case (`app/workflow/authority.py`): a role that can hold none of them may never
send the event (`forbidden`, checked first); a role that could, but holds no such relation to this case, is
refused too (`forbidden`, checked once the state accepts the event). Guards answer `held_back`; handlers
answer `invalid` when the event's own fields are wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from app.workflow.authority import Relation, may_hold
from app.workflow.deadlines import find_unclosed, right_is_running
from app.workflow.model import (
    AwaitSecondCheck,
    CancelDeadline,
    CarriedOver,
    CaseSnapshot,
    ClearClosure,
    ConvenePanel,
    DissolvePanel,
    Effect,
    FactValue,
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
    Refusal,
    SetAgeAssessed,
    SetAssessor,
    SetChild,
    SetClosure,
    SetConsent,
    SetEarlyDecisionRequested,
    SetStateBeforeSuspension,
    forbidden,
    held_back,
    invalid,
)
from app.workflow.panels import (
    all_abstained,
    can_still_decide,
    composition_problems,
    decision_problems,
    may_abstain,
    outcome,
    overlap_problems,
)
from app.workflow.policy import Policy, Recognition
from app.workflow.states import (
    ACTIVE_STATES,
    CHILD_AGE_BANDS,
    CHILD_DUTY_KINDS,
    OPEN_STATES,
    AgeOutcome,
    CloseReason,
    DeadlineKind,
    EventName,
    FormalOutcome,
    PreliminaryOutcome,
    ReopenReason,
    State,
    Vote,
)
from app.workflow.steps import (
    Context,
    Guard,
    Handler,
    Step,
    day,
    end_case,
    meet,
    note,
    open_deadline,
    resume,
    step,
    text,
    utc,
    window_lapsed,
)

E = EventName
S = State
K = DeadlineKind
R = Relation
_ACTIVE = tuple(sorted(ACTIVE_STATES))
_OPEN = tuple(sorted(OPEN_STATES))


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the transitions table: from `source`, to `dest` (None: the state stays), taken when the
    handler answers with `branch` (None when the event has a single way out of a state)."""

    source: tuple[State, ...]
    dest: State | None
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class EventRule:
    """Everything about one event. `fields` are the `EventRequest` fields it reads (the API contract's events
    table); `by` and `rule` are written for docs/workflow.md, next to the senders they describe."""

    name: EventName
    transitions: tuple[Transition, ...]
    senders: frozenset[Relation]
    fields: tuple[str, ...]
    handler: Handler
    guard: Guard | None = None
    system: bool = False  # the scheduled job may send it too
    by: str = ""
    rule: str = ""
    opens: tuple[DeadlineKind, ...] = ()
    meets: tuple[DeadlineKind, ...] = ()
    creates: tuple[State, ...] = ()  # an event that makes a new case: the states it may start in


_CLAIMANTS = frozenset({R.referring_organisation, R.assigned_caseworker})
_COORDINATOR = frozenset({R.coordinator})
_PANEL = frozenset({R.open_panel_member})
_LAPSE_REASONS = frozenset({CloseReason.no_reconsideration, CloseReason.no_review})
# A suspended case can only end for reasons that do not need the person: lost, moved on, or dead.
_SUSPENDED_CLOSE_REASONS = frozenset({CloseReason.lost_contact, CloseReason.transferred, CloseReason.deceased})
_SYSTEM_LAPSE_ONLY = "the system closes only lapsed reconsideration or review windows"


# ---------------------------------------------------------------------------------------------- referral


def is_presumed_child(referral: Referral, now: datetime, policy: Policy) -> bool:
    """Anyone who may be a child is presumed one (CETS 197 art. 10(3)): an under-18 age band, a date of birth
    under 18 at `now` (local date of the jurisdiction), or a disputed age."""
    if referral.age_disputed or referral.age_band in CHILD_AGE_BANDS:
        return True
    if referral.date_of_birth is not None:
        today = policy.calendar.local_date(now)
        birth = referral.date_of_birth
        age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        return age < 18
    return False


def _referral(ctx: Context) -> Step | Refusal:
    referral = ctx.event.referral or Referral()
    birth = referral.date_of_birth
    if birth is not None and birth > ctx.policy.calendar.local_date(ctx.now):
        return invalid("date_of_birth_in_future", "the date of birth is after today", None)
    is_child = is_presumed_child(referral, ctx.now, ctx.policy)
    if not is_child and not referral.consent_given:
        return invalid(
            "consent_required",
            "an adult who does not give informed consent is not registered: file an anonymous notification instead",
            None,
        )
    case, now, policy = replace(ctx.case, is_child=is_child), ctx.now, ctx.policy
    effects: list[Effect] = [SetChild(is_child), SetConsent(referral.consent_given)]
    effects += open_deadline(case, K.preliminary_decision, now, policy)
    if is_child:
        effects += open_deadline(case, K.child_protection_referral, now, policy)
        if referral.unaccompanied:
            effects += open_deadline(case, K.guardian_appointment, now, policy)
        if referral.shelter_needed:
            effects += open_deadline(case, K.shelter_offer, now, policy)
    elif referral.shelter_needed and policy.emergency_shelter_before_preliminary_decision:
        # An adult with nowhere safe to stay is not left outside while the decision is taken (policy setting).
        effects += open_deadline(case, K.emergency_shelter, now, policy)
    return step(effects, is_child=is_child, age_disputed=referral.age_disputed)


REFERRAL = EventRule(
    E.referral,
    transitions=(),  # it creates a case, in the machine's initial state
    senders=frozenset({R.referring_organisation}),
    fields=("referral",),
    handler=_referral,
    by="any referrer: their organisation becomes the referring one",
    rule="adult: informed consent, else file an anonymous notification; a (presumed) child needs none; "
    "an adult with nowhere safe to stay gets emergency shelter where the policy says so",
    opens=(
        K.preliminary_decision,
        K.child_protection_referral,
        K.guardian_appointment,
        K.shelter_offer,
        K.emergency_shelter,
    ),
    creates=(S.referred,),
)


# --------------------------------------------------------------------------------------- assign_assessor


def _assign_assessor(ctx: Context) -> Step | Refusal:
    assessor = ctx.event.assessor
    if assessor is None:
        return invalid("assessor_missing", "name the assessor to assign", ctx.state)
    if not may_hold(R.assigned_assessor, assessor.roles):
        return invalid("not_an_assessor", "the user does not hold the assessor role", ctx.state)
    if assessor.sector not in ctx.policy.assessor_sectors:
        allowed = ", ".join(ctx.policy.assessor_sectors)
        return invalid("sector_not_allowed", f"assessors must come from: {allowed}", ctx.state)
    if assessor.user_id in ctx.case.previous_assessor_ids:
        return invalid("same_assessor", "a reconsideration needs a different assessor", ctx.state)
    if assessor.user_id == ctx.case.assessor_id:
        return held_back("already_assigned", "this assessor is already assigned", ctx.state)
    effects: list[Effect] = [SetAssessor(assessor.user_id)]
    if find_unclosed(ctx.case.deadlines, K.preliminary_decision) is None:
        effects += open_deadline(ctx.case, K.preliminary_decision, ctx.now, ctx.policy)
    return step(effects, assessor_id=assessor.user_id, assessor_sector=assessor.sector.value)


ASSIGN_ASSESSOR = EventRule(
    E.assign_assessor,
    transitions=(Transition((S.referred, S.preliminary_assessment), S.preliminary_assessment),),
    senders=_COORDINATOR,
    fields=("assessor",),
    handler=_assign_assessor,
    rule="the assessee holds `assessor` in a sector the policy allows; after reconsideration, a new assessor",
)


# ---------------------------------------------------------------------------------- preliminary_decision


def may_still_reconsider(case: CaseSnapshot, policy: Policy) -> bool:
    """Whether a negative preliminary decision opens a reconsideration window: the policy's
    `reconsiderations_allowed` are not all used (issue 12, point 8)."""
    return not case.reconsideration_done and case.reconsiderations_held < policy.reconsiderations_allowed


def _preliminary_decision(ctx: Context) -> Step | Refusal:
    result = ctx.event.outcome
    if not isinstance(result, PreliminaryOutcome):
        return invalid("outcome_missing", "the outcome must be positive or negative", ctx.state)
    reasons = text(ctx.event.reasons)
    if reasons is None:
        return invalid("reasons_missing", "a preliminary decision needs written reasons", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    checked = case.second_check_pending
    if result is PreliminaryOutcome.negative and policy.second_check_of_negative_preliminary and not checked:
        # Not in effect yet (uk since December 2022): another assessor decides again, and the decision is due
        # by the same deadline, which stays open until a decision takes effect.
        effects: list[Effect] = [RecordOutcome("preliminary", result.value, reasons), AwaitSecondCheck(True)]
        if case.assessor_id is not None:
            effects += [RecordPreviousAssessor(case.assessor_id), SetAssessor(None)]
        return step(effects, "second_check", outcome=result.value, second_check=True)
    effects = meet(case, K.preliminary_decision, now, policy)
    effects.append(RecordOutcome("preliminary", result.value, reasons))
    if checked:
        effects.append(AwaitSecondCheck(False))
    if result is PreliminaryOutcome.positive:
        effects += open_deadline(case, K.reflection_period, now, policy)
        effects += open_deadline(case, K.panel_convening, now, policy)
        has_shelter_deadline = any(d.kind is K.shelter_offer for d in case.deadlines)
        if case.shelter_needed and not has_shelter_deadline:
            effects += open_deadline(case, K.shelter_offer, now, policy)
    elif may_still_reconsider(case, policy):
        effects += open_deadline(case, K.reconsideration_window, now, policy)
    return step(effects, result.value, outcome=result.value, second_check=checked)


PRELIMINARY_DECISION = EventRule(
    E.preliminary_decision,
    transitions=(
        Transition((S.preliminary_assessment,), S.recovery_period, "positive"),
        Transition((S.preliminary_assessment,), S.preliminary_negative, "negative"),
        # Under a policy with a second check (uk) a negative decision waits for another assessor's.
        Transition((S.preliminary_assessment,), None, "second_check"),
    ),
    senders=frozenset({R.assigned_assessor}),
    fields=("outcome", "reasons"),
    handler=_preliminary_decision,
    rule="written reasons; positive opens protection and the reflection period; under a second-check policy "
    "a first negative decision waits for another assessor's",
    opens=(K.reflection_period, K.panel_convening, K.shelter_offer, K.reconsideration_window),
    meets=(K.preliminary_decision,),
)


# ------------------------------------------------------------------------------- request_reconsideration


def _within_window(kind: DeadlineKind, what: str, used: Refusal) -> Guard:
    """A request the person may make while its window runs, as often as the policy allows (a review once):
    `used` says none is left."""

    def guard(ctx: Context) -> Refusal | None:
        if kind is K.reconsideration_window:
            done = not may_still_reconsider(ctx.case, ctx.policy)
        else:
            done = ctx.case.review_done
        if done:
            return replace(used, state=ctx.state)
        window = find_unclosed(ctx.case.deadlines, kind)
        if window is None or ctx.now >= window.due_at:
            return held_back("window_closed", f"the {what} window is closed", ctx.state)
        return None

    return guard


_pre_request_reconsideration = _within_window(
    K.reconsideration_window,
    "reconsideration",
    held_back("reconsideration_used", "no reconsideration is left under this policy", None),
)


def _request_reconsideration(ctx: Context) -> Step | Refusal:
    reasons = text(ctx.event.reasons)
    if reasons is None:
        return invalid("reasons_missing", "state the new evidence for the reconsideration", ctx.state)
    case, now = ctx.case, ctx.now
    held = case.reconsiderations_held + 1
    used_up = held >= ctx.policy.reconsiderations_allowed
    effects: list[Effect] = [MeetDeadline(K.reconsideration_window, now), MarkReconsiderationDone(held, used_up)]
    if case.assessor_id is not None:
        effects += [RecordPreviousAssessor(case.assessor_id), SetAssessor(None)]
    effects += open_deadline(case, K.preliminary_decision, now, ctx.policy)
    effects.append(RecordNote(reasons))
    return step(effects)


REQUEST_RECONSIDERATION = EventRule(
    E.request_reconsideration,
    transitions=(Transition((S.preliminary_negative,), S.preliminary_assessment),),
    senders=_CLAIMANTS,
    fields=("reasons",),
    guard=_pre_request_reconsideration,
    handler=_request_reconsideration,
    rule="window open; new evidence stated; as many times as the policy's `reconsiderations_allowed` (one by "
    "default); a different assessor decides",
    opens=(K.preliminary_decision,),
    meets=(K.reconsideration_window,),
)


# ---------------------------------------------------------------------------------------- convene_panel


def _pre_convene_panel(ctx: Context) -> Refusal | None:
    panel = ctx.case.panel
    if ctx.state is S.recovery_period or panel is None:
        return None
    rules = ctx.panel_rules(panel.is_review)
    if ctx.state is S.under_review and not panel.is_review:
        return None
    if all_abstained(panel, rules):
        return None  # it decided nothing: convened again (the same members may sit), it votes again
    if can_still_decide(panel, rules, ctx.case.referring_organisation_id, ctx.case.is_child):
        return held_back("panel_sitting", "a panel already sits and can still decide", ctx.state)
    return None


def _convene_panel(ctx: Context) -> Step | Refusal:
    case, now, policy = ctx.case, ctx.now, ctx.policy
    is_review = ctx.state is S.under_review
    members = ctx.event.members
    problems = composition_problems(members, ctx.panel_rules(is_review), case.referring_organisation_id, case.is_child)
    if is_review:
        problems += overlap_problems(members, case.first_panel_member_ids)
    if case.panel is not None:
        # Someone who declared a conflict on this case does not sit on its replacement panel.
        problems += [f"member {m.user_id} declared a conflict" for m in members if m.user_id in case.panel.conflicts]
    if problems:
        return invalid("panel_composition", "; ".join(problems), ctx.state)
    effects: list[Effect] = [ConvenePanel(tuple(members), is_review)]
    effects += meet(case, K.panel_convening, now, policy)
    if ctx.state is S.recovery_period:
        # The decision may not come before the reflection period ends, so its clock counts from then.
        reflection = find_unclosed(case.deadlines, K.reflection_period)
        start = now
        if reflection is not None and not case.early_decision_requested and reflection.due_at > now:
            start = reflection.due_at
        effects += open_deadline(case, K.formal_decision, now, policy, start=start)
    facts: dict[str, FactValue] = {
        "is_review": is_review,
        "member_ids": tuple(m.user_id for m in members),
        "sectors": tuple(sorted({m.sector.value for m in members})),
    }
    return step(effects, **facts)


CONVENE_PANEL = EventRule(
    E.convene_panel,
    transitions=(
        Transition((S.recovery_period,), S.formal_assessment),
        # Re-convening replaces a panel that conflicts left unable to decide (else the case would stall).
        Transition((S.formal_assessment, S.under_review), None),
    ),
    senders=_COORDINATOR,
    fields=("members",),
    guard=_pre_convene_panel,
    handler=_convene_panel,
    rule="composition rules; a review panel shares no member with the first; re-convene only a panel "
    "that can no longer decide, or whose votes were all abstentions (it decided nothing: it votes again)",
    opens=(K.formal_decision,),
    meets=(K.panel_convening,),
)


# ------------------------------------------------------------------------------- request_early_decision


def _pre_request_early_decision(ctx: Context) -> Refusal | None:
    if not ctx.policy.early_decision_allowed:
        return held_back("early_decision_not_allowed", "this policy does not allow an early decision", ctx.state)
    if ctx.case.early_decision_requested:
        return held_back("already_requested", "an early decision was already requested", ctx.state)
    if not right_is_running(ctx.case.deadlines, K.reflection_period, ctx.now):
        return held_back("reflection_period_over", "the reflection period is over: no early decision needed", ctx.state)
    return None


def _person_request_problem(ctx: Context, what: str) -> Refusal | None:
    """A request of the person is recorded, never assumed: how it was expressed and when, not in the
    future nor before the case existed (issue 12, point 7)."""
    request = ctx.event.person_request
    if request is None:
        return invalid(
            "request_missing",
            f"record how and when the person asked for {what} (in_writing, orally or through_representative)",
            ctx.state,
        )
    if utc(request.at) > ctx.now:
        return invalid("request_in_future", "the person's request cannot be after now", ctx.state)
    if utc(request.at) < ctx.case.created_at:
        return invalid("request_before_case", "the person's request cannot be before the referral", ctx.state)
    return None


def _request_facts(ctx: Context) -> dict[str, FactValue]:
    request = ctx.event.person_request
    assert request is not None
    return {
        "request_how": request.how.value,
        "requested_at": utc(request.at).isoformat(),
        "recorded_by": ctx.actor.user_id,
    }


def _request_early_decision(ctx: Context) -> Step | Refusal:
    problem = _person_request_problem(ctx, "an early decision")
    if problem is not None:
        return problem
    return step([SetEarlyDecisionRequested(ctx.now), *note(ctx.event.note)], **_request_facts(ctx))


REQUEST_EARLY_DECISION = EventRule(
    E.request_early_decision,
    transitions=(Transition((S.recovery_period, S.formal_assessment), None),),
    senders=_COORDINATOR,
    fields=("person_request", "note"),
    guard=_pre_request_early_decision,
    handler=_request_early_decision,
    by="recording the person's own request",
    rule="policy allows it; while the reflection period runs; how (in writing, orally, through a representative) "
    "and when the person asked, recorded with who recorded it",
)


# ------------------------------------------------------------------------------ declare_conflict, cast_vote


def _pre_panel_member_act(ctx: Context) -> Refusal | None:
    panel = ctx.case.panel
    assert panel is not None  # the relation check guarantees it
    uid = ctx.actor.user_id
    if uid in panel.conflicts:
        return held_back("conflicted", "a member who declared a conflict does not vote", ctx.state)
    if uid in panel.votes:
        return held_back("already_voted", "this member has already voted", ctx.state)
    return None


def _declare_conflict(ctx: Context) -> Step | Refusal:
    reason = text(ctx.event.reason)
    if reason is None:
        return invalid("reason_missing", "a conflict needs a stated reason", ctx.state)
    return step([RecordConflict(ctx.actor.user_id, reason)], member_id=ctx.actor.user_id)


DECLARE_CONFLICT = EventRule(
    E.declare_conflict,
    transitions=(Transition((S.formal_assessment, S.under_review), None),),
    senders=_PANEL,
    fields=("reason",),
    guard=_pre_panel_member_act,
    handler=_declare_conflict,
    rule="before voting; a reason; the member no longer votes",
)


def _cast_vote(ctx: Context) -> Step | Refusal:
    vote = ctx.event.vote
    if not isinstance(vote, Vote):
        return invalid("vote_missing", "the vote must be identify, not_identify or abstain", ctx.state)
    rationale = text(ctx.event.rationale)
    if rationale is None:
        return invalid("rationale_missing", "a vote needs a written rationale", ctx.state)
    panel = ctx.case.panel
    assert panel is not None  # the relation check guarantees it
    if vote is Vote.abstain and not may_abstain(panel):
        return invalid("abstention_not_allowed", "a lone decision maker decides: no abstention", ctx.state)
    return step([RecordVote(ctx.actor.user_id, vote, rationale)], member_id=ctx.actor.user_id, vote=vote.value)


CAST_VOTE = EventRule(
    E.cast_vote,
    transitions=(Transition((S.formal_assessment, S.under_review), None),),
    senders=_PANEL,
    fields=("vote", "rationale"),
    guard=_pre_panel_member_act,
    handler=_cast_vote,
    rule="one vote per member, with a rationale; not when conflicted; a lone decision maker cannot abstain",
)


# ------------------------------------------------------------------------- formal_decision, review_decision


def _panel_decision_problem(ctx: Context, is_review: bool) -> Refusal | None:
    panel = ctx.case.panel
    if panel is None or panel.is_review is not is_review:
        kind = "review panel" if is_review else "panel"
        return held_back("no_panel", f"no {kind} sits on this case", ctx.state)
    problems = decision_problems(
        panel, ctx.panel_rules(is_review), ctx.case.referring_organisation_id, ctx.case.is_child
    )
    if is_review:
        problems += overlap_problems(panel.members, ctx.case.first_panel_member_ids)
    if problems:
        return held_back("panel_cannot_decide", "; ".join(problems), ctx.state)
    if all_abstained(panel, ctx.panel_rules(is_review)):
        return held_back(
            "all_abstained",
            "every vote cast is an abstention: nobody voted for an outcome; convene the panel again to vote again",
            ctx.state,
        )
    return None


def _votes_facts(ctx: Context) -> dict[str, FactValue]:
    panel = ctx.case.panel
    assert panel is not None
    counted = [v for uid, v in panel.votes.items() if uid not in panel.conflicts]
    return {
        "votes_identify": counted.count(Vote.identify),
        "votes_not_identify": counted.count(Vote.not_identify),
        "votes_abstain": counted.count(Vote.abstain),
    }


def _pre_formal_decision(ctx: Context) -> Refusal | None:
    refusal = _panel_decision_problem(ctx, is_review=False)
    if refusal is not None:
        return refusal
    reflection = find_unclosed(ctx.case.deadlines, K.reflection_period)
    if reflection is not None and ctx.now < reflection.due_at and not ctx.case.early_decision_requested:
        # The reflection period is the person's right: only their own request lets the decision come first.
        return held_back(
            "reflection_period_running",
            f"the reflection period runs until {day(ctx.policy, reflection.due_at)}",
            ctx.state,
        )
    return None


def _formal_decision(ctx: Context) -> Step | Refusal:
    case, now, policy = ctx.case, ctx.now, ctx.policy
    panel = case.panel
    assert panel is not None
    result = outcome(panel, policy.panel)
    effects: list[Effect] = meet(case, K.formal_decision, now, policy)
    effects += [RecordOutcome("formal", result.value), DissolvePanel(now)]
    branch = result.value
    if result is FormalOutcome.not_identified:
        if policy.automatic_review:
            branch = "automatic_review"
            effects += open_deadline(case, K.panel_convening, now, policy)
            effects += open_deadline(case, K.review_decision, now, policy)
        else:
            effects += open_deadline(case, K.review_window, now, policy)
    else:
        effects += _support_plan_starts(case, now, policy)
    reflection = find_unclosed(case.deadlines, K.reflection_period)
    early = reflection is not None and now < reflection.due_at
    return step(
        effects,
        branch,
        outcome=result.value,
        early_decision=early,
        automatic_review=branch == "automatic_review",
        **_votes_facts(ctx),
    )


FORMAL_DECISION = EventRule(
    E.formal_decision,
    transitions=(
        Transition((S.formal_assessment,), S.identified, "identified"),
        Transition((S.formal_assessment,), S.not_identified, "not_identified"),
        # Under a policy with automatic review (uk) a negative formal decision goes straight to review.
        Transition((S.formal_assessment,), S.under_review, "automatic_review"),
    ),
    senders=_COORDINATOR,
    fields=(),
    guard=_pre_formal_decision,
    handler=_formal_decision,
    rule="quorum and composition hold; at least one vote for an outcome (all abstentions decide nothing); "
    "outcome from the votes; not before the reflection period ends "
    "unless the person asked for an early decision",
    opens=(K.review_window, K.panel_convening, K.review_decision, K.support_review),
    meets=(K.formal_decision,),
)


_pre_request_review = _within_window(
    K.review_window,
    "review",
    held_back("review_used", "the review decision is final: no second review", None),
)


def _request_review(ctx: Context) -> Step | Refusal:
    reasons = text(ctx.event.reasons)
    if reasons is None:
        return invalid("reasons_missing", "a review request needs stated reasons", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = [MeetDeadline(K.review_window, now)]
    effects += open_deadline(case, K.panel_convening, now, policy)
    effects += open_deadline(case, K.review_decision, now, policy)
    effects.append(RecordNote(reasons))
    return step(effects)


REQUEST_REVIEW = EventRule(
    E.request_review,
    transitions=(Transition((S.not_identified,), S.under_review),),
    senders=_CLAIMANTS,
    fields=("reasons",),
    guard=_pre_request_review,
    handler=_request_review,
    rule="window open; reasons stated; once",
    opens=(K.panel_convening, K.review_decision),
    meets=(K.review_window,),
)


def _pre_review_decision(ctx: Context) -> Refusal | None:
    return _panel_decision_problem(ctx, is_review=True)


def _review_decision(ctx: Context) -> Step | Refusal:
    case, now = ctx.case, ctx.now
    panel = case.panel
    assert panel is not None
    result = outcome(panel, ctx.policy.review_panel)
    effects: list[Effect] = meet(case, K.review_decision, now, ctx.policy)
    effects += [RecordOutcome("review", result.value), DissolvePanel(now), MarkReviewDone()]
    if result is FormalOutcome.identified:
        effects += _support_plan_starts(case, now, ctx.policy)
    return step(effects, result.value, outcome=result.value, **_votes_facts(ctx))


REVIEW_DECISION = EventRule(
    E.review_decision,
    transitions=(
        Transition((S.under_review,), S.identified, "identified"),
        Transition((S.under_review,), S.not_identified, "not_identified"),
    ),
    senders=_COORDINATOR,
    fields=(),
    guard=_pre_review_decision,
    handler=_review_decision,
    rule="review panel with no member of the first; same vote rules (all abstentions decide nothing); final",
    opens=(K.support_review,),
    meets=(K.review_decision,),
)


# -------------------------------------------------------------------------------- report_missing, found


def _report_missing(ctx: Context) -> Step | Refusal:
    case, now = ctx.case, ctx.now
    effects: list[Effect] = [SetStateBeforeSuspension(ctx.state)]
    for deadline in case.deadlines:
        # The missing-child report is the suspension's own duty: it must never wait for the child's return.
        if deadline.is_closed or deadline.is_right or deadline.is_paused or deadline.kind is K.missing_child_report:
            continue
        effects.append(PauseDeadline(deadline.kind, now, deadline.due_at - now))
    if case.is_child and find_unclosed(case.deadlines, K.missing_child_report) is None:
        effects += open_deadline(case, K.missing_child_report, now, ctx.policy)
    effects += note(ctx.event.note)
    return step(effects)


REPORT_MISSING = EventRule(
    E.report_missing,
    transitions=(Transition(_ACTIVE, S.suspended),),
    senders=frozenset({R.coordinator, R.referring_organisation, R.assigned_caseworker}),
    fields=("note",),
    handler=_report_missing,
    rule="duty clocks stop (rights run on); a missing child must be reported to the police",
    opens=(K.missing_child_report,),
)


def _pre_report_found(ctx: Context) -> Refusal | None:
    if ctx.case.state_before_suspension is None:
        return held_back("unknown_prior_state", "the case does not remember the state it left", ctx.state)
    return None


def _report_found(ctx: Context) -> Step | Refusal:
    case, now = ctx.case, ctx.now
    left = case.state_before_suspension
    assert left is not None
    effects: list[Effect] = []
    for deadline in case.deadlines:
        if deadline.is_paused and not deadline.is_closed:
            effects.append(resume(case, deadline, now, ctx.policy))
    effects += [SetStateBeforeSuspension(None), *note(ctx.event.note)]
    return step(effects, f"left_{left.value}")


REPORT_FOUND = EventRule(
    E.report_found,
    transitions=tuple(Transition((S.suspended,), state, f"left_{state.value}") for state in _ACTIVE),
    senders=_COORDINATOR,
    fields=("note",),
    guard=_pre_report_found,
    handler=_report_found,
    rule="back to the state it left; duty clocks resume with the time that remained",
)


# ----------------------------------------------------------------------------------------- withdraw_consent


def _pre_withdraw_consent(ctx: Context) -> Refusal | None:
    if ctx.case.is_child:
        return held_back(
            "child_cannot_withdraw",
            "a child (or presumed child) cannot withdraw: protection does not depend on consent",
            ctx.state,
        )
    return None


def _withdraw_consent(ctx: Context) -> Step | Refusal:
    problem = _person_request_problem(ctx, "the withdrawal of consent")
    if problem is not None:
        return problem
    effects: list[Effect] = [SetConsent(False), *end_case(ctx.case, ctx.now, ctx.policy), *note(ctx.event.note)]
    return step(effects, erasure_after_days=ctx.policy.withdrawal_grace_days, **_request_facts(ctx))


WITHDRAW_CONSENT = EventRule(
    E.withdraw_consent,
    transitions=(Transition(_OPEN, S.withdrawn),),
    senders=frozenset({R.coordinator, R.referring_organisation}),
    fields=("person_request", "note"),
    guard=_pre_withdraw_consent,
    handler=_withdraw_consent,
    by="recording the person's wish",
    rule="adults only; how and when the person asked, recorded with who recorded it; personal data erased "
    "after the policy's grace period",
)


# ------------------------------------------------------------------------------------------------- close


def _pre_close(ctx: Context) -> Refusal | None:
    case, now = ctx.case, ctx.now
    if ctx.actor.is_system and ctx.state not in (S.preliminary_negative, S.not_identified):
        return forbidden("system_lapse_only", _SYSTEM_LAPSE_ONLY, ctx.state)
    if ctx.state is S.preliminary_negative and not window_lapsed(
        case, K.reconsideration_window, case.reconsideration_done, now
    ):
        window = find_unclosed(case.deadlines, K.reconsideration_window)
        assert window is not None
        return held_back(
            "window_open",
            f"a reconsideration may still be requested until {day(ctx.policy, window.due_at)}",
            ctx.state,
        )
    if ctx.state is S.not_identified and not window_lapsed(case, K.review_window, case.review_done, now):
        window = find_unclosed(case.deadlines, K.review_window)
        assert window is not None
        return held_back(
            "window_open",
            f"a review may still be requested until {day(ctx.policy, window.due_at)}",
            ctx.state,
        )
    return None


def _close(ctx: Context) -> Step | Refusal:
    case, now = ctx.case, ctx.now
    try:
        reason = CloseReason(ctx.event.reason) if ctx.event.reason is not None else None
    except ValueError:
        reason = None
    if reason is None:
        return invalid("reason_missing", "a closure needs a reason code", ctx.state)
    if ctx.actor.is_system and reason not in _LAPSE_REASONS:
        return forbidden("system_lapse_only", _SYSTEM_LAPSE_ONLY, ctx.state)
    if reason is CloseReason.no_reconsideration and ctx.state is not S.preliminary_negative:
        return invalid("reason_not_applicable", "no_reconsideration closes a negative preliminary decision", ctx.state)
    if reason is CloseReason.no_review and ctx.state is not S.not_identified:
        return invalid("reason_not_applicable", "no_review closes a negative formal decision", ctx.state)
    if reason is CloseReason.support_completed and ctx.state is not S.identified:
        return invalid(
            "reason_not_applicable", "support_completed closes the support of an identified person", ctx.state
        )
    if ctx.state is S.suspended and reason not in _SUSPENDED_CLOSE_REASONS:
        return invalid(
            "reason_not_applicable",
            "a suspended case closes only as lost_contact, transferred or deceased",
            ctx.state,
        )
    risk = best = None
    if reason is CloseReason.voluntary_return:
        risk = text(ctx.event.risk_assessment)
        if risk is None:
            return invalid("risk_assessment_missing", "a voluntary return needs a recorded risk assessment", ctx.state)
        best = text(ctx.event.best_interests_determination)
        if case.is_child and best is None:
            return invalid(
                "best_interests_missing",
                "a child's voluntary return needs a best-interests determination",
                ctx.state,
            )
    effects: list[Effect] = [SetClosure(reason, risk, best), *end_case(case, now, ctx.policy)]
    return step(effects, reason=reason.value, retention_days=ctx.policy.retention_days_after_closure)


CLOSE = EventRule(
    E.close,
    # Closing a suspended case is an addition to domain.md: someone lost or deceased must be closable.
    transitions=(Transition((S.identified, S.preliminary_negative, S.not_identified, S.suspended), S.closed),),
    senders=_COORDINATOR,
    fields=("reason", "risk_assessment", "best_interests_determination"),
    guard=_pre_close,
    handler=_close,
    system=True,
    by="the system job: lapsed windows, and cases that can no longer move once the policy's "
    "`final_negative_closure_days` have passed",
    rule="a reason; voluntary return needs a risk assessment (a child: a best-interests determination); "
    "after a negative decision only once no reconsideration or review can follow",
)


# ------------------------------------------------------------------------------------------ age_assessed


def _age_assessed(ctx: Context) -> Step | Refusal:
    result = ctx.event.outcome
    if not isinstance(result, AgeOutcome):
        return invalid("outcome_missing", "the age assessment outcome must be adult or child", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = [SetAgeAssessed(result)]
    if result is AgeOutcome.child:
        if not case.is_child:
            effects.append(SetChild(True))
            child_case = _with_child(case)
            effects += open_deadline(child_case, K.child_protection_referral, now, policy)
            if case.unaccompanied:
                effects += open_deadline(child_case, K.guardian_appointment, now, policy)
        return step(effects, "assessed", outcome=result.value)
    consent = case.consent_given or ctx.event.consent_given is True
    if not case.consent_given and ctx.event.consent_given is None:
        return invalid(
            "consent_required",
            "adult rules now apply: state whether the person gives informed consent",
            ctx.state,
        )
    effects.append(SetChild(False))
    if not consent:
        # An adult who does not consent is counted, not registered: the case ends as withdrawn.
        effects += [SetConsent(False), *end_case(case, now, ctx.policy)]
        return step(effects, "adult_without_consent", outcome=result.value, consent=False)
    if not case.consent_given:
        effects.append(SetConsent(True))
    for deadline in case.deadlines:
        if deadline.kind in CHILD_DUTY_KINDS and not deadline.is_closed:
            effects.append(CancelDeadline(deadline.kind, now))
    return step(effects, "assessed", outcome=result.value)


def _with_child(case: CaseSnapshot) -> CaseSnapshot:
    return replace(case, is_child=True)


AGE_ASSESSED = EventRule(
    E.age_assessed,
    transitions=(
        Transition(_ACTIVE, None, "assessed"),
        # An adult after all, with no consent on record and none given: adult rules say the case cannot go on.
        Transition(_ACTIVE, S.withdrawn, "adult_without_consent"),
    ),
    senders=_COORDINATOR,
    fields=("outcome", "consent_given"),
    handler=_age_assessed,
    rule="`adult` ends the presumption of minority (consent now required); `child` confirms it",
    opens=(K.child_protection_referral, K.guardian_appointment),
)


# ----------------------------------------------------------------------------------- the protection steps


def _protection_step(name: EventName, kind: DeadlineKind, what: str) -> EventRule:
    """`child_protection_notified` and its kin: each meets the open deadline of its kind."""

    def guard(ctx: Context) -> Refusal | None:
        if find_unclosed(ctx.case.deadlines, kind) is None:
            return held_back("nothing_due", f"no {kind.value} deadline is open on this case", ctx.state)
        return None

    def handle(ctx: Context) -> Step | Refusal:
        return step(meet(ctx.case, kind, ctx.now, ctx.policy) + note(ctx.event.note), deadline_kind=kind.value)

    return EventRule(
        name,
        transitions=(Transition(_OPEN, None),),
        senders=frozenset({R.coordinator, R.assigned_caseworker}),
        fields=("note",),
        guard=guard,
        handler=handle,
        rule=f"{what} (a deadline of that kind is open)",
        meets=(kind,),
    )


CHILD_PROTECTION_NOTIFIED = _protection_step(
    E.child_protection_notified, K.child_protection_referral, "child protection services were told"
)
GUARDIAN_APPOINTED = _protection_step(
    E.guardian_appointed, K.guardian_appointment, "an unaccompanied child has a guardian"
)
SHELTER_OFFERED = _protection_step(E.shelter_offered, K.shelter_offer, "a safe place was offered")
POLICE_NOTIFIED = _protection_step(E.police_notified, K.missing_child_report, "the police were told a child is missing")
EMERGENCY_SHELTER_PROVIDED = _protection_step(
    E.emergency_shelter_provided,
    K.emergency_shelter,
    "an adult with nowhere safe to stay has a safe place before the preliminary decision",
)


# ------------------------------------------------------------------------------- the support plan, reopen


def _support_plan_starts(case: CaseSnapshot, now: datetime, policy: Policy) -> list[Effect]:
    """Identification starts (or restarts) the support plan: its first review is due within the policy's
    `support_plan.first_review`."""
    return open_deadline(case, K.support_review, now, policy, duration=policy.support_plan.first_review)


def _support_plan_reviewed(ctx: Context) -> Step | Refusal:
    # The next review counts from this one, early or late: the rhythm follows the person, not the calendar.
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = meet(case, K.support_review, now, policy)
    reviewed = replace(case, deadlines=())  # the met one is closed by then: nothing stale to close
    effects += open_deadline(reviewed, K.support_review, now, policy, duration=policy.support_plan.review_interval)
    effects += note(ctx.event.note)
    return step(effects, late=_review_late(case, now))


def _review_late(case: CaseSnapshot, now: datetime) -> bool:
    review = find_unclosed(case.deadlines, K.support_review)
    return review is not None and review.paused_at is None and now > review.due_at


SUPPORT_PLAN_REVIEWED = EventRule(
    E.support_plan_reviewed,
    transitions=(Transition((S.identified,), None),),
    senders=frozenset({R.coordinator, R.assigned_caseworker}),
    fields=("note",),
    handler=_support_plan_reviewed,
    rule="the support plan was reviewed with the person; the next review is due after the policy's interval",
    opens=(K.support_review,),
    meets=(K.support_review,),
)

#: A closure after which the person may come back to the same case (domain.md: `reopen`).
REOPENABLE = frozenset({CloseReason.support_completed, CloseReason.lost_contact})


def _pre_reopen(ctx: Context) -> Refusal | None:
    case = ctx.case
    if case.close_reason not in REOPENABLE:
        closed_as = case.close_reason.value if case.close_reason is not None else "unknown"
        return held_back(
            "not_reopenable",
            f"a case closed as {closed_as} is not reopened: refer the person again",
            ctx.state,
        )
    if case.formal_outcome is not FormalOutcome.identified:
        return held_back(
            "never_identified",
            "only a person formally identified returns to identified: refer the person again",
            ctx.state,
        )
    if case.personal_data_erased:
        return held_back("erased", "the personal data of this case were erased: refer the person again", ctx.state)
    return None


def _reopen(ctx: Context) -> Step | Refusal:
    try:
        reason = ReopenReason(ctx.event.reason) if ctx.event.reason is not None else None
    except ValueError:
        reason = None
    if reason is None:
        codes = ", ".join(r.value for r in ReopenReason)
        return invalid("reason_missing", f"a reopening needs a reason code: {codes}", ctx.state)
    case, now = ctx.case, ctx.now
    closed_as = case.close_reason
    assert closed_as is not None  # the guard holds it
    effects: list[Effect] = [ClearClosure(), *_support_plan_starts(case, now, ctx.policy), *note(ctx.event.note)]
    return step(effects, reason=reason.value, closed_as=closed_as.value)


REOPEN = EventRule(
    E.reopen,
    transitions=(Transition((S.closed,), S.identified),),
    senders=_COORDINATOR,
    fields=("reason", "note"),
    guard=_pre_reopen,
    handler=_reopen,
    rule="closed as support_completed or lost_contact, after a formal identification, data not erased; a reason "
    "code; the history continues and the support plan restarts",
    opens=(K.support_review,),
)


# ------------------------------------------------------------------ transfer_in, transfer_completed


def _recognised(carried: CarriedOver, policy: Policy) -> str:
    """Which of the sender's positive decisions hold here: "formal", "preliminary" or "none"."""
    rules = policy.transfers
    if carried.formal_outcome is FormalOutcome.identified and rules.formal_identification is Recognition.recognised:
        return "formal"
    positive = carried.preliminary_outcome is PreliminaryOutcome.positive or carried.formal_outcome is not None
    if positive and rules.preliminary_identification is Recognition.recognised:
        return "preliminary"
    return "none"


def carried_reflection_end(carried: CarriedOver, recognised: str, now: datetime, policy: Policy) -> datetime | None:
    """The end of the reflection period the new case keeps: never earlier than the one the sender granted,
    and, where the sender's reasonable grounds are recognised, never earlier than this policy's own period
    counted from that decision. None when no period runs any more."""
    ends = []
    if carried.reflection_period_ends_at is not None:
        ends.append(carried.reflection_period_ends_at)
    if recognised != "none" and carried.preliminary_decided_at is not None:
        ends.append(policy.calendar.due_after(carried.preliminary_decided_at, policy.reflection_period))
    end = max(ends, default=None)
    return end if end is not None and end > now else None


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _transfer_in(ctx: Context) -> Step | Refusal:
    referral, carried, now, policy = ctx.event.referral, ctx.event.carried, ctx.now, ctx.policy
    if referral is None or carried is None:
        return invalid("package_missing", "a transfer needs the package's classification and decisions", None)
    # An age assessment the sender made stands; otherwise the presumption of minority holds on either side.
    is_child = carried.is_child
    if carried.age_assessed is None:
        is_child = is_child or is_presumed_child(referral, now, policy)
    if not is_child and not carried.transfer_consent:
        return invalid("consent_required", "an adult's case moves only with the person's consent to the transfer", None)
    case = replace(ctx.case, is_child=is_child)
    effects: list[Effect] = [SetChild(is_child), SetConsent(referral.consent_given or carried.transfer_consent)]
    if carried.age_assessed is not None:
        effects.append(SetAgeAssessed(carried.age_assessed))
    recognised = _recognised(carried, policy)
    if recognised == "formal":
        branch = S.identified
        effects += [RecordOutcome("preliminary", "positive"), RecordOutcome("formal", "identified")]
        effects += _support_plan_starts(case, now, policy)
    elif recognised == "preliminary":
        branch = S.recovery_period
        effects.append(RecordOutcome("preliminary", "positive"))
        effects += open_deadline(case, K.panel_convening, now, policy)
    else:
        branch = S.referred
        effects += open_deadline(case, K.preliminary_decision, now, policy)
    reflection_end = carried_reflection_end(carried, recognised, now, policy)
    if reflection_end is not None:
        effects.append(OpenDeadline(K.reflection_period, now, reflection_end))
    if is_child:
        effects += open_deadline(case, K.child_protection_referral, now, policy)
        if referral.unaccompanied:
            effects += open_deadline(case, K.guardian_appointment, now, policy)
    if referral.shelter_needed:
        if is_child or branch is not S.referred:
            effects += open_deadline(case, K.shelter_offer, now, policy)
        elif policy.emergency_shelter_before_preliminary_decision:
            effects += open_deadline(case, K.emergency_shelter, now, policy)
    return step(
        effects,
        branch.value,
        peer=carried.peer,
        peer_reference=carried.sender_reference,
        recognised=recognised,
        is_child=is_child,
        sender_state=carried.sender_state.value,
        sender_preliminary=carried.preliminary_outcome.value if carried.preliminary_outcome else None,
        sender_preliminary_at=_when(carried.preliminary_decided_at),
        sender_formal=carried.formal_outcome.value if carried.formal_outcome else None,
        sender_formal_at=_when(carried.formal_decided_at),
        reflection_period_until=_when(reflection_end),
    )


TRANSFER_IN = EventRule(
    E.transfer_in,
    transitions=(),  # it creates a case, in the state the recognised decisions give
    senders=_COORDINATOR,
    fields=("referral", "carried"),
    handler=_transfer_in,
    by="accepting a package a registered peer sent",
    rule="an adult's case needs the person's consent to the transfer; the sender's decisions are recorded as "
    "such and the policy says which are recognised; the reflection period ends no earlier than the sender's",
    opens=(
        K.preliminary_decision,
        K.panel_convening,
        K.reflection_period,
        K.child_protection_referral,
        K.guardian_appointment,
        K.shelter_offer,
        K.emergency_shelter,
        K.support_review,
    ),
    creates=(S.referred, S.recovery_period, S.identified),
)


def _transfer_completed(ctx: Context) -> Step | Refusal:
    peer, reference = text(ctx.event.peer), text(ctx.event.peer_reference)
    if peer is None or reference is None:
        return invalid("peer_missing", "name the peer that accepted the case and its case reference", ctx.state)
    effects: list[Effect] = [SetClosure(CloseReason.transferred), *end_case(ctx.case, ctx.now, ctx.policy)]
    return step(
        effects,
        reason=CloseReason.transferred.value,
        peer=peer,
        peer_reference=reference,
        retention_days=ctx.policy.retention_days_after_closure,
    )


TRANSFER_COMPLETED = EventRule(
    E.transfer_completed,
    transitions=(Transition(_OPEN, S.closed),),
    senders=frozenset(),  # nobody sends it by hand: only the peer's signed receipt closes a case this way
    fields=("peer", "peer_reference"),
    handler=_transfer_completed,
    system=True,
    by="the system, on the peer's signed receipt of acceptance",
    rule="closed as `transferred`, naming the peer and its case reference; personal data then follow the "
    "retention policy",
)


#: Every event, by name, in the order of `EventName`.
EVENTS: Mapping[EventName, EventRule] = {
    rule.name: rule
    for rule in sorted(
        (
            REFERRAL,
            ASSIGN_ASSESSOR,
            PRELIMINARY_DECISION,
            REQUEST_RECONSIDERATION,
            CONVENE_PANEL,
            REQUEST_EARLY_DECISION,
            DECLARE_CONFLICT,
            CAST_VOTE,
            FORMAL_DECISION,
            REQUEST_REVIEW,
            REVIEW_DECISION,
            REPORT_MISSING,
            REPORT_FOUND,
            WITHDRAW_CONSENT,
            CLOSE,
            AGE_ASSESSED,
            CHILD_PROTECTION_NOTIFIED,
            GUARDIAN_APPOINTED,
            SHELTER_OFFERED,
            POLICE_NOTIFIED,
            EMERGENCY_SHELTER_PROVIDED,
            SUPPORT_PLAN_REVIEWED,
            REOPEN,
            TRANSFER_IN,
            TRANSFER_COMPLETED,
        ),
        key=lambda rule: list(EventName).index(rule.name),
    )
}
assert set(EVENTS) == set(EventName), "every event needs its record"
