"""Beyond identification, in the pure workflow: emergency shelter before the preliminary decision, the recurring
support review, `reopen` and its guards, the needs assessment's slots, entitlements and the policy keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.workflow import (
    AgeBand,
    CloseReason,
    DeadlineKind,
    Decision,
    EventName,
    EventRequest,
    FormalOutcome,
    PolicyError,
    PreliminaryOutcome,
    Referral,
    Refusal,
    State,
    Vote,
    load_policy,
    validate_policy_file,
)
from app.workflow.deadlines import find_unclosed
from app.workflow.justice import (
    TRACK_OF,
    EntitlementFacts,
    EntitlementStatus,
    Milestone,
    Track,
    entitlement_status,
    steps_of,
)
from app.workflow.needs import SLOTS, Answer, Area, AssessmentScope, assessment_answers
from app.workflow.policy import POLICY_DIR
from app.workflow.states import NeedKind, ReopenReason
from app.workflow.support import Urgency
from tests.workflow.helpers import (
    CASEWORKER,
    COORDINATOR,
    FIRST_PANEL,
    T0,
    Harness,
    assessor,
    assessor_actor,
    base_case,
    edited_copy,
    member_actor,
)

E = EventName
K = DeadlineKind
ADULT_WITHOUT_SHELTER = Referral(age_band=AgeBand.band_25_34, consent_given=True, shelter_needed=True)


def _identified(policy: str = "fr") -> Harness:
    """A harness whose adult case was formally identified 31 days after a positive preliminary decision."""
    harness = Harness(load_policy(policy))
    harness.refer(Referral(age_band=AgeBand.band_25_34, consent_given=True), T0)
    a = assessor()
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=a), T0)
    rg = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="reasonable grounds")
    harness.ok(assessor_actor(a), rg, T0 + timedelta(hours=1))
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0 + timedelta(days=1))
    for m in FIRST_PANEL:
        harness.ok(
            member_actor(m), EventRequest(E.cast_vote, vote=Vote.identify, rationale="r"), T0 + timedelta(days=2)
        )
    harness.ok(COORDINATOR, EventRequest(E.formal_decision), T0 + timedelta(days=32))
    assert harness.case is not None and harness.case.state is State.identified
    return harness


# ------------------------------------------------------------------------------------- emergency shelter


def test_an_adult_with_nowhere_safe_gets_emergency_shelter_where_the_policy_says_so() -> None:
    harness = Harness(load_policy("fr"))
    decision = harness.refer(ADULT_WITHOUT_SHELTER, T0)
    assert isinstance(decision, Decision)
    assert harness.case is not None
    shelter = find_unclosed(harness.case.deadlines, K.emergency_shelter)
    assert shelter is not None and shelter.due_at == T0 + timedelta(hours=12)
    # It is the emergency duty's own event that meets it; the post-decision shelter offer is not due yet.
    assert find_unclosed(harness.case.deadlines, K.shelter_offer) is None
    met = harness.ok(CASEWORKER, EventRequest(E.emergency_shelter_provided), T0 + timedelta(hours=3))
    assert met.facts["deadlines_met"] == ("emergency_shelter",)
    assert harness.case.state is State.referred
    again = harness.send(CASEWORKER, EventRequest(E.emergency_shelter_provided), T0 + timedelta(hours=4))
    assert isinstance(again, Refusal) and again.kind == "held_back" and again.code == "nothing_due"


@pytest.mark.parametrize(
    ("policy", "referral"),
    [
        ("coe", ADULT_WITHOUT_SHELTER),  # the Convention owes assistance from reasonable grounds
        ("fr", Referral(age_band=AgeBand.band_25_34, consent_given=True)),  # somewhere safe to stay
        ("fr", Referral(age_band=AgeBand.band_15_17, shelter_needed=True)),  # a child: shelter_offer instead
    ],
)
def test_no_emergency_shelter_duty_otherwise(policy: str, referral: Referral) -> None:
    harness = Harness(load_policy(policy))
    harness.refer(referral, T0)
    assert harness.case is not None
    assert find_unclosed(harness.case.deadlines, K.emergency_shelter) is None
    child_shelter = find_unclosed(harness.case.deadlines, K.shelter_offer)
    assert (child_shelter is not None) == (referral.age_band is AgeBand.band_15_17)


# ------------------------------------------------------------------------------------ the support review


def test_identification_opens_a_recurring_support_review() -> None:
    harness = _identified()
    case = harness.case
    assert case is not None
    identified_at = T0 + timedelta(days=32)
    first = find_unclosed(case.deadlines, K.support_review)
    assert first is not None and first.opened_at == identified_at
    # 30 calendar days from Friday 4 April 2025 end on Sunday 4 May, moved to Monday 5 May (CPC art. 642).
    calendar = harness.policy.calendar
    assert calendar.last_day(first.due_at) == date(2025, 5, 5)

    reviewed = harness.ok(CASEWORKER, EventRequest(E.support_plan_reviewed, note="housing found"), identified_at)
    assert reviewed.facts["deadlines_met"] == ("support_review",)
    assert reviewed.facts["deadlines_opened"] == ("support_review",)
    assert reviewed.facts["late"] is False
    assert reviewed.new_state is State.identified
    nxt = find_unclosed(harness.case.deadlines, K.support_review)  # type: ignore[union-attr]
    assert nxt is not None and calendar.last_day(nxt.due_at) == date(2025, 7, 3)  # 90 days, from the review

    # Five years on, reviewed late each time: the same rule, no special case; lateness is recorded.
    now = identified_at
    for _ in range(22):
        now += timedelta(days=100)
        decision = harness.ok(COORDINATOR, EventRequest(E.support_plan_reviewed), now)
        assert decision.facts["late"] is True
    assert now - identified_at > timedelta(days=5 * 365)
    reviews = [d for d in harness.case.deadlines if d.kind is K.support_review]  # type: ignore[union-attr]
    assert len(reviews) == 24 and sum(1 for d in reviews if not d.is_closed) == 1


def test_the_support_review_pauses_while_the_person_is_missing() -> None:
    harness = _identified()
    start = T0 + timedelta(days=40)
    pause = harness.ok(COORDINATOR, EventRequest(E.report_missing), start)
    assert "support_review" in pause.facts["deadlines_paused"]  # type: ignore[operator]
    review = harness.send(CASEWORKER, EventRequest(E.support_plan_reviewed), start + timedelta(days=1))
    assert isinstance(review, Refusal) and review.kind == "not_allowed_in_state"
    found = harness.ok(COORDINATOR, EventRequest(E.report_found), start + timedelta(days=200))
    assert "support_review" in found.facts["deadlines_resumed"]  # type: ignore[operator]


def test_support_completed_closes_only_the_support_of_an_identified_person() -> None:
    case = base_case(state=State.not_identified, review_done=True)
    result = Harness(load_policy("fr"), case).send(
        COORDINATOR, EventRequest(E.close, reason="support_completed"), T0 + timedelta(days=400)
    )
    assert isinstance(result, Refusal) and result.kind == "invalid" and result.code == "reason_not_applicable"


# ------------------------------------------------------------------------------------------------- reopen


def _closed(harness: Harness, reason: CloseReason, at_days: int = 700) -> None:
    harness.ok(COORDINATOR, EventRequest(E.close, reason=reason.value), T0 + timedelta(days=at_days))


def test_reopen_brings_a_supported_person_back_and_restarts_the_plan() -> None:
    harness = _identified()
    _closed(harness, CloseReason.support_completed)
    assert harness.case is not None and harness.case.close_reason is CloseReason.support_completed
    assert find_unclosed(harness.case.deadlines, K.support_review) is None  # ended with the case
    later = T0 + timedelta(days=1500)
    missing_reason = harness.send(COORDINATOR, EventRequest(E.reopen), later)
    assert isinstance(missing_reason, Refusal) and missing_reason.kind == "invalid"
    bogus = harness.send(COORDINATOR, EventRequest(E.reopen, reason="because"), later)
    assert isinstance(bogus, Refusal) and bogus.code == "reason_missing"
    refused = harness.send(CASEWORKER, EventRequest(E.reopen, reason="other"), later)
    assert isinstance(refused, Refusal) and refused.kind == "forbidden"

    decision = harness.ok(COORDINATOR, EventRequest(E.reopen, reason=ReopenReason.proceedings.value), later)
    assert decision.from_state is State.closed and decision.new_state is State.identified
    assert decision.facts["reason"] == "proceedings" and decision.facts["closed_as"] == "support_completed"
    assert harness.case.close_reason is None
    review = find_unclosed(harness.case.deadlines, K.support_review)
    assert review is not None and review.opened_at == later
    # And it can close again, and be reopened again: the history simply goes on.
    harness.ok(COORDINATOR, EventRequest(E.close, reason="lost_contact"), later + timedelta(days=90))
    harness.ok(COORDINATOR, EventRequest(E.reopen, reason="contact_restored"), later + timedelta(days=400))


@pytest.mark.parametrize(
    ("reason", "code"),
    [(CloseReason.voluntary_return, "not_reopenable"), (CloseReason.deceased, "not_reopenable")],
)
def test_reopen_refuses_other_closures(reason: CloseReason, code: str) -> None:
    harness = _identified()
    request = EventRequest(E.close, reason=reason.value, risk_assessment="assessed")
    harness.ok(COORDINATOR, request, T0 + timedelta(days=700))
    result = harness.send(COORDINATOR, EventRequest(E.reopen, reason="other"), T0 + timedelta(days=800))
    assert isinstance(result, Refusal) and result.kind == "held_back" and result.code == code
    assert result.state is State.closed


def test_reopen_needs_a_formal_identification_and_the_data() -> None:
    never = base_case(state=State.closed, close_reason=CloseReason.lost_contact)
    result = Harness(load_policy("fr"), never).send(COORDINATOR, EventRequest(E.reopen, reason="other"), T0)
    assert isinstance(result, Refusal) and result.code == "never_identified"
    erased = replace(never, formal_outcome=FormalOutcome.identified, personal_data_erased=True)
    result = Harness(load_policy("fr"), erased).send(COORDINATOR, EventRequest(E.reopen, reason="other"), T0)
    assert isinstance(result, Refusal) and result.code == "erased"
    fine = replace(erased, personal_data_erased=False)
    assert isinstance(
        Harness(load_policy("fr"), fine).send(COORDINATOR, EventRequest(E.reopen, reason="other"), T0), Decision
    )


# -------------------------------------------------------------------------------------------- entitlements


def _facts(**changes: object) -> EntitlementFacts:
    base = EntitlementFacts(preliminary_positive=False, identified=False, nationality="NG", milestones=frozenset())
    return replace(base, **changes)  # type: ignore[arg-type]


def test_entitlements_follow_identification_not_proceedings() -> None:
    policy = load_policy("fr")
    rules = {rule.code: rule for rule in policy.entitlements}
    receipt, card = rules["reflection_receipt"], rules["temporary_residence_card"]
    assert entitlement_status(receipt, _facts(), "FR") is EntitlementStatus.not_yet
    assert entitlement_status(receipt, _facts(preliminary_positive=True), "FR") is EntitlementStatus.open
    assert entitlement_status(card, _facts(identified=True), "FR") is EntitlementStatus.awaiting_condition
    testified = _facts(identified=True, milestones=frozenset({Milestone.testimony_given}))
    assert entitlement_status(card, testified, "FR") is EntitlementStatus.open
    assert entitlement_status(card, replace(testified, nationality="FR"), "FR") is EntitlementStatus.not_applicable
    assert entitlement_status(card, replace(testified, nationality="unknown"), "FR") is EntitlementStatus.open
    civi = rules["compensation_civi"]
    assert entitlement_status(civi, _facts(preliminary_positive=True), "FR") is EntitlementStatus.not_yet
    assert entitlement_status(civi, _facts(identified=True), "FR") is EntitlementStatus.open


def test_every_milestone_has_one_track() -> None:
    assert {TRACK_OF[step] for step in Milestone} == set(Track)
    assert sum(len(steps_of(track)) for track in Track) == len(Milestone)


# ------------------------------------------------------------------------------------- needs assessment


def test_a_full_assessment_answers_every_slot() -> None:
    answers = {slot: Answer.no_need for slot in SLOTS}
    done, problems = assessment_answers(AssessmentScope.full, [], answers)
    assert problems == [] and done == answers
    del answers[(Urgency.long_term, Area.health)]
    _, problems = assessment_answers(AssessmentScope.full, [], answers)
    assert len(problems) == 1 and "long_term.health" in problems[0]
    # Health is asked in both parts: an immediate medical need leaves the long-term health slot to answer.
    del answers[(Urgency.immediate, Area.health)]
    _, problems = assessment_answers(AssessmentScope.full, [(NeedKind.medical, Urgency.immediate)], answers)
    assert len(problems) == 1 and "long_term.health" in problems[0]
    needs = [(NeedKind.medical, Urgency.immediate), (NeedKind.psychological, Urgency.long_term)]
    done, problems = assessment_answers(AssessmentScope.full, needs, answers)
    assert problems == [] and done[(Urgency.long_term, Area.health)] is Answer.need


def test_contradictory_answers_are_refused_and_other_needs_are_welcome() -> None:
    answers = {(Urgency.immediate, Area.debt): Answer.no_need, (Urgency.immediate, Area.safety): Answer.need}
    needs = [(NeedKind.debt, Urgency.immediate), (NeedKind.other, Urgency.immediate)]
    _, problems = assessment_answers(AssessmentScope.partial, needs, answers)
    assert any("immediate.debt" in p for p in problems)
    assert any("immediate.safety" in p for p in problems)
    done, problems = assessment_answers(AssessmentScope.partial, needs, {})
    assert problems == [] and done == {(Urgency.immediate, Area.debt): Answer.need}


# -------------------------------------------------------------------------------------------- policy keys


def test_the_policies_set_the_new_keys() -> None:
    fr = load_policy("fr")
    assert fr.emergency_shelter_before_preliminary_decision
    assert fr.duration(K.emergency_shelter, False).value == 12
    assert fr.duration(K.support_review, False) == fr.support_plan.first_review
    assert fr.service_deadline(NeedKind.housing, long_term=True).value == 90
    assert fr.service_deadline(NeedKind.housing, long_term=False).value == 30
    assert fr.service_deadline(NeedKind.debt, long_term=True) == fr.service_deadlines[NeedKind.debt]
    assert not load_policy("coe").emergency_shelter_before_preliminary_decision
    with pytest.raises(PolicyError):
        load_policy("coe").duration(K.emergency_shelter, False)
    for name in ("fr", "uk", "coe", "be"):
        assert load_policy(name).entitlements, name


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[deadlines.emergency_shelter]", "[deadlines.unused_table]", "deadlines"),
        ('adult = { value = 12, unit = "hours" }', 'child = { value = 12, unit = "hours" }', "emergency_shelter"),
        ("first_review = { value = 30,", "first_review = { value = 0,", "above zero"),
        ('code = "legal_aid"', 'code = "health_care"', "listed twice: health_care"),
        ('en = "Legal aid', 'de = "Legal aid', "title"),
        ("[support_plan]", "[support_plans]", "support_plan"),
    ],
)
def test_a_broken_policy_names_the_problem(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = edited_copy(POLICY_DIR / "fr.toml", tmp_path / "fr-broken.toml", old, new)
    with pytest.raises(PolicyError, match=message):
        validate_policy_file(path)
