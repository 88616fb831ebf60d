"""The workflow's transfer rules, pure: which case may leave and on what basis (`transfer_refusal`), what a
receiving mechanism makes of the sender's decisions (`transfer_in`: recognised or taken again, the reflection
period carried over), and the close on a peer's receipt (`transfer_completed`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.workflow import (
    SYSTEM,
    AgeBand,
    AgeOutcome,
    CarriedOver,
    CloseReason,
    DeadlineKind,
    Decision,
    EventName,
    EventRequest,
    FormalOutcome,
    OpenDeadline,
    Policy,
    PreliminaryOutcome,
    Recognition,
    RecordOutcome,
    Referral,
    Refusal,
    SetClosure,
    State,
    apply_decision,
    decide,
    decide_transfer_in,
    load_policy,
    new_case,
)
from app.workflow.deadlines import DeadlineSnapshot
from app.workflow.transfers import ConsentMethod, TransferConsent, running_clocks, transfer_refusal
from tests.workflow.helpers import COORDINATOR, REFERRER, T0, assessor, assessor_actor, base_case

K = DeadlineKind
S = State
FR, BE, UK = load_policy("fr"), load_policy("be"), load_policy("uk")
ADULT = Referral(age_band=AgeBand.band_25_34, consent_given=True)
CHILD = Referral(age_band=AgeBand.band_15_17, unaccompanied=True, shelter_needed=True)
SENT_DECISION = T0 - timedelta(days=10)
NOW = T0
CONSENT = TransferConsent(ConsentMethod.in_writing, T0 - timedelta(days=1))


def carried(**changes: object) -> CarriedOver:
    """An adult's case in its reflection period at the sender (30 days from a positive decision 10 days ago)."""
    base = CarriedOver(
        peer="peer-a",
        sender_reference="A-REF-1",
        sender_state=S.recovery_period,
        is_child=False,
        transfer_consent=True,
        preliminary_outcome=PreliminaryOutcome.positive,
        preliminary_decided_at=SENT_DECISION,
        reflection_period_ends_at=SENT_DECISION + timedelta(days=30),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def with_rules(policy: Policy, preliminary: Recognition, formal: Recognition) -> Policy:
    rules = policy.transfers.model_copy(
        update={"preliminary_identification": preliminary, "formal_identification": formal}
    )
    return policy.model_copy(update={"transfers": rules})


def accepted(policy: Policy, what: CarriedOver, referral: Referral = ADULT) -> Decision:
    result = decide_transfer_in(COORDINATOR, referral, what, NOW, policy)
    assert isinstance(result, Decision), result
    return result


def opened(decision: Decision) -> dict[DeadlineKind, datetime]:
    return {e.kind: e.due_at for e in decision.effects if isinstance(e, OpenDeadline)}


# --------------------------------------------------------------------------------------------- sending


@pytest.mark.parametrize(
    ("case", "consent", "best_interests", "code"),
    [
        (base_case(state=S.recovery_period), CONSENT, None, None),
        (base_case(state=S.suspended), CONSENT, None, None),
        (base_case(state=S.recovery_period), None, None, "consent_required"),
        (base_case(state=S.recovery_period), None, "in the child's interest", "consent_required"),
        (base_case(state=S.referred, is_child=True), None, "near the grandmother, school place", None),
        (base_case(state=S.referred, is_child=True), CONSENT, None, "best_interests_missing"),
        (base_case(state=S.referred, is_child=True), None, "   ", "best_interests_missing"),
        (base_case(state=S.closed), CONSENT, None, "state"),
        (base_case(state=S.withdrawn), CONSENT, None, "state"),
        (
            base_case(state=S.identified),
            TransferConsent(ConsentMethod.orally, NOW + timedelta(hours=1)),
            None,
            "consent_in_future",
        ),
    ],
)
def test_which_case_may_leave(
    case: object, consent: TransferConsent | None, best_interests: str | None, code: str | None
) -> None:
    result = transfer_refusal(case, consent, best_interests, NOW)  # type: ignore[arg-type]
    assert (result.code if result is not None else None) == code


def test_running_clocks_say_what_remains() -> None:
    case = base_case(
        state=S.suspended,
        deadlines=(
            DeadlineSnapshot(K.reflection_period, T0 - timedelta(days=5), T0 + timedelta(days=25)),
            DeadlineSnapshot(K.review_window, T0 - timedelta(days=70), T0 - timedelta(days=10)),  # over
            DeadlineSnapshot(
                K.guardian_appointment,
                T0 - timedelta(days=2),
                T0 + timedelta(days=1),
                paused_at=T0 - timedelta(days=1),
                remaining=timedelta(hours=30),
            ),
            DeadlineSnapshot(K.preliminary_decision, T0 - timedelta(days=9), T0 - timedelta(days=2)),  # overdue
            DeadlineSnapshot(K.shelter_offer, T0 - timedelta(days=9), T0, met_at=T0 - timedelta(days=8)),
        ),
    )
    clocks = {c.kind: c for c in running_clocks(case, NOW)}
    assert set(clocks) == {K.reflection_period, K.guardian_appointment, K.preliminary_decision}
    assert clocks[K.reflection_period].remaining == timedelta(days=25) and clocks[K.reflection_period].is_right
    assert clocks[K.guardian_appointment].paused and clocks[K.guardian_appointment].remaining == timedelta(hours=30)
    assert clocks[K.preliminary_decision].remaining == timedelta(days=-2)


# ------------------------------------------------------------------------------------------- receiving


def test_recognised_reasonable_grounds_start_in_the_recovery_period_with_the_sender_s_period() -> None:
    decision = accepted(FR, carried())
    assert decision.new_state is S.recovery_period and decision.event is EventName.transfer_in
    # fr: 30 days from the sender's decision, to the end of that local day, which is after the sender's own
    # end; protection duties start here, now.
    own_end = FR.calendar.due_after(SENT_DECISION, FR.reflection_period)
    assert own_end >= SENT_DECISION + timedelta(days=30)
    assert opened(decision)[K.reflection_period] == own_end
    assert K.panel_convening in opened(decision) and K.preliminary_decision not in opened(decision)
    assert RecordOutcome("preliminary", "positive") in decision.effects
    facts = decision.facts
    assert facts["recognised"] == "preliminary" and facts["peer"] == "peer-a" and facts["peer_reference"] == "A-REF-1"
    assert facts["sender_preliminary"] == "positive" and facts["sender_preliminary_at"] == SENT_DECISION.isoformat()


def test_a_longer_period_here_counts_from_the_sender_s_decision_and_a_longer_one_there_is_kept() -> None:
    # be grants 45 days: counted from the sender's decision, it ends after the sender's 30.
    be_end = opened(accepted(BE, carried()))[K.reflection_period]
    assert be_end == BE.calendar.due_after(SENT_DECISION, BE.reflection_period)
    assert be_end > SENT_DECISION + timedelta(days=30)
    # a sender that granted 45 days keeps its end under fr's 30.
    long = carried(reflection_period_ends_at=SENT_DECISION + timedelta(days=45))
    assert opened(accepted(FR, long))[K.reflection_period] == SENT_DECISION + timedelta(days=45)


def test_retaken_reasonable_grounds_start_at_referral_and_keep_the_sender_s_period() -> None:
    decision = accepted(UK, carried())
    assert decision.new_state is S.referred and decision.facts["recognised"] == "none"
    assert opened(decision)[K.reflection_period] == SENT_DECISION + timedelta(days=30)
    assert K.preliminary_decision in opened(decision)
    assert not any(isinstance(e, RecordOutcome) for e in decision.effects)
    # The sender's decision is still recorded as the sender's.
    assert decision.facts["sender_preliminary"] == "positive"


def test_a_formal_identification_is_recognised_only_where_the_policy_says_so() -> None:
    identified = carried(
        sender_state=S.identified,
        formal_outcome=FormalOutcome.identified,
        formal_decided_at=T0 - timedelta(days=2),
        reflection_period_ends_at=None,
        preliminary_decided_at=T0 - timedelta(days=60),
    )
    assert accepted(FR, identified).new_state is S.recovery_period  # fr takes the formal decision again
    recognising = with_rules(FR, Recognition.recognised, Recognition.recognised)
    decision = accepted(recognising, identified)
    assert decision.new_state is S.identified and decision.facts["recognised"] == "formal"
    assert RecordOutcome("formal", "identified") in decision.effects
    assert K.support_review in opened(decision)  # the support plan starts here, as on identification
    assert K.reflection_period not in opened(decision)  # long over, on either side
    nothing_recognised = with_rules(FR, Recognition.retaken, Recognition.retaken)
    assert accepted(nothing_recognised, identified).new_state is S.referred


def test_a_negative_decision_is_never_recognised() -> None:
    negative = carried(
        sender_state=S.preliminary_negative,
        preliminary_outcome=PreliminaryOutcome.negative,
        reflection_period_ends_at=None,
    )
    decision = accepted(with_rules(FR, Recognition.recognised, Recognition.recognised), negative)
    assert decision.new_state is S.referred and K.reflection_period not in opened(decision)
    assert decision.facts["sender_preliminary"] == "negative"


def test_an_adult_needs_consent_to_the_transfer_a_child_does_not() -> None:
    refused = decide_transfer_in(COORDINATOR, ADULT, carried(transfer_consent=False), NOW, FR)
    assert isinstance(refused, Refusal) and refused.kind == "invalid" and refused.code == "consent_required"
    child = accepted(FR, carried(is_child=True, transfer_consent=False), CHILD)
    kinds = opened(child)
    assert {K.child_protection_referral, K.guardian_appointment, K.shelter_offer} <= set(kinds)
    assert kinds[K.child_protection_referral] == NOW + timedelta(hours=24)


def test_an_adult_with_nowhere_safe_to_stay_gets_shelter_as_at_a_referral() -> None:
    homeless = Referral(age_band=AgeBand.band_25_34, consent_given=True, shelter_needed=True)
    assert UK.emergency_shelter_before_preliminary_decision
    assert K.emergency_shelter in opened(accepted(UK, carried(), homeless))  # taken again: referred
    not_sheltering = UK.model_copy(update={"emergency_shelter_before_preliminary_decision": False})
    assert K.emergency_shelter not in opened(accepted(not_sheltering, carried(), homeless))
    assert K.shelter_offer in opened(accepted(FR, carried(), homeless))  # recognised: protection from now


def test_the_presumption_of_minority_holds_unless_the_sender_assessed_the_age() -> None:
    young = Referral(age_band=AgeBand.band_15_17, consent_given=True)
    assert accepted(FR, carried(is_child=False), young).facts["is_child"] is True
    assessed = accepted(FR, carried(is_child=False, age_assessed=AgeOutcome.adult), young)
    assert assessed.facts["is_child"] is False


def test_only_a_coordinator_accepts_and_a_sender_s_period_already_over_is_not_reopened() -> None:
    for actor in (REFERRER, SYSTEM):
        refused = decide_transfer_in(actor, ADULT, carried(), NOW, FR)
        assert isinstance(refused, Refusal) and refused.kind == "forbidden"
    over = carried(preliminary_decided_at=T0 - timedelta(days=40), reflection_period_ends_at=None)
    assert K.reflection_period not in opened(accepted(FR, over))
    assert K.reflection_period not in opened(accepted(UK, over))
    # Sent through the generic entrance with a case, it is an event no state accepts.
    refused = decide(base_case(), COORDINATOR, EventRequest(EventName.transfer_in), NOW, FR)
    assert isinstance(refused, Refusal) and refused.kind == "not_allowed_in_state"


@given(
    sender_days=st.integers(30, 90),
    decided_days_ago=st.integers(0, 89),
    recognised=st.booleans(),
    decision_after_days=st.integers(0, 60),
    policy=st.sampled_from(["fr", "be", "uk", "coe"]),
)
def test_the_reflection_period_never_ends_before_the_sender_s(
    sender_days: int, decided_days_ago: int, recognised: bool, decision_after_days: int, policy: str
) -> None:
    """Whatever the policies, the recognition and a later positive decision here, the period ends no
    earlier than the one the sender granted."""
    rules = with_rules(
        load_policy(policy), Recognition.recognised if recognised else Recognition.retaken, Recognition.retaken
    )
    decided = NOW - timedelta(days=decided_days_ago)
    sender_end = decided + timedelta(days=sender_days)
    what = carried(preliminary_decided_at=decided, reflection_period_ends_at=sender_end if sender_end > NOW else None)
    decision = accepted(rules, what)
    case = new_case("c2", COORDINATOR.organisation_id, ADULT, decision, NOW)

    def reflection_end(snapshot: object) -> datetime | None:
        rows = [d for d in snapshot.deadlines if d.kind is K.reflection_period and not d.is_closed]  # type: ignore[attr-defined]
        return rows[0].due_at if rows else None

    if sender_end > NOW:
        end = reflection_end(case)
        assert end is not None and end >= sender_end
    if case.state is S.referred:
        # A positive decision here, later, never shortens a period still running.
        later = NOW + timedelta(days=decision_after_days)
        a = assessor(1, rules.assessor_sectors[0])
        steps = [
            (COORDINATOR, EventRequest(EventName.assign_assessor, assessor=a)),
            (
                assessor_actor(a),
                EventRequest(EventName.preliminary_decision, outcome=PreliminaryOutcome.positive, reasons="r"),
            ),
        ]
        for actor, request in steps:
            result = decide(case, actor, request, later, rules)
            assert isinstance(result, Decision), result
            case = apply_decision(case, result)
        end = reflection_end(case)
        assert end is not None and end >= later + timedelta(days=rules.reflection_period.value) - timedelta(days=1)
        if sender_end > later:
            assert end >= sender_end


@pytest.mark.parametrize("state", sorted(S, key=list(S).index))
def test_a_peer_s_receipt_closes_any_open_case_as_transferred(state: State) -> None:
    case = base_case(
        state=state,
        state_before_suspension=S.recovery_period if state is S.suspended else None,
        deadlines=(
            DeadlineSnapshot(K.reflection_period, T0 - timedelta(days=5), T0 + timedelta(days=25)),
            DeadlineSnapshot(K.panel_convening, T0 - timedelta(days=5), T0 + timedelta(days=5)),
        ),
    )
    request = EventRequest(EventName.transfer_completed, peer="peer-b", peer_reference="B-REF-7")
    result = decide(case, SYSTEM, request, NOW, FR)
    if state in (S.closed, S.withdrawn):
        assert isinstance(result, Refusal) and result.kind == "not_allowed_in_state"
        return
    assert isinstance(result, Decision) and result.new_state is S.closed
    assert SetClosure(CloseReason.transferred) in result.effects
    after = apply_decision(case, result)
    assert all(d.is_closed for d in after.deadlines)  # the clocks run on at the peer, not here
    assert result.facts["peer"] == "peer-b" and result.facts["peer_reference"] == "B-REF-7"
    assert result.facts["reason"] == "transferred"
    missing = decide(case, SYSTEM, EventRequest(EventName.transfer_completed, peer="peer-b"), NOW, FR)
    assert isinstance(missing, Refusal) and missing.code == "peer_missing"
    by_hand = decide(case, COORDINATOR, request, NOW, FR)
    assert isinstance(by_hand, Refusal) and by_hand.kind == "forbidden"
