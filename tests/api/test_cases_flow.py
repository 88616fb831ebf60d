"""Cases through the API on both databases: the adult path to identification and closure, a child with the child
deadlines, a negative decision and its reconsideration, withdrawal, and missing/found with the clock stopped.

Every accepted event is checked to add exactly one history row and one audit entry (`step`); every refused one
to leave version, history and audit log unchanged (`refused`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.services.context import ServiceContext
from tests.api.case_helpers import (
    Cast,
    asked,
    at,
    audit_count,
    deadline,
    get_case,
    history_count,
    new_case,
    refused,
    statuses,
    step,
)
from tests.api.conftest import World
from tests.factories import child_body


def test_adult_from_referral_to_identification_and_closure(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    ids = [str(m.user_id) for m in cast.panel]
    cast.referrer  # noqa: B018 - created (and audited) before the count below
    entries = audit_count(ctx)
    case = new_case(client, cast.referrer)
    case_id = case["id"]
    assert audit_count(ctx) == entries + 1 and history_count(ctx, case_id) == 1
    assert case["state"] == "referred" and case["version"] == 1 and case["is_child"] is False
    assert statuses(case) == {"preliminary_decision": "open"}
    assert "withdraw_consent" in case["allowed_events"] and "assign_assessor" not in case["allowed_events"]
    as_coordinator = get_case(client, cast.coordinator, case_id)
    assert "assign_assessor" in as_coordinator["allowed_events"]
    assert "formal_decision" not in as_coordinator["allowed_events"]

    clock.advance(timedelta(minutes=5))
    case = step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=str(cast.assessor.user_id))
    assert case["state"] == "preliminary_assessment" and case["assessor_id"] == str(cast.assessor.user_id)
    assert "preliminary_decision" in get_case(client, cast.assessor, case_id)["allowed_events"]
    assert "preliminary_decision" not in as_coordinator["allowed_events"]

    clock.advance(timedelta(minutes=10))
    case = step(
        ctx, client, cast.assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds"
    )
    assert case["state"] == "recovery_period"
    assert statuses(case) == {"preliminary_decision": "met", "reflection_period": "open", "panel_convening": "open"}
    reflection_end = at(deadline(case, "reflection_period")["due_at"])
    assert reflection_end - clock.now() >= timedelta(days=30)
    allowed = get_case(client, cast.coordinator, case_id)["allowed_events"]
    assert "convene_panel" in allowed and "request_early_decision" in allowed and "formal_decision" not in allowed

    clock.advance(timedelta(minutes=10))
    case = step(ctx, client, cast.coordinator, case_id, "convene_panel", member_ids=ids)
    assert case["state"] == "formal_assessment"
    assert case["panel"]["members"] == ids and case["panel"]["votes_cast"] == 0
    assert statuses(case)["panel_convening"] == "met" and statuses(case)["formal_decision"] == "open"
    # The decision's clock counts from the end of the reflection period, not from the convening.
    assert at(deadline(case, "formal_decision")["due_at"]) > reflection_end

    for number, member in enumerate(cast.panel, start=1):
        assert {"cast_vote", "declare_conflict"} <= set(get_case(client, member, case_id)["allowed_events"])
        case = step(ctx, client, member, case_id, "cast_vote", vote="identify", rationale=f"rationale {number}")
        assert case["panel"]["votes_cast"] == number
        # One vote per member.
        refused(ctx, client, member, case_id, "cast_vote", 409, vote="identify", rationale="again")

    # The reflection period is the person's right: no formal decision before its end without their request.
    assert "formal_decision" not in get_case(client, cast.coordinator, case_id)["allowed_events"]
    problem = refused(ctx, client, cast.coordinator, case_id, "formal_decision", 409)
    assert problem["state"] == "formal_assessment"
    assert problem["allowed_events"] == get_case(client, cast.coordinator, case_id)["allowed_events"]
    assert "request_early_decision" in problem["allowed_events"]
    assert "formal_decision" not in problem["allowed_events"]

    clock.advance(reflection_end - clock.now() + timedelta(hours=1))
    case = get_case(client, cast.coordinator, case_id)
    assert statuses(case)["reflection_period"] == "met"
    assert "formal_decision" in case["allowed_events"]
    case = step(ctx, client, cast.coordinator, case_id, "formal_decision")
    assert case["state"] == "identified" and case["panel"] is None
    assert statuses(case) == {
        "preliminary_decision": "met",
        "reflection_period": "met",
        "panel_convening": "met",
        "formal_decision": "met",
        "support_review": "open",  # the support plan starts with identification
    }
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=cast.coordinator.headers).json()
    decision = history[-1]
    assert decision["event"] == "formal_decision" and decision["to_state"] == "identified"
    assert decision["facts"]["votes_identify"] == 3 and decision["facts"]["early_decision"] is False

    clock.advance(timedelta(minutes=20))
    case = step(ctx, client, cast.coordinator, case_id, "close", reason="support_completed")
    assert case["state"] == "closed" and case["close_reason"] == "support_completed"
    assert case["allowed_events"] == ["reopen"]  # should the person need support again (docs/support.md)
    assert statuses(case)["support_review"] == "cancelled"
    assert [
        h["to_state"] for h in client.get(f"/api/v1/cases/{case_id}/history", headers=cast.referrer.headers).json()
    ][-1] == "closed"
    refused(ctx, client, cast.coordinator, case_id, "close", 409, reason="other")


def test_child_referred_without_consent_gets_the_child_deadlines(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case = new_case(client, cast.referrer, child_body())
    case_id = case["id"]
    assert case["is_child"] is True and case["state"] == "referred"
    assert statuses(case) == {
        "preliminary_decision": "open",
        "child_protection_referral": "open",
        "guardian_appointment": "open",
    }
    opened = at(deadline(case, "child_protection_referral")["opened_at"])
    assert at(deadline(case, "child_protection_referral")["due_at"]) - opened == timedelta(hours=24)
    # A child's preliminary decision is due sooner than an adult's (2 working days rather than 5).
    assert at(deadline(case, "preliminary_decision")["due_at"]) - opened < timedelta(days=3)

    # A child cannot withdraw: protection does not depend on consent.
    assert "withdraw_consent" not in case["allowed_events"]
    problem = refused(ctx, client, cast.referrer, case_id, "withdraw_consent", 409)
    assert problem["state"] == "referred"
    assert problem["allowed_events"] == get_case(client, cast.referrer, case_id)["allowed_events"]
    assert "report_missing" in problem["allowed_events"]
    assert "withdraw_consent" not in problem["allowed_events"]

    allowed = get_case(client, cast.coordinator, case_id)["allowed_events"]
    assert {"child_protection_notified", "guardian_appointed"} <= set(allowed)
    clock.advance(timedelta(minutes=20))
    case = step(ctx, client, cast.coordinator, case_id, "child_protection_notified", note="ASE informed")
    assert deadline(case, "child_protection_referral")["status"] == "met"
    assert deadline(case, "child_protection_referral")["met_at"] is not None
    assert deadline(case, "guardian_appointment")["status"] == "open"
    assert "child_protection_notified" not in case["allowed_events"]
    # Met once: a second notification has nothing to meet.
    refused(ctx, client, cast.coordinator, case_id, "child_protection_notified", 409)

    clock.advance(timedelta(minutes=10))
    case = step(ctx, client, cast.coordinator, case_id, "guardian_appointed")
    assert statuses(case) == {
        "preliminary_decision": "open",
        "child_protection_referral": "met",
        "guardian_appointment": "met",
    }
    # The child's deadline was past due by then: the same event two days late is recorded as met late.
    late = new_case(client, cast.referrer, child_body())
    clock.advance(timedelta(days=2))
    assert deadline(get_case(client, cast.coordinator, late["id"]), "child_protection_referral")["status"] == "overdue"
    late = step(ctx, client, cast.coordinator, late["id"], "child_protection_notified")
    assert deadline(late, "child_protection_referral")["status"] == "met_late"


def test_negative_decision_reconsidered_by_a_different_assessor(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    first_id, second_id = str(cast.assessor.user_id), str(cast.second_assessor.user_id)
    case_id = new_case(client, cast.referrer)["id"]
    step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=first_id)
    clock.advance(timedelta(minutes=10))
    case = step(
        ctx, client, cast.assessor, case_id, "preliminary_decision", outcome="negative", reasons="no grounds yet"
    )
    assert case["state"] == "preliminary_negative"
    assert statuses(case)["preliminary_decision"] == "met"
    assert statuses(case)["reconsideration_window"] == "open"
    assert "request_reconsideration" in get_case(client, cast.referrer, case_id)["allowed_events"]
    # While a reconsideration may still be asked for, the case cannot be closed.
    refused(ctx, client, cast.coordinator, case_id, "close", 409, reason="no_reconsideration")

    clock.advance(timedelta(minutes=10))
    case = step(ctx, client, cast.referrer, case_id, "request_reconsideration", reasons="a witness statement arrived")
    assert case["state"] == "preliminary_assessment" and case["assessor_id"] is None
    assert statuses(case)["reconsideration_window"] == "met"
    assert [d["status"] for d in case["deadlines"] if d["kind"] == "preliminary_decision"] == ["met", "open"]

    # The first assessor no longer has the case, and may not be assigned to decide it again.
    refused(
        ctx, client, cast.assessor, case_id, "preliminary_decision", 404, outcome="positive", reasons="changed mind"
    )
    problem = refused(ctx, client, cast.coordinator, case_id, "assign_assessor", 422, assessor_id=first_id)
    assert problem["errors"] and "different assessor" in str(problem["detail"])

    case = step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=second_id)
    assert case["assessor_id"] == second_id
    case = step(
        ctx, client, cast.second_assessor, case_id, "preliminary_decision", outcome="positive", reasons="new evidence"
    )
    assert case["state"] == "recovery_period"
    assert "request_reconsideration" not in get_case(client, cast.referrer, case_id)["allowed_events"]


def test_adult_withdraws_consent_and_the_case_ends(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    clock.advance(timedelta(minutes=10))
    problem = refused(ctx, client, cast.referrer, case_id, "withdraw_consent", 422, note="the person asked to stop")
    assert "how and when the person asked" in problem["detail"]
    request = asked(clock, "through_representative", timedelta(minutes=5))
    case = step(
        ctx, client, cast.referrer, case_id, "withdraw_consent", note="the person asked to stop", request=request
    )
    assert case["state"] == "withdrawn"
    assert statuses(case) == {"preliminary_decision": "cancelled"}
    assert case["allowed_events"] == []
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=cast.referrer.headers).json()
    assert history[-1]["event"] == "withdraw_consent" and history[-1]["has_text"] is True
    assert history[-1]["facts"]["erasure_after_days"] == 30
    facts = history[-1]["facts"]
    assert (facts["request_how"], facts["recorded_by"]) == ("through_representative", str(cast.referrer.user_id))
    assert datetime.fromisoformat(facts["requested_at"]) == clock.now() - timedelta(minutes=5)
    problem = refused(
        ctx, client, cast.coordinator, case_id, "assign_assessor", 409, assessor_id=str(cast.referrer.user_id)
    )
    assert problem["state"] == "withdrawn" and problem["allowed_events"] == []


def test_missing_and_found_stops_the_duty_clock(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case = new_case(client, cast.referrer)
    case_id = case["id"]
    due_before = at(deadline(case, "preliminary_decision")["due_at"])

    clock.advance(timedelta(hours=26))
    case = step(ctx, client, cast.referrer, case_id, "report_missing")
    assert case["state"] == "suspended"
    assert deadline(case, "preliminary_decision")["status"] == "paused"
    allowed = get_case(client, cast.coordinator, case_id)["allowed_events"]
    assert "report_found" in allowed and "assign_assessor" not in allowed
    refused(ctx, client, cast.coordinator, case_id, "assign_assessor", 409, assessor_id=str(cast.referrer.user_id))
    # Only the coordinator reports someone found.
    refused(ctx, client, cast.referrer, case_id, "report_found", 403)

    # Away past the deadline's original end: a paused duty is never overdue.
    suspended_for = timedelta(days=9, hours=5, minutes=17)
    clock.advance(suspended_for)
    assert deadline(get_case(client, cast.coordinator, case_id), "preliminary_decision")["status"] == "paused"
    case = step(ctx, client, cast.coordinator, case_id, "report_found")
    assert case["state"] == "referred"
    moved = deadline(case, "preliminary_decision")
    assert moved["status"] == "open"
    # The 4 working days left after the day of the pause (Tue 2 March: Wed 3, Thu 4, Fri 5, Mon 8) count again
    # from the day after the return (Thu 11 March): 24:00 on Wed 17 March, not the same hour 9 days later.
    assert at(moved["due_at"]) == datetime(2027, 3, 17, 23, 0, tzinfo=UTC)
    assert at(moved["due_at"]) - due_before != suspended_for
    assert "assign_assessor" in case["allowed_events"]
