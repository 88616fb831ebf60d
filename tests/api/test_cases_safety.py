"""Retries, races and stale writes; every error status of the contract as problem+json; and personal data that
never reach the database in clear, the audit log or the logs, on both databases."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.clock import FrozenClock
from app.logging_setup import JsonFormatter
from app.models import Base
from app.services.context import ServiceContext
from tests.api.case_helpers import (
    SECRET_NAME,
    SECRET_STORY,
    Cast,
    footprint,
    get_case,
    history_count,
    new_case,
    refer,
    refused,
    send,
    step,
)
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body

# --- idempotency, races, If-Match -------------------------------------------------------------------------


def _case_ids(client: TestClient, headers: dict[str, str]) -> list[str]:
    response = client.get("/api/v1/cases", params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_a_retried_referral_creates_nothing_and_a_reused_key_with_another_body_is_refused(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    body = referral_body()
    first = refer(client, cast.referrer, body, key="retry-0001")
    assert first.status_code == 201, first.text
    again = refer(client, cast.referrer, body, key="retry-0001")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    assert _case_ids(client, cast.referrer.headers) == [first.json()["id"]]
    assert history_count(ctx, first.json()["id"]) == 1

    other = refer(client, cast.referrer, referral_body(age_band="35-44"), key="retry-0001")
    problem = assert_problem(other, 422)
    assert isinstance(problem["errors"], list) and problem["errors"]
    assert _case_ids(client, cast.referrer.headers) == [first.json()["id"]]
    # A new key is a new referral.
    assert refer(client, cast.referrer, body, key="retry-0002").status_code == 201
    assert len(_case_ids(client, cast.referrer.headers)) == 2


@pytest.mark.parametrize("with_if_match", [True, False], ids=["if-match", "no-if-match"])
def test_a_double_submitted_event_has_exactly_one_winner(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, with_if_match: bool
) -> None:
    cast = Cast(world, clock)
    assessor = cast.assessor
    case_id = new_case(client, cast.referrer)["id"]
    case = step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    version = str(case["version"])
    barrier = threading.Barrier(2)

    def decide(outcome: str) -> Response:
        barrier.wait(timeout=10)
        return send(
            client,
            assessor,
            case_id,
            "preliminary_decision",
            if_match=version if with_if_match else None,
            outcome=outcome,
            reasons=f"reasons for {outcome}",
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        responses = list(pool.map(decide, ["positive", "negative"]))

    codes = sorted(r.status_code for r in responses)
    assert codes[0] == 200 and codes[1] in (409, 412), [r.text for r in responses]
    loser = next(r for r in responses if r.status_code != 200)
    assert_problem(loser, loser.status_code)
    winner = next(r for r in responses if r.status_code == 200).json()
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=cast.coordinator.headers).json()
    assert [h["event"] for h in history].count("preliminary_decision") == 1
    assert get_case(client, cast.coordinator, case_id)["state"] == winner["state"]
    assert winner["version"] == int(version) + 1


def test_a_stale_if_match_is_412_and_changes_nothing(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case = new_case(client, cast.referrer)
    case_id, first_version = case["id"], case["version"]
    assessor_id = str(cast.assessor.user_id)
    step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=assessor_id)

    before = footprint(ctx, case_id)
    stale = send(client, cast.referrer, case_id, "report_missing", if_match=f'"{first_version}"')
    problem = assert_problem(stale, 412)
    assert problem["current_version"] == first_version + 1
    assert footprint(ctx, case_id) == before
    # The current version, quoted as an ETag or bare, is accepted.
    current = send(client, cast.referrer, case_id, "report_missing", if_match=f'"{first_version + 1}"')
    assert current.status_code == 200, current.text
    assert current.headers["ETag"] == f'"{first_version + 2}"'
    bare = send(client, cast.coordinator, case_id, "report_found", if_match=str(first_version + 2))
    assert bare.status_code == 200, bare.text
    assert_problem(send(client, cast.coordinator, case_id, "report_missing", if_match="not-a-version"), 422)


# --- every error status ----------------------------------------------------------------------------------


def test_every_error_status_of_the_contract_is_problem_json(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case = new_case(client, cast.referrer)
    case_id = case["id"]
    identity_url = f"/api/v1/cases/{case_id}/identity"
    purpose = {"purpose": "follow-up call"}

    # 401: no token, a malformed token.
    assert_problem(client.get(f"/api/v1/cases/{case_id}"), 401)
    assert_problem(client.get(f"/api/v1/cases/{case_id}", headers={"Authorization": "Bearer not.a.token"}), 401)
    assert_problem(client.post("/api/v1/referrals", json=referral_body()), 401)

    # 403, role: an auditor may read the case but never send an event nor read an identity.
    auditor = cast.auditor
    assert get_case(client, auditor, case_id)["allowed_events"] == []
    refused(ctx, client, auditor, case_id, "assign_assessor", 403, assessor_id=str(auditor.user_id))
    assert_problem(client.get(identity_url, params=purpose, headers=auditor.headers), 403)
    # 403, role within the workflow: a referrer may send events, but not this one.
    refused(ctx, client, cast.referrer, case_id, "assign_assessor", 403, assessor_id=str(auditor.user_id))
    # 403, need-to-know: the coordinator's role would allow it, the auditor's role forbids personal data.
    both = world.account("coordinating_auditor", ["coordinator", "auditor"], "NRM Secretariat", "coordination")
    body = assert_problem(client.get(identity_url, params=purpose, headers=both.headers), 403)
    assert "need-to-know" in str(body["detail"])

    # 404: an unknown case, and a case of another organisation for a referrer (as if it did not exist).
    unknown = uuid.uuid4()
    coordinator = cast.coordinator
    assert_problem(client.get(f"/api/v1/cases/{unknown}", headers=coordinator.headers), 404)
    assert_problem(send(client, coordinator, str(unknown), "report_missing"), 404)
    assert_problem(client.get(f"/api/v1/cases/{unknown}/history", headers=coordinator.headers), 404)
    assert_problem(client.get(f"/api/v1/cases/{unknown}/identity", params=purpose, headers=coordinator.headers), 404)
    other = cast.other_referrer
    not_yours = assert_problem(client.get(f"/api/v1/cases/{case_id}", headers=other.headers), 404)
    no_such = assert_problem(client.get(f"/api/v1/cases/{unknown}", headers=other.headers), 404)
    assert no_such["detail"] == not_yours["detail"]
    assert_problem(client.get(f"/api/v1/cases/{case_id}/history", headers=other.headers), 404)
    assert_problem(client.get(identity_url, params=purpose, headers=other.headers), 404)
    refused(ctx, client, other, case_id, "withdraw_consent", 404)
    assert _case_ids(client, other.headers) == []

    # 409: an event not allowed in this state names the state and the events the caller may send now.
    problem = refused(ctx, client, coordinator, case_id, "formal_decision", 409)
    assert problem["state"] == "referred"
    assert problem["allowed_events"] == get_case(client, coordinator, case_id)["allowed_events"]
    assert "assign_assessor" in problem["allowed_events"]

    # 412: a stale If-Match.
    assert_problem(send(client, coordinator, case_id, "report_missing", if_match='"99"'), 412)

    # 422: invalid input carries `errors`; an adult without consent is pointed to anonymous notification.
    no_consent = assert_problem(refer(client, cast.referrer, referral_body(consent=False)), 422)
    assert "anonymous notification" in str(no_consent["detail"])
    assert isinstance(no_consent["errors"], list) and no_consent["errors"]
    bad = assert_problem(refer(client, cast.referrer, referral_body(nationality="Nigeria")), 422)
    assert isinstance(bad["errors"], list)
    assert all({"loc", "msg"} <= set(e) for e in bad["errors"])
    assert any("nationality" in e["loc"] for e in bad["errors"])
    assessor = cast.assessor
    step(ctx, client, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    missing_reasons = refused(ctx, client, assessor, case_id, "preliminary_decision", 422, outcome="positive")
    assert missing_reasons["errors"]
    assert len(_case_ids(client, cast.referrer.headers)) == 1

    # 410: the identity once erased; erasing again.
    erased = client.post(
        f"/api/v1/cases/{case_id}/erasure", json={"reason": "person_request"}, headers=coordinator.headers
    )
    assert erased.status_code == 204, erased.text
    assert_problem(client.get(identity_url, params=purpose, headers=cast.referrer.headers), 410)
    assert_problem(client.get(identity_url, params=purpose, headers=coordinator.headers), 410)
    again = client.post(
        f"/api/v1/cases/{case_id}/erasure", json={"reason": "person_request"}, headers=coordinator.headers
    )
    assert_problem(again, 410)
    after = get_case(client, coordinator, case_id)
    assert after["erased"] is True and after["state"] == "preliminary_assessment"


# --- personal data never in clear ------------------------------------------------------------------------

NEEDLES = [SECRET_NAME, "Zorblat", "Quenmirrow", "Vantrell", SECRET_STORY]


def _assert_absent(where: str, haystack: str) -> None:
    lowered = haystack.lower()
    for needle in NEEDLES:
        assert needle.lower() not in lowered, f"{needle!r} found in {where}"


def _database_text(ctx: ServiceContext) -> dict[str, str]:
    """Everything the database holds, per place: the SQLite file and its WAL as bytes, or every PostgreSQL row
    cast to text."""
    url = make_url(ctx.settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        files = [Path(url.database), Path(url.database + "-wal")]
        assert files[0].stat().st_size > 0 and files[1].exists()
        return {str(f): f.read_bytes().decode("latin-1") for f in files if f.exists()}
    found: dict[str, str] = {}
    with ctx.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(text(f'SELECT CAST(t AS text) FROM "{table.name}" AS t')).scalars().all()
            found[table.name] = "\n".join(rows)
    assert found["cases"] and found["case_history"] and found["audit_entries"]
    return found


def test_a_name_and_story_never_leave_the_identity_endpoint(
    ctx: ServiceContext,
    world: World,
    client: TestClient,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    cast = Cast(world, clock)
    body = referral_body(full_name=SECRET_NAME, what_happened=SECRET_STORY)
    body["person"]["aliases"] = ["Zorblat Q."]
    body["account"]["places"] = ["Vantrell bakery"]
    case = new_case(client, cast.referrer, body)
    case_id = case["id"]
    coordinator, assessor = cast.coordinator, cast.assessor
    step(ctx, client, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    step(
        ctx,
        client,
        assessor,
        case_id,
        "preliminary_decision",
        outcome="positive",
        reasons=f"{SECRET_NAME} was {SECRET_STORY}",
    )
    step(ctx, client, coordinator, case_id, "report_missing", note=f"{SECRET_NAME} left the shelter")

    identity = client.get(
        f"/api/v1/cases/{case_id}/identity", params={"purpose": "prepare the interview"}, headers=cast.referrer.headers
    )
    assert identity.status_code == 200, identity.text
    assert identity.json()["person"]["full_name"] == SECRET_NAME
    assert identity.json()["person"]["aliases"] == ["Zorblat Q."]
    assert identity.json()["account"]["what_happened"] == SECRET_STORY
    with pytest.raises(AssertionError):
        _assert_absent("the identity", identity.text)  # the search itself finds what is there

    # Not in what the API shows without need-to-know...
    _assert_absent("the case view", client.get(f"/api/v1/cases/{case_id}", headers=coordinator.headers).text)
    _assert_absent("the case list", client.get("/api/v1/cases", headers=coordinator.headers).text)
    _assert_absent("the history", client.get(f"/api/v1/cases/{case_id}/history", headers=coordinator.headers).text)
    # ... nor in the audit log, which does record the identity read and its purpose ...
    log = client.get("/api/v1/audit/log", params={"limit": 1000}, headers=cast.auditor.headers)
    assert log.status_code == 200, log.text
    _assert_absent("the audit log", log.text)
    reads = [e for e in log.json() if e["action"] == "identity.read" and e["case_id"] == case_id]
    assert [e["details"]["purpose"] for e in reads] == ["prepare the interview"]
    # ... nor anywhere in the database ...
    database = _database_text(ctx)
    # The search sees real content: the stated purpose is kept in clear in the audit entry.
    assert any("prepare the interview" in content for content in database.values())
    for place, content in database.items():
        _assert_absent(place, content)
    # ... nor in the logs, at DEBUG, SQL statements and their parameters included.
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    formatter = JsonFormatter()
    _assert_absent("the captured logs", caplog.text)
    _assert_absent("the formatted logs", "\n".join(formatter.format(r) for r in caplog.records))
    _assert_absent("the log arguments", "\n".join(repr(r.args) for r in caplog.records))
    captured = capfd.readouterr()
    _assert_absent("stdout and stderr", captured.out + captured.err)
