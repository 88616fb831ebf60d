"""`decide`: given a case snapshot, an actor, an event and the time, answer with a decision or a refusal.

Order of checks, so each refusal says the most useful thing first:
1. the actor's role may never send this event → `forbidden_role` (403);
2. the machine does not accept the event in this state → `not_allowed_in_state` (409, with allowed events);
3. the actor's relation to the case (assigned assessor, panel member, referring organisation, assigned
   caseworker) → `forbidden_role` (403);
4. state guards: what the case and the time hold back (reflection period, windows, quorum) → `guard` (409);
5. field guards: the event's own fields (reasons, members, outcome) → `guard` (422).
`allowed_events` is the set of events passing 1-4: what the case view offers this actor now.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from app.workflow.deadlines import DeadlineSnapshot, find_unclosed, right_is_running
from app.workflow.machine import EVENT_SPECS, ROUTES, Route, route_for
from app.workflow.model import (
    Actor,
    CancelDeadline,
    CaseSnapshot,
    ConvenePanel,
    Decision,
    DissolvePanel,
    Effect,
    EventRequest,
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
    ResumeDeadline,
    SetAgeAssessed,
    SetAssessor,
    SetChild,
    SetClosure,
    SetConsent,
    SetEarlyDecisionRequested,
    SetStateBeforeSuspension,
)
from app.workflow.panels import (
    can_still_decide,
    composition_problems,
    decision_problems,
    outcome,
    overlap_problems,
)
from app.workflow.policy import PanelRules, Policy
from app.workflow.states import (
    CHILD_AGE_BANDS,
    CHILD_DUTY_KINDS,
    AgeOutcome,
    CloseReason,
    DeadlineKind,
    EventName,
    FormalOutcome,
    PreliminaryOutcome,
    Role,
    State,
    Vote,
)

K = DeadlineKind
E = EventName
S = State

_LAPSE_REASONS = frozenset({CloseReason.no_reconsideration, CloseReason.no_review})
# A suspended case can only end for reasons that do not need the person: lost, moved on, or dead.
_SUSPENDED_CLOSE_REASONS = frozenset({CloseReason.lost_contact, CloseReason.transferred, CloseReason.deceased})


@dataclass(frozen=True, slots=True)
class _Context:
    snapshot: CaseSnapshot
    actor: Actor
    event: EventRequest
    now: datetime
    policy: Policy

    @property
    def case(self) -> CaseSnapshot:
        return self.snapshot

    @property
    def state(self) -> State:
        return self.snapshot.state


# ----------------------------------------------------------------------------------------------- helpers


def _utc(now: datetime) -> datetime:
    """The time in UTC. Aware datetimes sharing a zone subtract and add on the wall clock in Python, which
    would bend durations across daylight-saving changes; in UTC the arithmetic is elapsed time."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the workflow needs a timezone-aware time")
    return now.astimezone(UTC)


def _guard(code: str, message: str, state: State | None, status: int = 409) -> Refusal:
    return Refusal(kind="guard", code=code, message=message, state=state, http_status=status)


def _invalid(code: str, message: str, state: State | None) -> Refusal:
    return _guard(code, message, state, 422)


def _text(value: str | None) -> str | None:
    """A free text with content, or None: a string of blanks is no reason at all."""
    if value is None or not value.strip():
        return None
    return value


def _day(policy: Policy, due_at: datetime) -> str:
    return policy.calendar.last_day(due_at).isoformat()


def _open(
    case: CaseSnapshot, kind: DeadlineKind, now: datetime, policy: Policy, start: datetime | None = None
) -> list[Effect]:
    """Open a deadline of `kind` for this person; the clock counts from `start` (default: now)."""
    effects: list[Effect] = []
    existing = find_unclosed(case.deadlines, kind)
    if existing is not None:
        # Keep the one-non-closed-per-kind invariant: a stale one is closed before a new one opens.
        effects.append(_close_one(existing, now))
    due = policy.calendar.due_after(start or now, policy.duration(kind, case.is_child))
    effects.append(OpenDeadline(kind, now, due))
    return effects


def _close_one(deadline: DeadlineSnapshot, now: datetime) -> Effect:
    """How a deadline ends when the case (or its purpose) ends: a right whose end has passed was fully had
    (met at its end); anything else is cancelled."""
    if deadline.is_right and now >= deadline.due_at:
        return MeetDeadline(deadline.kind, deadline.due_at)
    return CancelDeadline(deadline.kind, now)


