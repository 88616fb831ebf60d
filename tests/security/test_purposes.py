"""Issue 10 point 4: a free-text purpose (`?purpose=arrange shelter for <name> at <address>`) was stored in clear
in the audit log, shown to auditors and kept after erasure. A purpose is one code of a fixed list
(api-contract.md), everywhere one is asked (identity, documents); anything else is 422 and the audit entry holds
the code only. Through the API, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clock import FrozenClock
from app.models import AuditEntry
from app.services.context import ServiceContext
from app.workflow.states import Purpose
from tests.api.case_helpers import Cast, new_case
from tests.api.conftest import World, assert_problem

LEAKY = "arrange shelter for Zorblat Quenmirrow at 9 Vantrell Street"
CONTRACT_CODES = {
    "assessment",
    "panel_review",
    "safeguarding",
    "support_planning",
    "service_referral",
    "legal_proceedings",
    "data_subject_request",
    "correction",
}


def _audited_purposes(ctx: ServiceContext) -> list[object]:
    with ctx.sessions() as session:
        return [
            details.get("purpose")
            for details in session.scalars(select(AuditEntry.details))
            if isinstance(details, dict) and "purpose" in details
        ]


def test_the_purposes_are_the_contracts_codes() -> None:
    assert {p.value for p in Purpose} == CONTRACT_CODES


def test_a_free_text_purpose_is_refused_and_never_audited(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    coordinator = cast.coordinator
    case_id = new_case(client, cast.referrer)["id"]
    uploaded = client.post(
        f"/api/v1/cases/{case_id}/documents",
        files={"file": ("x.txt", b"a statement", "text/plain")},
        data={"kind": "evidence"},
        headers=coordinator.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    identity = f"/api/v1/cases/{case_id}/identity"
    document = f"/api/v1/cases/{case_id}/documents/{uploaded.json()['id']}"

    for url in (identity, document):
        for bad in (LEAKY, "Service_Referral", "service referral", ""):
            body = assert_problem(client.get(url, params={"purpose": bad}, headers=coordinator.headers), 422)
            assert [e["loc"] for e in body["errors"]] == [["query", "purpose"]]  # type: ignore[union-attr]
            assert "Zorblat" not in str(body)
    assert _audited_purposes(ctx) == []

    read = client.get(identity, params={"purpose": "service_referral"}, headers=coordinator.headers)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    assert client.get(document, params={"purpose": "panel_review"}, headers=coordinator.headers).status_code == 200
    assert _audited_purposes(ctx) == ["service_referral", "panel_review"]
    log = client.get("/api/v1/audit/log", params={"case_id": case_id}, headers=cast.auditor.headers)
    assert "Zorblat" not in log.text and "Vantrell" not in log.text
