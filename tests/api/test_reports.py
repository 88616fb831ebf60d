"""Reports through the API: the CSV carries the JSON's figures; auditors read reports and nothing personal."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from fastapi.testclient import TestClient

from app.clock import FrozenClock
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body

REFERRAL = referral_body()


def test_compliance_csv_carries_the_json_figures(world: World, client: TestClient, clock: FrozenClock) -> None:
    referrer = world.account("referrer1", ["referrer"])
    auditor = world.account("auditor1", ["auditor"], "Inspection", "coordination")
    for _ in range(3):
        assert client.post("/api/v1/referrals", json=REFERRAL, headers=referrer.headers).status_code == 201
    clock.advance(timedelta(days=15))
    auditor.token = world.log_in("auditor1")  # tokens last an hour; fifteen days have passed
    as_json = client.get("/api/v1/audit/compliance?group_by=kind", headers=auditor.headers)
    assert as_json.status_code == 200
    rows = {row["group"]: row for row in as_json.json()["rows"]}
    assert rows["preliminary_decision"]["open_overdue"] == 3
    as_csv = client.get("/api/v1/audit/compliance?group_by=kind", headers={**auditor.headers, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    parsed = {row["group"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    for group, row in rows.items():
        for key, value in row.items():
            expected = "" if value is None else str(value)
            assert parsed[group][key] == expected, (group, key)
    breaches = client.get("/api/v1/audit/breaches?kind=preliminary_decision", headers=auditor.headers)
    assert breaches.status_code == 200 and len(breaches.json()) == 3
    assert all(b["status"] == "overdue" and b["days_late"] > 0 for b in breaches.json())
    breaches_csv = client.get("/api/v1/audit/breaches", headers={**auditor.headers, "Accept": "text/csv"})
    assert len(list(csv.DictReader(io.StringIO(breaches_csv.text)))) == len(
        client.get("/api/v1/audit/breaches", headers=auditor.headers).json()
    )


def test_an_auditor_reads_reports_but_no_identity_and_changes_nothing(world: World, client: TestClient) -> None:
    referrer = world.account("referrer1", ["referrer"])
    auditor = world.account("auditor1", ["auditor"], "Inspection", "coordination")
    case = client.post("/api/v1/referrals", json=REFERRAL, headers=referrer.headers).json()
    case_id = case["id"]
    for path in (
        "/api/v1/audit/compliance",
        "/api/v1/audit/breaches",
        "/api/v1/statistics?year=2027",
        "/api/v1/audit/log",
    ):
        assert client.get(path, headers=auditor.headers).status_code == 200, path
    seen = client.get(f"/api/v1/cases/{case_id}", headers=auditor.headers)
    assert seen.status_code == 200 and seen.json()["allowed_events"] == []
    assert "Fictional Person" not in seen.text
    assert_problem(client.get(f"/api/v1/cases/{case_id}/identity?purpose=audit", headers=auditor.headers), 403)
    assert_problem(
        client.post(f"/api/v1/cases/{case_id}/events", json={"event": "report_missing"}, headers=auditor.headers), 403
    )
    assert_problem(
        client.post(f"/api/v1/cases/{case_id}/erasure", json={"reason": "other"}, headers=auditor.headers), 403
    )
    assert_problem(client.post("/api/v1/referrals", json=REFERRAL, headers=auditor.headers), 403)
    assert_problem(
        client.post(
            "/api/v1/notifications",
            json={
                "gender": "male",
                "age_band": "25-34",
                "nationality": "RO",
                "region": "FR-13",
                "exploitation_forms": ["other"],
            },
            headers=auditor.headers,
        ),
        403,
    )
    after = client.get(f"/api/v1/cases/{case_id}", headers=auditor.headers).json()
    assert after["version"] == case["version"]


def test_a_referrer_cannot_read_reports(world: World, client: TestClient) -> None:
    referrer = world.account("referrer1", ["referrer"])
    assert_problem(client.get("/api/v1/audit/compliance", headers=referrer.headers), 403)
    assert_problem(client.get("/api/v1/statistics?year=2027", headers=referrer.headers), 403)