def _meet(case: CaseSnapshot, kind: DeadlineKind, now: datetime) -> list[Effect]:
    """Meet the open deadline of `kind`, if any. A paused duty is first resumed, so lateness is measured
    against the time that remained, not against a due time the suspension made stale."""
    deadline = find_unclosed(case.deadlines, kind)
    if deadline is None:
        return []
    effects: list[Effect] = []
    if deadline.paused_at is not None:
        remaining = deadline.remaining if deadline.remaining is not None else timedelta(0)
        effects.append(ResumeDeadline(kind, now, now + remaining))
    effects.append(MeetDeadline(kind, now))
    return effects


def _end_case(case: CaseSnapshot, now: datetime) -> list[Effect]:
    """A terminal state keeps no running clock: duties are cancelled, rights met if over, else cancelled."""
    effects: list[Effect] = [_close_one(d, now) for d in case.deadlines if not d.is_closed]
    if case.state_before_suspension is not None:
        effects.append(SetStateBeforeSuspension(None))
    if case.panel is not None:
        effects.append(DissolvePanel(now))
    return effects


_DEADLINE_FACTS: dict[type, str] = {
    OpenDeadline: "deadlines_opened",
    MeetDeadline: "deadlines_met",
    CancelDeadline: "deadlines_cancelled",
    PauseDeadline: "deadlines_paused",
    ResumeDeadline: "deadlines_resumed",
}


def _facts(
    event: EventName, from_state: State | None, to_state: State, effects: list[Effect], **extra: FactValue
) -> dict[str, FactValue]:
    """Audit facts: names and codes only. The enums are `str` already (StrEnum), so they are used as is."""
    facts: dict[str, FactValue] = {"event": event, "from_state": from_state, "to_state": to_state}
    groups: dict[str, list[str]] = {}
    for effect in effects:
        key = _DEADLINE_FACTS.get(type(effect))
        if key is not None:
            groups.setdefault(key, []).append(effect.kind)  # type: ignore[union-attr]
    for key, kinds in groups.items():
        facts[key] = tuple(kinds)
    facts.update(extra)
    return facts


def _decision(ctx: _Context, route_branch: str | None, effects: list[Effect], **extra: FactValue) -> Decision:
    route = route_for(ctx.state, ctx.event.name, route_branch)
    assert route is not None, f"no route {ctx.state}/{ctx.event.name}/{route_branch}"
    new_state = route.dest if route.dest is not None else ctx.state
    return Decision(
        event=ctx.event.name,
        from_state=ctx.state,
        new_state=new_state,
        effects=tuple(effects),
        facts=_facts(ctx.event.name, ctx.state, new_state, effects, **extra),
    )


def _note(text: str | None) -> list[Effect]:
    cleaned = _text(text)
    return [RecordNote(cleaned)] if cleaned is not None else []


# ------------------------------------------------------------------------------------------- relations


def _is_referrer_of_case(actor: Actor, case: CaseSnapshot) -> bool:
    return Role.referrer in actor.roles and actor.organisation_id == case.referring_organisation_id


def _is_assigned_caseworker(actor: Actor, case: CaseSnapshot) -> bool:
    return Role.caseworker in actor.roles and actor.user_id in case.caseworker_ids


def _is_panel_member(actor: Actor, case: CaseSnapshot) -> bool:
    return Role.panel_member in actor.roles and case.panel is not None and case.panel.is_member(actor.user_id)


def _relation_problem(ctx: _Context) -> str | None:
    """Why this actor, though holding a role for the event, may not send it on this case."""
    actor, case, name = ctx.actor, ctx.case, ctx.event.name
    if actor.is_system or (Role.coordinator in actor.roles and Role.coordinator in EVENT_SPECS[name].roles):
        return None
    if name is E.preliminary_decision:
        return None if case.assessor_id == actor.user_id else "only the assigned assessor decides"
    if name in (E.request_reconsideration, E.request_review, E.report_missing):
        if _is_referrer_of_case(actor, case) or _is_assigned_caseworker(actor, case):
            return None
        return "only the referring organisation or an assigned caseworker may send this event"
    if name is E.withdraw_consent:
        return None if _is_referrer_of_case(actor, case) else "only the referring organisation may send this"
    if name in (E.declare_conflict, E.cast_vote):
        return None if _is_panel_member(actor, case) else "only a member of the current panel may send this"
    if name in (E.child_protection_notified, E.guardian_appointed, E.shelter_offered, E.police_notified):
        return None if _is_assigned_caseworker(actor, case) else "only an assigned caseworker may send this"
    return None


