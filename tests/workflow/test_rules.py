"""The rules of domain.md, one scenario at a time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.workflow import (
    SYSTEM,
    AgeBand,
    AgeOutcome,
    CancelDeadline,
    CloseReason,
    DeadlineKind,
    DeadlineStatus,
    Decision,
    EventName,
    EventRequest,
    MeetDeadline,
    OpenDeadline,
    PanelMember,
    Policy,
    PreliminaryOutcome,
    Referral,
    Refusal,
    Sector,
    State,
    Vote,
    deadline_status,
    decide,
    load_policy,
)
from tests.workflow.helpers import (
    CASEWORKER,
    COORDINATOR,
    FIRST_PANEL,
    REFERRER,
    REFERRING_ORG,
    REVIEW_PANEL,
    T0,
    UK_DECISION_MAKER,
    UK_MAAP,
    Harness,
    asked,
    assessor,
    assessor_actor,
    member,
    member_actor,
)

E = EventName
FR = load_policy("fr")
UK = load_policy("uk")
UK_2019 = load_policy("uk-2019")
ADULT = Referral(age_band=AgeBand.band_25_34, consent_given=True)
CHILD = Referral(age_band=AgeBand.band_15_17, unaccompanied=True, shelter_needed=True)


# The refusal kinds of a guard, by the HTTP status the API gives them (tests/api/test_problems.py).
GUARD_KIND_OF_STATUS = {409: "held_back", 422: "invalid"}


def guard(result: Decision | Refusal, code: str, status: int | None = None) -> Refusal:
    assert isinstance(result, Refusal) and result.kind in GUARD_KIND_OF_STATUS.values() and result.code == code, result
    if status is not None:
        assert result.kind == GUARD_KIND_OF_STATUS[status]
    return result


def to_recovery(policy: Policy = FR, referral: Referral = ADULT, at: datetime = T0) -> Harness:
    harness = Harness(policy)
    harness.refer(referral, at)
    a = assessor(1, Sector.coordination if harness.policy.name.startswith("uk") else Sector.ngo)
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=a), at)
    request = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="grounds")
    harness.ok(assessor_actor(a), request, at + timedelta(hours=1))
    return harness


def vote_all(harness: Harness, members: tuple[PanelMember, ...], vote: Vote, at: datetime) -> None:
    for m in members:
        harness.ok(member_actor(m), EventRequest(E.cast_vote, vote=vote, rationale="because"), at)


def test_adult_without_consent_is_told_to_file_an_anonymous_notification() -> None:
    result = decide(None, REFERRER, EventRequest(E.referral, referral=Referral(age_band=AgeBand.band_35_44)), T0, FR)
    refusal = guard(result, "consent_required", 422)
    assert "anonymous notification" in refusal.message


@pytest.mark.parametrize(
    "referral",
    [
        Referral(age_band=AgeBand.band_12_14),
        Referral(age_band=AgeBand.unknown, date_of_birth=date(2008, 3, 4)),  # 17 on 3 March 2025
        Referral(age_band=AgeBand.band_18_24, age_disputed=True),
    ],
)
def test_a_presumed_child_needs_no_consent(referral: Referral) -> None:
    result = decide(None, REFERRER, EventRequest(E.referral, referral=referral), T0, FR)
    assert isinstance(result, Decision) and result.facts["is_child"] is True
    kinds = [e.kind for e in result.effects if isinstance(e, OpenDeadline)]
    assert DeadlineKind.child_protection_referral in kinds


def test_an_adult_date_of_birth_is_not_a_child() -> None:
    referral = Referral(age_band=AgeBand.unknown, date_of_birth=date(2007, 3, 3))  # 18 that very day
    result = decide(None, REFERRER, EventRequest(E.referral, referral=referral), T0, FR)
    guard(result, "consent_required")


def test_child_referral_opens_protection_from_pre_identification() -> None:
    harness = Harness(FR)
    decision = harness.refer(CHILD, T0)
    assert isinstance(decision, Decision)
    opened = {e.kind: e for e in decision.effects if isinstance(e, OpenDeadline)}
    assert set(opened) == {
        DeadlineKind.preliminary_decision,
        DeadlineKind.child_protection_referral,
        DeadlineKind.guardian_appointment,
        DeadlineKind.shelter_offer,
    }
    assert opened[DeadlineKind.child_protection_referral].due_at == T0 + timedelta(hours=24)
    # A child: 2 working days (Monday 3 March -> end of Wednesday 5 March, Paris).
    assert opened[DeadlineKind.preliminary_decision].due_at == datetime(2025, 3, 5, 23, 0, tzinfo=UTC)
    # The caseworker meets the protection steps.
    step = harness.ok(CASEWORKER, EventRequest(E.child_protection_notified), T0 + timedelta(hours=30))
    assert step.effects[0] == MeetDeadline(DeadlineKind.child_protection_referral, T0 + timedelta(hours=30))
    assert harness.case is not None
    cp = next(d for d in harness.case.deadlines if d.kind is DeadlineKind.child_protection_referral)
    assert deadline_status(cp, T0 + timedelta(days=3)) is DeadlineStatus.met_late
    guard(harness.send(CASEWORKER, EventRequest(E.child_protection_notified), T0), "nothing_due")


def test_a_child_cannot_withdraw_and_an_age_assessment_switches_to_adult_rules() -> None:
    harness = Harness(FR)
    harness.refer(CHILD, T0)
    guard(harness.send(COORDINATOR, EventRequest(E.withdraw_consent), T0), "child_cannot_withdraw")
    adult = EventRequest(E.age_assessed, outcome=AgeOutcome.adult)
    guard(harness.send(COORDINATOR, adult, T0), "consent_required", 422)
    decision = harness.ok(COORDINATOR, EventRequest(E.age_assessed, outcome=AgeOutcome.adult, consent_given=True), T0)
    cancelled = {e.kind for e in decision.effects if isinstance(e, CancelDeadline)}
    assert cancelled == {DeadlineKind.child_protection_referral, DeadlineKind.guardian_appointment}
    assert harness.case is not None and not harness.case.is_child and harness.case.consent_given
    assert harness.ok(COORDINATOR, asked(E.withdraw_consent, T0), T0).new_state is State.withdrawn


def test_an_adult_without_consent_after_age_assessment_is_withdrawn() -> None:
    harness = Harness(FR)
    harness.refer(CHILD, T0)
    request = EventRequest(E.age_assessed, outcome=AgeOutcome.adult, consent_given=False)
    decision = harness.ok(COORDINATOR, request, T0)
    assert decision.new_state is State.withdrawn
    assert harness.case is not None
    assert all(d.is_closed for d in harness.case.deadlines)


def test_reconsideration_needs_a_different_assessor_and_happens_once() -> None:
    harness = Harness(FR)
    harness.refer(ADULT, T0)
    first = assessor(1)
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=first), T0)
    negative = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.negative, reasons="no")
    harness.ok(assessor_actor(first), negative, T0 + timedelta(days=1))
    guard(harness.send(COORDINATOR, EventRequest(E.close, reason="other"), T0 + timedelta(days=2)), "window_open")
    missing = EventRequest(E.request_reconsideration, reasons="  ")
    guard(harness.send(REFERRER, missing, T0 + timedelta(days=2)), "reasons_missing", 422)
    request = EventRequest(E.request_reconsideration, reasons="new evidence")
    assert harness.ok(REFERRER, request, T0 + timedelta(days=2)).new_state is State.preliminary_assessment
    same = harness.send(COORDINATOR, EventRequest(E.assign_assessor, assessor=first), T0 + timedelta(days=2))
    guard(same, "same_assessor", 422)
    second = assessor(2, Sector.social_services)
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=second), T0 + timedelta(days=2))
    decision = harness.ok(assessor_actor(second), negative, T0 + timedelta(days=3))
    assert not any(isinstance(e, OpenDeadline) for e in decision.effects)  # no second window
    closed = harness.ok(SYSTEM, EventRequest(E.close, reason="no_reconsideration"), T0 + timedelta(days=3))
    assert closed.new_state is State.closed
    # Running the job again changes nothing: the case is closed.
    again = harness.send(SYSTEM, EventRequest(E.close, reason="no_reconsideration"), T0 + timedelta(days=4))
    assert isinstance(again, Refusal) and again.kind == "not_allowed_in_state"


def test_assessor_must_hold_the_role_in_an_allowed_sector() -> None:
    harness = Harness(FR)
    harness.refer(ADULT, T0)
    health = assessor(1, Sector.health)
    guard(harness.send(COORDINATOR, EventRequest(E.assign_assessor, assessor=health), T0), "sector_not_allowed", 422)
    not_assessor = member("x", Sector.ngo)
    guard(harness.send(COORDINATOR, EventRequest(E.assign_assessor, assessor=not_assessor), T0), "not_an_assessor")


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        (FIRST_PANEL[:2], "at least 3 voting member"),
        ((member("a", Sector.ngo), member("b", Sector.ngo), member("c", Sector.police)), "at least 3 sector"),
        (
            (member("a", Sector.police), member("b", Sector.health), member("c", Sector.labour_inspection)),
            "sector ngo must sit",
        ),
        ((*FIRST_PANEL[:2], member("c", Sector.health, org=REFERRING_ORG)), "referring organisation"),
    ],
)
def test_panel_composition(members: tuple[PanelMember, ...], fragment: str) -> None:
    harness = to_recovery()
    refusal = guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=members), T0), "panel_composition")
    assert fragment in refusal.message


def test_a_child_needs_child_protection_on_the_panel() -> None:
    harness = to_recovery(referral=Referral(age_band=AgeBand.band_12_14))
    members = (member("a", Sector.ngo), member("b", Sector.police), member("c", Sector.health))
    refusal = guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=members), T0), "panel_composition")
    assert "child_protection" in refusal.message


def test_formal_decision_waits_for_the_reflection_period_unless_asked() -> None:
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0 + timedelta(days=2))
    vote_all(harness, FIRST_PANEL, Vote.identify, T0 + timedelta(days=3))
    refusal = guard(
        harness.send(COORDINATOR, EventRequest(E.formal_decision), T0 + timedelta(days=4)), "reflection_period_running"
    )
    # Positive decision on Monday 3 March (10:00 Paris) + 30 days = Wednesday 2 April.
    assert refusal.message == "the reflection period runs until 2025-04-02"
    harness.ok(COORDINATOR, asked(E.request_early_decision, T0 + timedelta(days=4)), T0 + timedelta(days=4))
    decision = harness.ok(COORDINATOR, EventRequest(E.formal_decision), T0 + timedelta(days=4))
    assert decision.new_state is State.identified and decision.facts["early_decision"] is True


def test_conflicts_quorum_and_the_tie_rule() -> None:
    panel = (*FIRST_PANEL, member("p4", Sector.health))
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=panel), T0)
    later = T0 + timedelta(days=40)
    harness.ok(member_actor(panel[3]), EventRequest(E.declare_conflict, reason="knows the employer"), later)
    # A declared conflict ends the member's relation to the case (issue 10 point 12): no vote, no need-to-know.
    refused = harness.send(member_actor(panel[3]), EventRequest(E.cast_vote, vote=Vote.identify, rationale="x"), later)
    assert isinstance(refused, Refusal) and (refused.kind, refused.code) == ("forbidden", "relation"), refused
    harness.ok(member_actor(panel[0]), EventRequest(E.cast_vote, vote=Vote.identify, rationale="r"), later)
    guard(
        harness.send(member_actor(panel[0]), EventRequest(E.cast_vote, vote=Vote.identify, rationale="r"), later),
        "already_voted",
    )
    harness.ok(member_actor(panel[1]), EventRequest(E.cast_vote, vote=Vote.not_identify, rationale="r"), later)
    guard(harness.send(COORDINATOR, EventRequest(E.formal_decision), later), "panel_cannot_decide")
    harness.ok(member_actor(panel[2]), EventRequest(E.cast_vote, vote=Vote.abstain, rationale="r"), later)
    decision = harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    # 1 identify, 1 not_identify, 1 abstention: a tie, and `fr` gives the benefit of the doubt.
    assert decision.new_state is State.identified
    assert decision.facts["votes_abstain"] == 1


def test_a_panel_left_unable_to_decide_can_be_replaced() -> None:
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0)
    guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=REVIEW_PANEL), T0), "panel_sitting")
    harness.ok(member_actor(FIRST_PANEL[0]), EventRequest(E.declare_conflict, reason="r"), T0)
    again = EventRequest(E.convene_panel, members=(FIRST_PANEL[0], *REVIEW_PANEL[1:]))
    guard(harness.send(COORDINATOR, again, T0), "panel_composition")
    assert harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=REVIEW_PANEL), T0).new_state is (
        State.formal_assessment
    )


def test_review_panel_shares_no_member_and_its_decision_is_final() -> None:
    harness = to_recovery()
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0)
    later = T0 + timedelta(days=40)
    vote_all(harness, FIRST_PANEL, Vote.not_identify, later)
    assert harness.ok(COORDINATOR, EventRequest(E.formal_decision), later).new_state is State.not_identified
    harness.ok(CASEWORKER, EventRequest(E.request_review, reasons="new facts"), later)
    overlapping = EventRequest(E.convene_panel, members=(FIRST_PANEL[0], *REVIEW_PANEL[1:]))
    assert "sat on the first panel" in guard(harness.send(COORDINATOR, overlapping, later), "panel_composition").message
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=REVIEW_PANEL), later)
    vote_all(harness, REVIEW_PANEL, Vote.not_identify, later)
    decision = harness.ok(COORDINATOR, EventRequest(E.review_decision), later)
    assert decision.new_state is State.not_identified
    guard(harness.send(CASEWORKER, EventRequest(E.request_review, reasons="again"), later), "review_used")
    assert harness.ok(COORDINATOR, EventRequest(E.close, reason="no_review"), later).new_state is State.closed


def test_uk_2019_single_decision_maker_and_a_maap_review() -> None:
    # 2019-2022: a Multi-Agency Assurance Panel reviewed every negative conclusive decision (policy `uk-2019`).
    harness = to_recovery(policy=UK_2019)
    guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL[:1]), T0), "panel_composition")
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=UK_DECISION_MAKER), T0)
    later = T0 + timedelta(days=50)  # the recovery period was 45 days then
    vote_all(harness, UK_DECISION_MAKER, Vote.not_identify, later)
    decision = harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    assert decision.new_state is State.under_review and decision.facts["automatic_review"] is True
    opened = {e.kind for e in decision.effects if isinstance(e, OpenDeadline)}
    assert opened == {DeadlineKind.panel_convening, DeadlineKind.review_decision}
    guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=UK_MAAP[:2]), later), "panel_composition")
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=UK_MAAP), later)
    vote_all(harness, UK_MAAP, Vote.identify, later)
    assert harness.ok(COORDINATOR, EventRequest(E.review_decision), later).new_state is State.identified


def test_close_rules_and_voluntary_return() -> None:
    harness = to_recovery(referral=Referral(age_band=AgeBand.band_15_17))
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=FIRST_PANEL), T0)
    later = T0 + timedelta(days=40)
    vote_all(harness, FIRST_PANEL, Vote.identify, later)
    harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    guard(harness.send(COORDINATOR, EventRequest(E.close), later), "reason_missing", 422)
    guard(harness.send(COORDINATOR, EventRequest(E.close, reason="no_review"), later), "reason_not_applicable")
    back = EventRequest(E.close, reason=CloseReason.voluntary_return.value)
    guard(harness.send(COORDINATOR, back, later), "risk_assessment_missing", 422)
    back = EventRequest(E.close, reason="voluntary_return", risk_assessment="assessed")
    guard(harness.send(COORDINATOR, back, later), "best_interests_missing", 422)
    refused = harness.send(SYSTEM, EventRequest(E.close, reason="support_completed"), later)
    assert isinstance(refused, Refusal) and refused.kind == "forbidden"
    back = EventRequest(E.close, reason="voluntary_return", risk_assessment="a", best_interests_determination="b")
    decision = harness.ok(COORDINATOR, back, later)
    assert decision.new_state is State.closed and decision.facts["reason"] == "voluntary_return"
    assert harness.case is not None
    for deadline in harness.case.deadlines:
        assert deadline_status(deadline, later) in {
            DeadlineStatus.met,
            DeadlineStatus.met_late,
            DeadlineStatus.cancelled,
        }
    reflection = next(d for d in harness.case.deadlines if d.kind is DeadlineKind.reflection_period)
    assert reflection.met_at == reflection.due_at  # its end had passed: the right was fully had


def test_a_running_right_is_cancelled_when_the_case_ends_first() -> None:
    harness = to_recovery()
    decision = harness.ok(REFERRER, asked(E.withdraw_consent, T0 + timedelta(days=3)), T0 + timedelta(days=3))
    assert CancelDeadline(DeadlineKind.reflection_period, T0 + timedelta(days=3)) in decision.effects
    assert decision.facts["erasure_after_days"] == FR.withdrawal_grace_days


def test_a_missing_child_opens_the_police_report_deadline() -> None:
    harness = Harness(FR)
    harness.refer(CHILD, T0)
    decision = harness.ok(CASEWORKER, EventRequest(E.report_missing), T0 + timedelta(hours=3))
    opened = [e for e in decision.effects if isinstance(e, OpenDeadline)]
    assert opened == [OpenDeadline(DeadlineKind.missing_child_report, T0 + timedelta(hours=3), T0 + timedelta(hours=5))]
    met = harness.ok(CASEWORKER, EventRequest(E.police_notified), T0 + timedelta(hours=4))
    assert met.effects[0] == MeetDeadline(DeadlineKind.missing_child_report, T0 + timedelta(hours=4))
    found = harness.ok(COORDINATOR, EventRequest(E.report_found), T0 + timedelta(days=2))
    assert found.new_state is State.referred


def test_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(None, REFERRER, EventRequest(E.referral, referral=ADULT), datetime(2025, 1, 1), FR)


def test_facts_hold_no_free_text() -> None:
    harness = to_recovery()
    for decision in harness.history:
        for value in decision.facts.values():
            assert value != "grounds"


def test_one_machine_no_models_and_thread_safe() -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.workflow import MACHINE

    harness = to_recovery()
    assert harness.case is not None
    case = harness.case
    request = EventRequest(E.convene_panel, members=FIRST_PANEL)
    expected = decide(case, COORDINATOR, request, T0, FR)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: decide(case, COORDINATOR, request, T0, FR), range(200)))
    assert all(result == expected for result in results)
    assert MACHINE.models == []  # nothing is bound per request, so nothing leaks


def test_uk_since_2022_a_second_decision_maker_reviews_a_negative_conclusive_decision() -> None:
    # No MAAP since December 2022: a second caseworker or manager of the competent authority, never the first
    # decision maker, reviews the negative decision before it takes effect, and may overturn it.
    harness = to_recovery(policy=UK)
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=UK_DECISION_MAKER), T0)
    later = T0 + timedelta(days=45)
    vote_all(harness, UK_DECISION_MAKER, Vote.not_identify, later)
    decision = harness.ok(COORDINATOR, EventRequest(E.formal_decision), later)
    assert decision.new_state is State.under_review and decision.facts["automatic_review"] is True
    guard(harness.send(COORDINATOR, EventRequest(E.convene_panel, members=UK_MAAP), later), "panel_composition")
    same = guard(
        harness.send(COORDINATOR, EventRequest(E.convene_panel, members=UK_DECISION_MAKER), later), "panel_composition"
    )
    assert "sat on the first panel" in same.message
    second = (member("sca2", Sector.coordination),)
    harness.ok(COORDINATOR, EventRequest(E.convene_panel, members=second), later)
    vote_all(harness, second, Vote.identify, later)
    assert harness.ok(COORDINATOR, EventRequest(E.review_decision), later).new_state is State.identified


def _negative_rg(harness: Harness, decider: PanelMember, at: datetime) -> Decision:
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=decider), at)
    request = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.negative, reasons="no grounds")
    return harness.ok(assessor_actor(decider), request, at + timedelta(hours=1))


def test_uk_since_2022_a_negative_reasonable_grounds_decision_waits_for_a_second_decision_maker() -> None:
    harness = Harness(UK)
    harness.refer(ADULT, T0)
    first, second = assessor(1, Sector.coordination), assessor(2, Sector.coordination)
    decision = _negative_rg(harness, first, T0)
    # Not in effect: the case stays in preliminary assessment, without assessor, the first one set aside.
    assert decision.new_state is State.preliminary_assessment and decision.facts["second_check"] is True
    assert harness.case is not None and harness.case.second_check_pending and harness.case.assessor_id is None
    # The reasonable-grounds deadline stays open: the decision is made once a decision takes effect.
    assert not any(isinstance(e, MeetDeadline) for e in decision.effects)
    assert not any(
        isinstance(e, OpenDeadline) and e.kind is DeadlineKind.reconsideration_window for e in decision.effects
    )
    guard(harness.send(COORDINATOR, EventRequest(E.assign_assessor, assessor=first), T0), "same_assessor")
    # The second confirms: now the negative decision takes effect, with the person's reconsideration window.
    confirmed = _negative_rg(harness, second, T0 + timedelta(days=1))
    assert confirmed.new_state is State.preliminary_negative and confirmed.facts["second_check"] is True
    assert any(isinstance(e, OpenDeadline) and e.kind is DeadlineKind.reconsideration_window for e in confirmed.effects)
    assert not harness.case.second_check_pending


def test_uk_since_2022_the_second_decision_maker_may_overturn_a_negative_reasonable_grounds_decision() -> None:
    harness = Harness(UK)
    harness.refer(ADULT, T0)
    _negative_rg(harness, assessor(1, Sector.coordination), T0)
    second = assessor(2, Sector.coordination)
    harness.ok(COORDINATOR, EventRequest(E.assign_assessor, assessor=second), T0)
    request = EventRequest(E.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="grounds after all")
    overturned = harness.ok(assessor_actor(second), request, T0 + timedelta(days=1))
    assert overturned.new_state is State.recovery_period
    assert harness.case is not None and not harness.case.second_check_pending
    # Under `uk-2019` (and `fr`) a negative decision takes effect at once.
    before = Harness(UK_2019)
    before.refer(ADULT, T0)
    assert _negative_rg(before, assessor(1, Sector.coordination), T0).new_state is State.preliminary_negative
