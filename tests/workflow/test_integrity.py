"""Issue 12, the workflow's share: a breach stays a breach when a case ends, all abstentions decide nothing,
the person's requests are recorded rather than assumed, decisions overturned stay apart, no case is left
hanging. Pure tests on known dates (T0 = Monday 3 March 2025 09:00 UTC, policy fr unless said)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.workflow import (
    SYSTEM,
    CancelDeadline,
    DeadlineKind,
    Decision,
    EventName,
    EventRequest,
    OpenDeadline,
    PreliminaryOutcome,
    RequestChannel,
    ResumeDeadline,
    State,
    Vote,
    load_policy,
)
from tests.workflow.helpers import (
    COORDINATOR,
    FIRST_PANEL,
    REFERRER,
    REVIEW_PANEL,
    T0,
    UK_DECISION_MAKER,
    Harness,
    asked,
    assessor,
    assessor_actor,
    member_actor,
)
from tests.workflow.test_rules import ADULT, CHILD, UK, guard, to_recovery, vote_all

E = EventName
K = DeadlineKind
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


# --- point 1: a paused duty is resumed before it is cancelled, so its lateness at cancellation shows --------


def test_a_duty_overdue_when_the_case_stopped_keeps_its_lateness_when_cancelled() -> None:
    harness = Harness(load_policy("fr"))
    harness.refer(CHILD, T0)  # child protection within 24 hours: due Tue 4 Mar 09:00 UTC
    missing_at = T0 + 3 * DAY
    harness.ok(COORDINATOR, EventRequest(E.report_missing), missing_at)
    closed_at = missing_at + 7 * DAY
    decision = harness.ok(COORDINATOR, EventRequest(E.close, reason="lost_contact"), closed_at)
    resumed = {e.kind: e for e in decision.effects if isinstance(e, ResumeDeadline)}
    cancelled = {e.kind: e for e in decision.effects if isinstance(e, CancelDeadline)}
    # It stopped 2 days overdue: resumed at the closure, it falls due 2 days before it, and is cancelled then.
    assert resumed[K.child_protection_referral].new_due_at == closed_at - 2 * DAY
    assert cancelled[K.child_protection_referral].at == closed_at
    assert harness.case is not None
    protection = next(d for d in harness.case.deadlines if d.kind is K.child_protection_referral)
    assert protection.cancelled_at is not None and protection.cancelled_at > protection.due_at
    # The police report was met; nothing paused survives the end of the case.
    assert all(d.paused_at is None for d in harness.case.deadlines)


# --- point 6: all abstentions is not a tie ------------------------------------------------------------------


def test_all_abstentions_decide_nothing_and_the_panel_convened_again_votes_again() -> None:
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0)
    later = T0 + 40 * DAY
    vote_all(harness, FIRST_PANEL, Vote.abstain, later)
    refusal = guard(harness.send(COORDINATOR, EventRequest(E.formal_decision), later), "all_abstained", 409)
    assert "vote again" in refusal.message
    assert harness.case is not None and harness.case.state is State.formal_assessment
    guard(
        harness.send(member_actor(FIRST_PANEL[0]), EventRequest(E.cast_vote, vote=Vote.identify, rationale="r"), later),
        "already_voted",
    )
    # Convened again (the same members may sit), the panel votes again; a fresh round of votes decides.
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), later)
    assert harness.case.panel is not None and harness.case.panel.votes == {}
    harness.ok(member_actor(FIRST_PANEL[0]), EventRequest(E.cast_vote, vote=Vote.not_identify, rationale="r"), later)
    for m in FIRST_PANEL[1:]:
        harness.ok(member_actor(m), EventRequest(E.cast_vote, vote=Vote.abstain, rationale="r"), later)
    decision = harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    assert decision.new_state is State.not_identified
    assert (decision.facts["votes_not_identify"], decision.facts["votes_abstain"]) == (1, 2)


def test_a_review_panel_of_abstentions_decides_nothing_either() -> None:
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0)
    later = T0 + 40 * DAY
    vote_all(harness, FIRST_PANEL, Vote.not_identify, later)
    harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    harness.ok(REFERRER, EventRequest(E.request_review, reasons="new facts"), later)
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=REVIEW_PANEL), later)
    vote_all(harness, REVIEW_PANEL, Vote.abstain, later)
    guard(harness.send(COORDINATOR, EventRequest(E.review_decision), later), "all_abstained")
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=REVIEW_PANEL), later)
    vote_all(harness, REVIEW_PANEL, Vote.identify, later)
    assert harness.ok(COORDINATOR, EventRequest(E.review_decision), later).new_state is State.identified


def test_a_lone_decision_maker_cannot_abstain() -> None:
    harness = to_recovery(policy=UK)
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=UK_DECISION_MAKER), T0)
    later = T0 + 45 * DAY
    lone = member_actor(UK_DECISION_MAKER[0])
    refusal = guard(
        harness.send(lone, EventRequest(E.cast_vote, vote=Vote.abstain, rationale="unsure"), later),
        "abstention_not_allowed",
        422,
    )
    assert "lone decision maker" in refusal.message
    harness.ok(lone, EventRequest(E.cast_vote, vote=Vote.identify, rationale="balance of probabilities"), later)
    assert harness.ok(COORDINATOR, EventRequest(E.formal_decision), later).new_state is State.identified


# --- point 7: the person's requests are recorded, not assumed -----------------------------------------------


@pytest.mark.parametrize("name", [E.request_early_decision, E.withdraw_consent])
def test_a_request_of_the_person_needs_how_and_when(name: EventName) -> None:
    harness = to_recovery()
    now = T0 + 4 * DAY
    guard(harness.send(COORDINATOR, EventRequest(name), now), "request_missing", 422)
    guard(harness.send(COORDINATOR, asked(name, now + HOUR), now), "request_in_future", 422)
    guard(harness.send(COORDINATOR, asked(name, T0 - DAY), now), "request_before_case", 422)
    decision = harness.ok(COORDINATOR, asked(name, now - 2 * HOUR, RequestChannel.through_representative), now)
    assert decision.facts["request_how"] == "through_representative"
    assert decision.facts["requested_at"] == (now - 2 * HOUR).isoformat()
    assert decision.facts["recorded_by"] == COORDINATOR.user_id


# --- point 8: how many reconsiderations are allowed is a policy setting ----------------------------------


def _negative(harness: Harness, n: int, at: datetime) -> Decision:
    a = assessor(n)
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=a), at)
    request = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.negative, reasons="none yet")
    return harness.ok(assessor_actor(a), request, at)


@pytest.mark.parametrize("allowed", [0, 1, 2])
def test_reconsiderations_allowed_is_a_policy_setting(allowed: int) -> None:
    harness = Harness(load_policy("fr").model_copy(update={"reconsiderations_allowed": allowed}))
    harness.refer(ADULT, T0)
    at = T0
    for n in range(1, allowed + 2):
        decision = _negative(harness, n, at)
        window_opened = any(
            isinstance(e, OpenDeadline) and e.kind is K.reconsideration_window for e in decision.effects
        )
        assert window_opened is (n <= allowed), n
        if not window_opened:
            break
        at += DAY
        harness.ok(REFERRER, EventRequest(E.request_reconsideration, reasons="new evidence"), at)
    assert harness.case is not None and harness.case.reconsiderations_held == allowed
    guard(harness.send(REFERRER, EventRequest(E.request_reconsideration, reasons="more"), at), "reconsideration_used")
    # It can no longer move: the coordinator (or the worker, after the policy's delay) may close it now.
    assert harness.ok(SYSTEM, EventRequest(E.close, reason="no_reconsideration"), at).new_state is State.closed