# --------------------------------------------------------------------------------- state guards (409)

_Check = Callable[[_Context], Refusal | None]


def _window_lapsed(case: CaseSnapshot, kind: DeadlineKind, done: bool, now: datetime) -> bool:
    """No reconsideration (or review) can follow: it was used, or its window is not running."""
    return done or not right_is_running(case.deadlines, kind, now)


def _pre_request_reconsideration(ctx: _Context) -> Refusal | None:
    if ctx.case.reconsideration_done:
        return _guard("reconsideration_used", "a reconsideration was already held", ctx.state)
    window = find_unclosed(ctx.case.deadlines, K.reconsideration_window)
    if window is None or ctx.now >= window.due_at:
        return _guard("window_closed", "the reconsideration window is closed", ctx.state)
    return None


def _pre_request_review(ctx: _Context) -> Refusal | None:
    if ctx.case.review_done:
        return _guard("review_used", "the review decision is final: no second review", ctx.state)
    window = find_unclosed(ctx.case.deadlines, K.review_window)
    if window is None or ctx.now >= window.due_at:
        return _guard("window_closed", "the review window is closed", ctx.state)
    return None


def _panel_rules(ctx: _Context, is_review: bool) -> PanelRules:
    return ctx.policy.review_panel if is_review else ctx.policy.panel


def _pre_convene_panel(ctx: _Context) -> Refusal | None:
    panel = ctx.case.panel
    if ctx.state is S.recovery_period or panel is None:
        return None
    rules = _panel_rules(ctx, panel.is_review)
    if ctx.state is S.under_review and not panel.is_review:
        return None
    if can_still_decide(panel, rules, ctx.case.referring_organisation_id, ctx.case.is_child):
        return _guard("panel_sitting", "a panel already sits and can still decide", ctx.state)
    return None


def _pre_request_early_decision(ctx: _Context) -> Refusal | None:
    if not ctx.policy.early_decision_allowed:
        return _guard("early_decision_not_allowed", "this policy does not allow an early decision", ctx.state)
    if ctx.case.early_decision_requested:
        return _guard("already_requested", "an early decision was already requested", ctx.state)
    if not right_is_running(ctx.case.deadlines, K.reflection_period, ctx.now):
        return _guard("reflection_period_over", "the reflection period is over: no early decision needed", ctx.state)
    return None


def _pre_panel_member_act(ctx: _Context) -> Refusal | None:
    panel = ctx.case.panel
    assert panel is not None  # the relation check guarantees it
    uid = ctx.actor.user_id
    if uid in panel.conflicts:
        return _guard("conflicted", "a member who declared a conflict does not vote", ctx.state)
    if uid in panel.votes:
        return _guard("already_voted", "this member has already voted", ctx.state)
    return None


def _panel_decision_problem(ctx: _Context, is_review: bool) -> Refusal | None:
    panel = ctx.case.panel
    if panel is None or panel.is_review is not is_review:
        kind = "review panel" if is_review else "panel"
        return _guard("no_panel", f"no {kind} sits on this case", ctx.state)
    problems = decision_problems(
        panel, _panel_rules(ctx, is_review), ctx.case.referring_organisation_id, ctx.case.is_child
    )
    if is_review:
        problems += overlap_problems(panel.members, ctx.case.first_panel_member_ids)
    if problems:
        return _guard("panel_cannot_decide", "; ".join(problems), ctx.state)
    return None


def _pre_formal_decision(ctx: _Context) -> Refusal | None:
    refusal = _panel_decision_problem(ctx, is_review=False)
    if refusal is not None:
        return refusal
    reflection = find_unclosed(ctx.case.deadlines, K.reflection_period)
    if reflection is not None and ctx.now < reflection.due_at and not ctx.case.early_decision_requested:
        # The reflection period is the person's right: only their own request lets the decision come first.
        return _guard(
            "reflection_period_running",
            f"the reflection period runs until {_day(ctx.policy, reflection.due_at)}",
            ctx.state,
        )
    return None


