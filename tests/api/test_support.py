"""Support and evidence through the API, on both databases: needs, providers, services and their deadlines,
documents (size, type, need-to-know, audit, erasure), interviews and the written opinion."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import AuditEntry, Document
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, at, audit_count, get_case, new_case
from tests.api.conftest import Account, World, assert_problem

PDF = b"%PDF-1.7\n" + b"testimony " * 100 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def _assign(client: TestClient, coordinator: Account, case_id: str, caseworker: Account) -> None:
    response = client.post(
        f"/api/v1/cases/{case_id}/caseworkers",
        json={"caseworker_id": str(caseworker.user_id)},
        headers=coordinator.headers,
    )
    assert response.status_code == 200, response.text


def _provider(client: TestClient, coordinator: Account, kind: str = "shelter") -> dict[str, Any]:
    body = {"name": f"Safe House {kind}", "kind": kind, "address": "12 Hidden Lane", "phone": "+33 1 00 00 00"}
    response = client.post("/api/v1/providers", json=body, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


def _need(client: TestClient, account: Account, case_id: str, kind: str = "shelter") -> dict[str, Any]:
    body = {"kind": kind, "urgency": "immediate", "note": "needs a safe place tonight"}
    response = client.post(f"/api/v1/cases/{case_id}/needs", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    need: dict[str, Any] = response.json()
    return need


def _service(client: TestClient, account: Account, case_id: str, need_id: str, provider_id: str) -> dict[str, Any]:
    body = {"need_id": need_id, "provider_id": provider_id}
    response = client.post(f"/api/v1/cases/{case_id}/services", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    service: dict[str, Any] = response.json()
    return service


def _status(
    client: TestClient, account: Account, case_id: str, service_id: str, status: str
) -> tuple[int, dict[str, Any]]:
    response = client.post(
        f"/api/v1/cases/{case_id}/services/{service_id}/status",
        json={"status": status, "note": "phoned the shelter"},
        headers=account.headers,
    )
    body: dict[str, Any] = response.json()
    return response.status_code, body


def _upload(
    client: TestClient,
    account: Account,
    case_id: str,
    data: bytes,
    content_type: str = "application/pdf",
    kind: str = "evidence",
) -> Any:
    return client.post(
        f"/api/v1/cases/{case_id}/documents",
        files={"file": ("statement.bin", data, content_type)},
        data={"kind": kind},
        headers=account.headers,
    )


def _documents(ctx: ServiceContext) -> int:
    with ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Document)) or 0)


def test_needs_services_and_who_sees_a_provider_address(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    coordinator, referrer = cast.coordinator, cast.referrer
    caseworker = world.account("cw_one", ["caseworker"], "Support NGO", "ngo")
    other_caseworker = world.account("cw_two", ["caseworker"], "Support NGO", "ngo")
    referred = new_case(client, referrer)["id"]
    not_referred = new_case(client, referrer)["id"]
    _assign(client, coordinator, referred, caseworker)
    _assign(client, coordinator, not_referred, other_caseworker)
    shelter = _provider(client, coordinator)
    assert shelter["address"] == "12 Hidden Lane"

    # The directory lists names and kinds to those who may read it; the referrer may not.
    listed = client.get("/api/v1/providers", headers=caseworker.headers)
    assert listed.status_code == 200
    assert listed.json() == [{"id": shelter["id"], "name": "Safe House shelter", "kind": "shelter"}]
    assert_problem(client.get("/api/v1/providers", headers=referrer.headers), 403)
    assert_problem(client.post("/api/v1/providers", json={}, headers=caseworker.headers), 403)

    # Before any referral there, the caseworker gets no address.
    before = client.get(f"/api/v1/providers/{shelter['id']}", headers=caseworker.headers).json()
    assert before["address"] is None and before["phone"] is None

    # Needs: recorded with need-to-know, the note encrypted and given back to the caseworker.
    need = _need(client, caseworker, referred)
    assert need["kind"] == "shelter" and need["note"] == "needs a safe place tonight"
    assert_problem(
        client.post(
            f"/api/v1/cases/{referred}/needs",
            json={"kind": "shelter", "urgency": "immediate"},
            headers=other_caseworker.headers,
        ),
        404,
    )
    needs = client.get(f"/api/v1/cases/{referred}/needs", headers=caseworker.headers).json()
    assert [n["id"] for n in needs] == [need["id"]]

    # The service referral carries the policy's deadline: shelter within 24 hours.
    service = _service(client, caseworker, referred, need["id"], shelter["id"])
    assert service["status"] == "requested" and service["deadline_kind"] == "service_shelter"
    assert at(service["due_at"]) - at(service["opened_at"]) == timedelta(hours=24)

    # Now the assigned caseworker of the referred case sees the address; the other caseworker does not.
    after = client.get(f"/api/v1/providers/{shelter['id']}", headers=caseworker.headers).json()
    assert after["address"] == "12 Hidden Lane" and after["phone"] == "+33 1 00 00 00"
    other = client.get(f"/api/v1/providers/{shelter['id']}", headers=other_caseworker.headers).json()
    assert other["address"] is None and other["phone"] is None
    assert client.get(f"/api/v1/providers/{shelter['id']}", headers=coordinator.headers).json()["address"]

    # A refusal keeps the deadline open; a new referral for the same need shares it; acceptance meets it.
    clock.advance(timedelta(minutes=30))
    code, refused = _status(client, caseworker, referred, service["id"], "refused")
    assert code == 200 and refused["status"] == "refused" and refused["met_at"] is None
    code, _ = _status(client, caseworker, referred, service["id"], "accepted")
    assert code == 409
    second = _service(client, caseworker, referred, need["id"], shelter["id"])
    assert second["due_at"] == service["due_at"]
    code, accepted = _status(client, caseworker, referred, second["id"], "accepted")
    assert code == 200 and accepted["met_at"] is not None
    code, delivered = _status(client, caseworker, referred, second["id"], "delivered")
    assert code == 200 and delivered["status"] == "delivered" and delivered["met_at"] == accepted["met_at"]
    services = client.get(f"/api/v1/cases/{referred}/services", headers=caseworker.headers).json()
    assert [s["status"] for s in services] == ["refused", "delivered"]

    # Each step is audited; the case view still works with a service deadline on the case.
    with ctx.sessions() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"need.recorded", "service.requested", "service.refused", "service.accepted", "service.delivered"} <= (
        actions
    )
    assert get_case(client, coordinator, referred)["state"]


def test_a_late_service_shows_in_the_compliance_figures(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    coordinator = cast.coordinator
    case_id = new_case(client, cast.referrer)["id"]
    provider = _provider(client, coordinator)
    service = _service(client, coordinator, case_id, _need(client, coordinator, case_id)["id"], provider["id"])
    clock.advance(timedelta(hours=25))
    auditor = cast.auditor

    def shelter_row() -> dict[str, Any]:
        response = client.get("/api/v1/audit/compliance", headers=auditor.headers)
        assert response.status_code == 200, response.text
        rows = {r["group"]: r for r in response.json()["rows"]}
        row: dict[str, Any] = rows["service_shelter"]
        return row

    assert shelter_row()["open_overdue"] == 1
    code, _ = _status(client, cast.coordinator, case_id, service["id"], "accepted")
    assert code == 200
    row = shelter_row()
    assert row["met_late"] == 1 and row["open_overdue"] == 0 and row["compliance_rate"] == 0.0
    breaches = client.get("/api/v1/audit/breaches", params={"kind": "service_shelter"}, headers=auditor.headers)
    assert [(b["kind"], b["status"]) for b in breaches.json()] == [("service_shelter", "met_late")]
    assert breaches.json()[0]["days_late"] > 0
    unknown = client.get("/api/v1/audit/breaches", params={"kind": "service_spaceship"}, headers=auditor.headers)
    assert_problem(unknown, 422)


def test_documents_size_type_need_to_know_audit_and_erasure(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    referrer, coordinator = cast.referrer, cast.coordinator
    case_id = new_case(client, referrer)["id"]

    uploaded = _upload(client, referrer, case_id, PDF)
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert document["size"] == len(PDF) and document["content_type"] == "application/pdf"
    assert document["kind"] == "evidence"
    text = _upload(client, referrer, case_id, "déclaration écrite\n".encode(), "text/plain; charset=utf-8")
    assert text.status_code == 201, text.text
    assert _upload(client, referrer, case_id, PNG, "image/png").status_code == 201

    # The ciphertext is stored, not the document.
    with ctx.sessions() as session:
        stored = session.get(Document, uuid.UUID(document["id"]))
        assert stored is not None and stored.content is not None and b"testimony" not in stored.content

    # Refusals store nothing and write no audit entry.
    before = (_documents(ctx), audit_count(ctx))
    too_big = PDF + b"\0" * (ctx.settings.max_document_bytes + 1 - len(PDF))
    assert_problem(_upload(client, referrer, case_id, too_big), 413)
    assert_problem(_upload(client, referrer, case_id, b"GIF89a....", "image/gif"), 415)
    assert_problem(_upload(client, referrer, case_id, b"MZ\x90\x00 not a pdf"), 415)
    assert_problem(_upload(client, referrer, case_id, b"\xff\xfe\x00bad", "text/plain"), 415)
    assert_problem(_upload(client, referrer, case_id, PNG, "image/jpeg"), 415)
    assert (_documents(ctx), audit_count(ctx)) == before

    # The written opinion: only a referrer of the referring organisation.
    assert_problem(_upload(client, coordinator, case_id, PDF, kind="panel_opinion"), 403)
    assert _upload(client, referrer, case_id, PDF, kind="panel_opinion").status_code == 201
    assert _upload(client, referrer, case_id, PDF, kind="asylum_interview").status_code == 201  # consent given

    listed = client.get(f"/api/v1/cases/{case_id}/documents", headers=coordinator.headers)
    assert listed.status_code == 200
    kinds = sorted(d["kind"] for d in listed.json())
    assert kinds == ["asylum_interview", "evidence", "evidence", "evidence", "panel_opinion"]
    assert all("content" not in d for d in listed.json())

    # Download: with a purpose, need-to-know, audited.
    url = f"/api/v1/cases/{case_id}/documents/{document['id']}"
    purpose = {"purpose": "panel_review"}
    got = client.get(url, params=purpose, headers=coordinator.headers)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert_problem(client.get(url, headers=coordinator.headers), 422)  # no purpose
    assert_problem(client.get(url, params=purpose, headers=cast.other_referrer.headers), 404)
    auditor = cast.auditor
    assert client.get(url, params=purpose, headers=auditor.headers).status_code in {403, 404}
    assert client.get(f"/api/v1/cases/{case_id}/documents", headers=auditor.headers).status_code in {403, 404}
    log = client.get("/api/v1/audit/log", params={"case_id": case_id, "limit": 1000}, headers=coordinator.headers)
    reads = [e for e in log.json() if e["action"] == "document.read"]
    assert len(reads) == 1 and reads[0]["details"]["document_id"] == document["id"]

    # After erasure: 410, and the ciphertexts are gone too.
    erased = client.post(
        f"/api/v1/cases/{case_id}/erasure", json={"reason": "person_request"}, headers=coordinator.headers
    )
    assert erased.status_code == 204, erased.text
    assert_problem(client.get(url, params=purpose, headers=coordinator.headers), 410)
    assert_problem(_upload(client, referrer, case_id, PDF), 410)
    with ctx.sessions() as session:
        assert session.scalar(select(func.count()).where(Document.content.is_not(None))) == 0


def test_asylum_interview_transcript_without_consent_is_refused_for_an_adult(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    from app.models import Case

    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    with ctx.sessions() as session, session.begin():
        case = session.get(Case, uuid.UUID(case_id))
        assert case is not None
        case.consent_given = False  # as after a withdrawal of consent
    assert_problem(_upload(client, cast.referrer, case_id, PDF, kind="asylum_interview"), 409)
    assert _upload(client, cast.referrer, case_id, PDF, kind="evidence").status_code == 201


def test_interviews_are_recorded_and_counted(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    referrer, coordinator = cast.referrer, cast.coordinator
    case_id = new_case(client, referrer)["id"]
    assert get_case(client, coordinator, case_id)["interview_count"] == 0
    body = {
        "purpose": "first account with an interpreter",
        "interviewer_organisation_id": str(referrer.organisation_id),
        "held_at": "2027-02-27T10:00:00+00:00",
    }
    for _ in range(2):
        response = client.post(f"/api/v1/cases/{case_id}/interviews", json=body, headers=referrer.headers)
        assert response.status_code == 201, response.text
    assert get_case(client, coordinator, case_id)["interview_count"] == 2
    # What the person already told is shown on the case before anyone asks for another interview.
    assert get_case(client, coordinator, case_id)["testimony_documents"] == 0
    assert _upload(client, referrer, case_id, PDF, kind="asylum_interview").status_code == 201
    assert _upload(client, referrer, case_id, PDF, kind="other").status_code == 201
    assert get_case(client, coordinator, case_id)["testimony_documents"] == 1
    listed = client.get(f"/api/v1/cases/{case_id}/interviews", headers=coordinator.headers).json()
    assert [i["purpose"] for i in listed] == [body["purpose"]] * 2
    bad = {**body, "interviewer_organisation_id": str(uuid.uuid4())}
    assert_problem(client.post(f"/api/v1/cases/{case_id}/interviews", json=bad, headers=referrer.headers), 422)
    auditor_view = client.get(f"/api/v1/cases/{case_id}/interviews", headers=cast.auditor.headers).json()
    assert [i["purpose"] for i in auditor_view] == [None, None]


def test_an_upload_declared_over_the_limit_is_refused_before_it_is_read(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    referrer = world.account("referrer1", ["referrer"])
    case_id = new_case(client, referrer)["id"]
    ctx.settings = ctx.settings.model_copy(update={"max_document_bytes": 2048})
    before = _documents(ctx)
    response = _upload(client, referrer, case_id, PDF + b"\0" * 200_000)
    body = assert_problem(response, 413)
    # Refused on the declared length, not after reading: only the early check says "declares".
    assert "declares" in str(body["detail"]) and "2048" in str(body["detail"])
    assert _documents(ctx) == before
