"""Beyond identification through HTTP, on both databases: the assessment template and assessments, the support
plan, milestones, entitlements on the case, `reopen` through the events endpoint, and the gaps report, with
the statuses and problems of the contract."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, new_case, refused, step
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body


def _identified(ctx: ServiceContext, client: TestClient, cast: Cast, clock: FrozenClock) -> str:
    case_id: str = new_case(client, cast.referrer, referral_body(shelter_needed=True))["id"]
    step(ctx, client, cast.coordinator, case_id, "emergency_shelter_provided")
    step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=str(cast.assessor.user_id))
    step(ctx, client, cast.assessor, case_id, "preliminary_decision", outcome="positive", reasons="grounds")
    step(ctx, client, cast.coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in cast.panel])
    for member in cast.panel:
        step(ctx, client, member, case_id, "cast_vote", vote="identify", rationale="consistent")
    clock.advance(timedelta(days=35))
    assert step(ctx, client, cast.coordinator, case_id, "formal_decision")["state"] == "identified"
    return case_id


def test_support_justice_and_reopen_through_the_api(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = _identified(ctx, client, cast, clock)
    caseworker = world.account("cw", ["caseworker"], "Support NGO", "ngo")
    assigned = client.post(
        f"/api/v1/cases/{case_id}/caseworkers",
        json={"caseworker_id": str(caseworker.user_id)},
        headers=cast.coordinator.headers,
    )
    assert assigned.status_code == 200

    template = client.get("/api/v1/needs/assessment-template", headers=cast.referrer.headers).json()
    slots = [area["key"] for section in template["sections"] for area in section["areas"]]
    assert slots[0] == "immediate.safety" and "long_term.health" in slots and len(slots) == 13
    body: dict[str, Any] = {
        "scope": "full",
        "needs": [{"kind": "interpreter", "urgency": "immediate", "note": "speaks only a test language"}],
        "answers": {key: "no_need" for key in slots if key != "immediate.interpreter"},
    }
    url = f"/api/v1/cases/{case_id}/assessments"
    assert_problem(client.post(url, json=body, headers=cast.referrer.headers), 403)
    assert_problem(client.post(url, json=body, headers=cast.auditor.headers), 403)
    incomplete = {**body, "answers": {}}
    problem = assert_problem(client.post(url, json=incomplete, headers=caseworker.headers), 422)
    assert problem["errors"][0]["loc"] == ["body", "answers"]  # type: ignore[index]
    assert_problem(client.post(url, json={**body, "scope": "most"}, headers=caseworker.headers), 422)
    made = client.post(url, json=body, headers=caseworker.headers)
    assert made.status_code == 201, made.text
    assert made.json()["needs"][0]["kind"] == "interpreter"
    assert [a["id"] for a in client.get(url, headers=cast.coordinator.headers).json()] == [made.json()["id"]]

    milestones = f"/api/v1/cases/{case_id}/milestones"
    complaint = {"step": "complaint_filed", "occurred_on": "2027-03-20", "note": "filed at a test station"}
    assert_problem(client.post(milestones, json={**complaint, "step": "verdict"}, headers=caseworker.headers), 422)
    assert_problem(
        client.post(milestones, json={**complaint, "occurred_on": "2099-01-01"}, headers=caseworker.headers), 422
    )
    assert client.post(milestones, json=complaint, headers=caseworker.headers).status_code == 201
    listed = client.get(milestones, headers=cast.auditor.headers).json()
    assert [(m["track"], m["step"], m["note"]) for m in listed] == [("criminal_proceedings", "complaint_filed", None)]

    case = client.get(f"/api/v1/cases/{case_id}", headers=cast.auditor.headers).json()
    held = {e["code"]: e["status"] for e in case["entitlements"]}
    assert held["temporary_residence_card"] == "open" and held["resident_card_on_conviction"] == "awaiting_condition"
    title = next(e["title"] for e in case["entitlements"] if e["code"] == "reflection_receipt")
    assert "récépissé" in title["en"] and title["fr"].startswith("Récépissé")

    step(ctx, client, caseworker, case_id, "support_plan_reviewed", note="first review with the person")
    plan = client.get(f"/api/v1/cases/{case_id}/support-plan", headers=caseworker.headers).json()
    assert plan["active"] and len(plan["reviews"]) == 1 and plan["next_review"]["status"] == "open"
    assert plan["needs"][0]["kind"] == "interpreter" and plan["milestones"][0]["note"] == "filed at a test station"
    assert_problem(client.get(f"/api/v1/cases/{case_id}/support-plan", headers=cast.auditor.headers), 403)

    clock.advance(timedelta(days=400))
    caseworker.token = world.log_in("cw")  # an hour-long token; the clock moved a year
    step(ctx, client, cast.coordinator, case_id, "close", reason="support_completed")
    refused(ctx, client, caseworker, case_id, "reopen", 403, reason="support_needed_again")
    refused(ctx, client, cast.coordinator, case_id, "reopen", 422)
    clock.advance(timedelta(days=700))
    reopened = step(ctx, client, cast.coordinator, case_id, "reopen", reason="re_exploited", note="found again")
    assert reopened["state"] == "identified" and reopened["close_reason"] is None
    refused(ctx, client, cast.coordinator, case_id, "reopen", 409, reason="other")  # not closed any more


def test_the_gaps_report_is_for_coordinators_and_auditors(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    caseworker = world.account("cw", ["caseworker"], "Support NGO", "ngo")
    assert_problem(client.get("/api/v1/statistics/needs", headers=caseworker.headers), 403)
    assert_problem(client.get("/api/v1/statistics/needs?from=yesterday", headers=cast.auditor.headers), 422)
    report = client.get("/api/v1/statistics/needs?from=2027-01-01&to=2027-12-31", headers=cast.auditor.headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert [t["measure"] for t in body["tables"]] == ["recorded", "unmet", "no_referral", "refused", "late"]
    assert body["threshold"] == 5 and all(t["total_suppressed"] for t in body["tables"])
    assert client.get("/api/v1/statistics/needs", headers=cast.coordinator.headers).status_code == 200
    logged = client.get("/api/v1/audit/log", headers=cast.auditor.headers).json()
    entries = logged["entries"] if isinstance(logged, dict) else logged
    assert sum(1 for e in entries if e["action"] == "statistics.needs_read") == 2