def _pre_review_decision(ctx: _Context) -> Refusal | None:
    return _panel_decision_problem(ctx, is_review=True)


def _pre_report_found(ctx: _Context) -> Refusal | None:
    if ctx.case.state_before_suspension is None:
        return _guard("unknown_prior_state", "the case does not remember the state it left", ctx.state)
    return None


def _pre_withdraw_consent(ctx: _Context) -> Refusal | None:
    if ctx.case.is_child:
        return _guard(
            "child_cannot_withdraw",
            "a child (or presumed child) cannot withdraw: protection does not depend on consent",
            ctx.state,
        )
    return None


def _pre_close(ctx: _Context) -> Refusal | None:
    case, now = ctx.case, ctx.now
    if ctx.actor.is_system and ctx.state not in (S.preliminary_negative, S.not_identified):
        message = "the system closes only lapsed reconsideration or review windows"
        return Refusal("forbidden_role", "system_lapse_only", message, ctx.state, (), 403)
    if ctx.state is S.preliminary_negative and not _window_lapsed(
        case, K.reconsideration_window, case.reconsideration_done, now
    ):
        window = find_unclosed(case.deadlines, K.reconsideration_window)
        assert window is not None
        return _guard(
            "window_open",
            f"a reconsideration may still be requested until {_day(ctx.policy, window.due_at)}",
            ctx.state,
        )
    if ctx.state is S.not_identified and not _window_lapsed(case, K.review_window, case.review_done, now):
        window = find_unclosed(case.deadlines, K.review_window)
        assert window is not None
        return _guard(
            "window_open",
            f"a review may still be requested until {_day(ctx.policy, window.due_at)}",
            ctx.state,
        )
    return None


def _pre_protection_step(kind: DeadlineKind) -> _Check:
    def check(ctx: _Context) -> Refusal | None:
        if find_unclosed(ctx.case.deadlines, kind) is None:
            return _guard("nothing_due", f"no {kind.value} deadline is open on this case", ctx.state)
        return None

    return check


_STATE_GUARDS: dict[EventName, _Check] = {
    E.request_reconsideration: _pre_request_reconsideration,
    E.request_review: _pre_request_review,
    E.convene_panel: _pre_convene_panel,
    E.request_early_decision: _pre_request_early_decision,
    E.declare_conflict: _pre_panel_member_act,
    E.cast_vote: _pre_panel_member_act,
    E.formal_decision: _pre_formal_decision,
    E.review_decision: _pre_review_decision,
    E.report_found: _pre_report_found,
    E.withdraw_consent: _pre_withdraw_consent,
    E.close: _pre_close,
    E.child_protection_notified: _pre_protection_step(K.child_protection_referral),
    E.guardian_appointed: _pre_protection_step(K.guardian_appointment),
    E.shelter_offered: _pre_protection_step(K.shelter_offer),
    E.police_notified: _pre_protection_step(K.missing_child_report),
}


# ----------------------------------------------------------------------------- handlers (fields, effects)

_Handler = Callable[[_Context], Decision | Refusal]


def _assign_assessor(ctx: _Context) -> Decision | Refusal:
    assessor = ctx.event.assessor
    if assessor is None:
        return _invalid("assessor_missing", "name the assessor to assign", ctx.state)
    if Role.assessor not in assessor.roles:
        return _invalid("not_an_assessor", "the user does not hold the assessor role", ctx.state)
    if assessor.sector not in ctx.policy.assessor_sectors:
        allowed = ", ".join(ctx.policy.assessor_sectors)
        return _invalid("sector_not_allowed", f"assessors must come from: {allowed}", ctx.state)
    if assessor.user_id in ctx.case.previous_assessor_ids:
        return _invalid("same_assessor", "a reconsideration needs a different assessor", ctx.state)
    if assessor.user_id == ctx.case.assessor_id:
        return _guard("already_assigned", "this assessor is already assigned", ctx.state)
    effects: list[Effect] = [SetAssessor(assessor.user_id)]
    if find_unclosed(ctx.case.deadlines, K.preliminary_decision) is None:
        effects += _open(ctx.case, K.preliminary_decision, ctx.now, ctx.policy)
    return _decision(ctx, None, effects, assessor_id=assessor.user_id, assessor_sector=assessor.sector.value)


def _preliminary_decision(ctx: _Context) -> Decision | Refusal:
    result = ctx.event.outcome
    if not isinstance(result, PreliminaryOutcome):
        return _invalid("outcome_missing", "the outcome must be positive or negative", ctx.state)
    reasons = _text(ctx.event.reasons)
    if reasons is None:
        return _invalid("reasons_missing", "a preliminary decision needs written reasons", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = _meet(case, K.preliminary_decision, now)
    effects.append(RecordOutcome("preliminary", result.value, reasons))
    if result is PreliminaryOutcome.positive:
        effects += _open(case, K.reflection_period, now, policy)
        effects += _open(case, K.panel_convening, now, policy)
        has_shelter_deadline = any(d.kind is K.shelter_offer for d in case.deadlines)
        if case.shelter_needed and not has_shelter_deadline:
            effects += _open(case, K.shelter_offer, now, policy)
    elif not case.reconsideration_done:
        effects += _open(case, K.reconsideration_window, now, policy)
    return _decision(ctx, result.value, effects, outcome=result.value)


def _request_reconsideration(ctx: _Context) -> Decision | Refusal:
    reasons = _text(ctx.event.reasons)
    if reasons is None:
        return _invalid("reasons_missing", "state the new evidence for the reconsideration", ctx.state)
    case, now = ctx.case, ctx.now
    effects: list[Effect] = [MeetDeadline(K.reconsideration_window, now), MarkReconsiderationDone()]
    if case.assessor_id is not None:
        effects += [RecordPreviousAssessor(case.assessor_id), SetAssessor(None)]
    effects += _open(case, K.preliminary_decision, now, ctx.policy)
    effects.append(RecordNote(reasons))
    return _decision(ctx, None, effects)


def _convene_panel(ctx: _Context) -> Decision | Refusal:
    case, now, policy = ctx.case, ctx.now, ctx.policy
    is_review = ctx.state is S.under_review
    members = ctx.event.members
    problems = composition_problems(
        members, _panel_rules(ctx, is_review), case.referring_organisation_id, case.is_child
    )
    if is_review:
        problems += overlap_problems(members, case.first_panel_member_ids)
    if case.panel is not None:
        # Someone who declared a conflict on this case does not sit on its replacement panel.
        problems += [f"member {m.user_id} declared a conflict" for m in members if m.user_id in case.panel.conflicts]
    if problems:
        return _invalid("panel_composition", "; ".join(problems), ctx.state)
    effects: list[Effect] = [ConvenePanel(tuple(members), is_review)]
    effects += _meet(case, K.panel_convening, now)
    if ctx.state is S.recovery_period:
        # The decision may not come before the reflection period ends, so its clock counts from then.
        reflection = find_unclosed(case.deadlines, K.reflection_period)
        start = now
        if reflection is not None and not case.early_decision_requested and reflection.due_at > now:
            start = reflection.due_at
        effects += _open(case, K.formal_decision, now, policy, start=start)
    facts: dict[str, FactValue] = {
        "is_review": is_review,
        "member_ids": tuple(m.user_id for m in members),
        "sectors": tuple(sorted({m.sector.value for m in members})),
    }
    return _decision(ctx, None, effects, **facts)


def _request_early_decision(ctx: _Context) -> Decision | Refusal:
    effects: list[Effect] = [SetEarlyDecisionRequested(ctx.now), *_note(ctx.event.note)]
    return _decision(ctx, None, effects)


def _declare_conflict(ctx: _Context) -> Decision | Refusal:
    reason = _text(ctx.event.reason)
    if reason is None:
        return _invalid("reason_missing", "a conflict needs a stated reason", ctx.state)
    return _decision(ctx, None, [RecordConflict(ctx.actor.user_id, reason)], member_id=ctx.actor.user_id)


def _cast_vote(ctx: _Context) -> Decision | Refusal:
    vote = ctx.event.vote
    if not isinstance(vote, Vote):
        return _invalid("vote_missing", "the vote must be identify, not_identify or abstain", ctx.state)
    rationale = _text(ctx.event.rationale)
    if rationale is None:
        return _invalid("rationale_missing", "a vote needs a written rationale", ctx.state)
    effects: list[Effect] = [RecordVote(ctx.actor.user_id, vote, rationale)]
    return _decision(ctx, None, effects, member_id=ctx.actor.user_id, vote=vote.value)


def _votes_facts(ctx: _Context) -> dict[str, FactValue]:
    panel = ctx.case.panel
    assert panel is not None
    counted = [v for uid, v in panel.votes.items() if uid not in panel.conflicts]
    return {
        "votes_identify": counted.count(Vote.identify),
        "votes_not_identify": counted.count(Vote.not_identify),
        "votes_abstain": counted.count(Vote.abstain),
    }


def _formal_decision(ctx: _Context) -> Decision | Refusal:
    case, now, policy = ctx.case, ctx.now, ctx.policy
    panel = case.panel
    assert panel is not None
    result = outcome(panel, policy.panel)
    effects: list[Effect] = _meet(case, K.formal_decision, now)
    effects += [RecordOutcome("formal", result.value), DissolvePanel(now)]
    branch = result.value
    if result is FormalOutcome.not_identified:
        if policy.automatic_review:
            branch = "automatic_review"
            effects += _open(case, K.panel_convening, now, policy)
            effects += _open(case, K.review_decision, now, policy)
        else:
            effects += _open(case, K.review_window, now, policy)
    reflection = find_unclosed(case.deadlines, K.reflection_period)
    early = reflection is not None and now < reflection.due_at
    return _decision(
        ctx,
        branch,
        effects,
        outcome=result.value,
        early_decision=early,
        automatic_review=branch == "automatic_review",
        **_votes_facts(ctx),
    )


def _request_review(ctx: _Context) -> Decision | Refusal:
    reasons = _text(ctx.event.reasons)
    if reasons is None:
        return _invalid("reasons_missing", "a review request needs stated reasons", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = [MeetDeadline(K.review_window, now)]
    effects += _open(case, K.panel_convening, now, policy)
    effects += _open(case, K.review_decision, now, policy)
    effects.append(RecordNote(reasons))
    return _decision(ctx, None, effects)


def _review_decision(ctx: _Context) -> Decision | Refusal:
    case, now = ctx.case, ctx.now
    panel = case.panel
    assert panel is not None
    result = outcome(panel, ctx.policy.review_panel)
    effects: list[Effect] = _meet(case, K.review_decision, now)
    effects += [RecordOutcome("review", result.value), DissolvePanel(now), MarkReviewDone()]
    return _decision(ctx, result.value, effects, outcome=result.value, **_votes_facts(ctx))


def _report_missing(ctx: _Context) -> Decision | Refusal:
    case, now = ctx.case, ctx.now
    effects: list[Effect] = [SetStateBeforeSuspension(ctx.state)]
    for deadline in case.deadlines:
        # The missing-child report is the suspension's own duty: it must never wait for the child's return.
        if deadline.is_closed or deadline.is_right or deadline.is_paused or deadline.kind is K.missing_child_report:
            continue
        effects.append(PauseDeadline(deadline.kind, now, deadline.due_at - now))
    if case.is_child and find_unclosed(case.deadlines, K.missing_child_report) is None:
        effects += _open(case, K.missing_child_report, now, ctx.policy)
    effects += _note(ctx.event.note)
    return _decision(ctx, None, effects)


def _report_found(ctx: _Context) -> Decision | Refusal:
    case, now = ctx.case, ctx.now
    left = case.state_before_suspension
    assert left is not None
    effects: list[Effect] = []
    for deadline in case.deadlines:
        if deadline.is_paused and not deadline.is_closed:
            remaining = deadline.remaining if deadline.remaining is not None else timedelta(0)
            effects.append(ResumeDeadline(deadline.kind, now, now + remaining))
    effects += [SetStateBeforeSuspension(None), *_note(ctx.event.note)]
    return _decision(ctx, f"left_{left.value}", effects)


def _withdraw_consent(ctx: _Context) -> Decision | Refusal:
    effects: list[Effect] = [SetConsent(False), *_end_case(ctx.case, ctx.now), *_note(ctx.event.note)]
    return _decision(ctx, None, effects, erasure_after_days=ctx.policy.withdrawal_grace_days)


def _close(ctx: _Context) -> Decision | Refusal:
    case, now = ctx.case, ctx.now
    try:
        reason = CloseReason(ctx.event.reason) if ctx.event.reason is not None else None
    except ValueError:
        reason = None
    if reason is None:
        return _invalid("reason_missing", "a closure needs a reason code", ctx.state)
    if ctx.actor.is_system and reason not in _LAPSE_REASONS:
        return Refusal(
            "forbidden_role",
            "system_lapse_only",
            "the system closes only lapsed reconsideration or review windows",
            ctx.state,
            (),
            403,
        )
    if reason is CloseReason.no_reconsideration and ctx.state is not S.preliminary_negative:
        return _invalid("reason_not_applicable", "no_reconsideration closes a negative preliminary decision", ctx.state)
    if reason is CloseReason.no_review and ctx.state is not S.not_identified:
        return _invalid("reason_not_applicable", "no_review closes a negative formal decision", ctx.state)
    if ctx.state is S.suspended and reason not in _SUSPENDED_CLOSE_REASONS:
        return _invalid(
            "reason_not_applicable",
            "a suspended case closes only as lost_contact, transferred or deceased",
            ctx.state,
        )
    risk = best = None
    if reason is CloseReason.voluntary_return:
        risk = _text(ctx.event.risk_assessment)
        if risk is None:
            return _invalid("risk_assessment_missing", "a voluntary return needs a recorded risk assessment", ctx.state)
        best = _text(ctx.event.best_interests_determination)
        if case.is_child and best is None:
            return _invalid(
                "best_interests_missing",
                "a child's voluntary return needs a best-interests determination",
                ctx.state,
            )
    effects: list[Effect] = [SetClosure(reason, risk, best), *_end_case(case, now)]
    return _decision(ctx, None, effects, reason=reason.value, retention_days=ctx.policy.retention_days_after_closure)


def _age_assessed(ctx: _Context) -> Decision | Refusal:
    result = ctx.event.outcome
    if not isinstance(result, AgeOutcome):
        return _invalid("outcome_missing", "the age assessment outcome must be adult or child", ctx.state)
    case, now, policy = ctx.case, ctx.now, ctx.policy
    effects: list[Effect] = [SetAgeAssessed(result)]
    if result is AgeOutcome.child:
        if not case.is_child:
            effects.append(SetChild(True))
            child_case = _with_child(case)
            effects += _open(child_case, K.child_protection_referral, now, policy)
            if case.unaccompanied:
                effects += _open(child_case, K.guardian_appointment, now, policy)
        return _decision(ctx, "assessed", effects, outcome=result.value)
    consent = case.consent_given or ctx.event.consent_given is True
    if not case.consent_given and ctx.event.consent_given is None:
        return _invalid(
            "consent_required",
            "adult rules now apply: state whether the person gives informed consent",
            ctx.state,
        )
    effects.append(SetChild(False))
    if not consent:
        # An adult who does not consent is counted, not registered: the case ends as withdrawn.
        effects += [SetConsent(False), *_end_case(case, now)]
        return _decision(ctx, "adult_without_consent", effects, outcome=result.value, consent=False)
    if not case.consent_given:
        effects.append(SetConsent(True))
    for deadline in case.deadlines:
        if deadline.kind in CHILD_DUTY_KINDS and not deadline.is_closed:
            effects.append(CancelDeadline(deadline.kind, now))
    return _decision(ctx, "assessed", effects, outcome=result.value)


def _with_child(case: CaseSnapshot) -> CaseSnapshot:
    return replace(case, is_child=True)


def _protection_step(kind: DeadlineKind) -> _Handler:
    def handle(ctx: _Context) -> Decision | Refusal:
        effects = _meet(ctx.case, kind, ctx.now) + _note(ctx.event.note)
        return _decision(ctx, None, effects, deadline_kind=kind.value)

    return handle


_HANDLERS: dict[EventName, _Handler] = {
    E.assign_assessor: _assign_assessor,
    E.preliminary_decision: _preliminary_decision,
    E.request_reconsideration: _request_reconsideration,
    E.convene_panel: _convene_panel,
    E.request_early_decision: _request_early_decision,
    E.declare_conflict: _declare_conflict,
    E.cast_vote: _cast_vote,
    E.formal_decision: _formal_decision,
    E.request_review: _request_review,
    E.review_decision: _review_decision,
    E.report_missing: _report_missing,
    E.report_found: _report_found,
    E.withdraw_consent: _withdraw_consent,
    E.close: _close,
    E.age_assessed: _age_assessed,
    E.child_protection_notified: _protection_step(K.child_protection_referral),
    E.guardian_appointed: _protection_step(K.guardian_appointment),
    E.shelter_offered: _protection_step(K.shelter_offer),
    E.police_notified: _protection_step(K.missing_child_report),
}


# ------------------------------------------------------------------------------------------- public API


def _may_send(actor: Actor, name: EventName) -> bool:
    if actor.is_system:
        return name is E.close
    return bool(actor.roles & EVENT_SPECS[name].roles)


def _check(ctx: _Context) -> Refusal | None:
    """Checks 1-4 of the module docstring."""
    name, state = ctx.event.name, ctx.state
    if not _may_send(ctx.actor, name):
        return Refusal("forbidden_role", "role", f"your role may not send {name.value}", state, (), 403)
    routes: tuple[Route, ...] | None = ROUTES.get((state, name))
    if routes is None:
        allowed = tuple(allowed_events(ctx.snapshot, ctx.actor, ctx.now, ctx.policy))
        return Refusal(
            "not_allowed_in_state",
            "state",
            f"{name.value} is not allowed in state {state.value}",
            state,
            allowed,
            409,
        )
    problem = _relation_problem(ctx)
    if problem is not None:
        return Refusal("forbidden_role", "relation", problem, state, (), 403)
    guard = _STATE_GUARDS.get(name)
    return guard(ctx) if guard is not None else None


def decide(
    snapshot: CaseSnapshot | None, actor: Actor, event: EventRequest, now: datetime, policy: Policy
) -> Decision | Refusal:
    """Decide one event on one case: a `Decision` (new state, effects, facts) or a `Refusal`.

    Pure: the same inputs always give the same answer. `now` must be timezone-aware. With
    `EventName.referral` the snapshot is None and `event.referral` carries the classification.
    """
    now = _utc(now)
    if event.name is E.referral:
        if snapshot is not None:
            return Refusal("not_allowed_in_state", "state", "a referral creates a new case", snapshot.state, (), 409)
        return decide_referral(actor, event.referral or Referral(), now, policy)
    if snapshot is None:
        raise ValueError(f"{event.name.value} needs a case snapshot")
    ctx = _Context(snapshot, actor, event, now, policy)
    refusal = _check(ctx)
    if refusal is not None:
        return refusal
    return _HANDLERS[event.name](ctx)


def allowed_events(snapshot: CaseSnapshot, actor: Actor, now: datetime, policy: Policy) -> list[EventName]:
    """The events this actor may send on this case now (role, state, relation and state guards all pass);
    the fields an event needs are not judged here."""
    now = _utc(now)
    result: list[EventName] = []
    for name in EventName:
        if name is E.referral or (snapshot.state, name) not in ROUTES or not _may_send(actor, name):
            continue
        ctx = _Context(snapshot, actor, EventRequest(name), now, policy)
        if _check(ctx) is None:
            result.append(name)
    return result


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


def decide_referral(actor: Actor, referral: Referral, now: datetime, policy: Policy) -> Decision | Refusal:
    """Create a case: the initial state `referred` and the deadlines to open, or a refusal.

    An adult without informed consent is refused (422): file an anonymous notification instead. A
    (presumed) child needs no consent; child protection, a guardian when unaccompanied, and shelter when
    needed are due from the referral itself (protection from *pre*-identification).
    """
    now = _utc(now)
    if actor.is_system or Role.referrer not in actor.roles:
        return Refusal("forbidden_role", "role", "only a referrer may refer a presumed victim", None, (), 403)
    is_child = is_presumed_child(referral, now, policy)
    if not is_child and not referral.consent_given:
        return _invalid(
            "consent_required",
            "an adult who does not give informed consent is not registered: file an anonymous notification instead",
            None,
        )
    empty = CaseSnapshot(
        id="",
        state=S.referred,
        created_at=now,
        referring_organisation_id=actor.organisation_id,
        is_child=is_child,
    )
    effects: list[Effect] = [SetChild(is_child), SetConsent(referral.consent_given)]
    effects += _open(empty, K.preliminary_decision, now, policy)
    if is_child:
        effects += _open(empty, K.child_protection_referral, now, policy)
        if referral.unaccompanied:
            effects += _open(empty, K.guardian_appointment, now, policy)
        if referral.shelter_needed:
            effects += _open(empty, K.shelter_offer, now, policy)
    facts = _facts(E.referral, None, S.referred, effects, is_child=is_child, age_disputed=referral.age_disputed)
    return Decision(event=E.referral, from_state=None, new_state=S.referred, effects=tuple(effects), facts=facts)
