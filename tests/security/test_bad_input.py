"""Issue 10 point 11: bad input answered 500 or was accepted. A cursor holding a naive datetime, an audit cursor
past any sequence number, report dates at the ends of the calendar and a date of birth in the future are each a
422 problem; a case or provider key that cannot be opened is a problem document saying a key is unavailable
(503), with a line in the log for the operator, never a bare 500. Through the API, on both databases."""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.models import CaseKey, Provider
from app.security.envelope import wrap_case_key
from app.security.keyfile import KeyRing
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, new_case
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body


def _cursor(created: str) -> str:
    raw = json.dumps([created, str(uuid.uuid4())]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_malformed_queries_are_422_problems(client: TestClient, world: World, clock: FrozenClock) -> None:
    cast = Cast(world, clock)
    coordinator = cast.coordinator
    new_case(client, cast.referrer)
    for cursor in (_cursor("2027-03-01T09:00:00"), _cursor("not a time"), "%%%", _cursor("2027-03-01")):
        body = assert_problem(client.get("/api/v1/cases", params={"cursor": cursor}, headers=coordinator.headers), 422)
        assert [e["loc"] for e in body["errors"]] == [["query", "cursor"]]  # type: ignore[union-attr]
    assert (
        client.get(
            "/api/v1/cases", params={"cursor": _cursor("2027-03-01T09:00:00+00:00")}, headers=coordinator.headers
        ).status_code
        == 200
    )

    for after in (2**70, 2**63, -1):
        assert_problem(client.get("/api/v1/audit/log", params={"after": after}, headers=cast.auditor.headers), 422)
    for route in ("/api/v1/audit/compliance", "/api/v1/audit/breaches"):
        for params in (
            {"from": "0001-01-01"},
            {"to": "9999-12-31"},
            {"from": "1899-12-31"},
            {"from": "2027-03-02", "to": "2027-03-01"},
        ):
            body = assert_problem(client.get(route, params=params, headers=cast.auditor.headers), 422)
            assert body["errors"], params
        ok = client.get(route, params={"from": "2027-01-01", "to": "2027-12-31"}, headers=cast.auditor.headers)
        assert ok.status_code == 200, ok.text


def test_a_date_of_birth_in_the_future_is_refused(client: TestClient, world: World, clock: FrozenClock) -> None:
    cast = Cast(world, clock)
    today = clock.now().date()
    for born in (today + timedelta(days=1), today.replace(year=today.year + 30)):
        body = referral_body()
        body["person"]["date_of_birth"] = born.isoformat()
        problem = assert_problem(client.post("/api/v1/referrals", json=body, headers=cast.referrer.headers), 422)
        assert "date of birth" in str(problem["detail"])
    body = referral_body()
    body["person"]["date_of_birth"] = today.isoformat()  # born today: a child, accepted
    created = client.post("/api/v1/referrals", json=body, headers=cast.referrer.headers)
    assert created.status_code == 201 and created.json()["is_child"] is True


@pytest.mark.parametrize("damage", ["unknown_kek", "altered"])
def test_a_key_that_cannot_be_opened_is_a_key_unavailable_problem(
    ctx: ServiceContext,
    client: TestClient,
    world: World,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    cast = Cast(world, clock)
    coordinator = cast.coordinator
    case_id = new_case(client, cast.referrer, referral_body(full_name="Zorblat Quenmirrow"))["id"]
    provider = client.post(
        "/api/v1/providers",
        json={"name": "Refuge Est", "kind": "shelter", "address": "4 Quiet Yard", "phone": None},
        headers=coordinator.headers,
    ).json()["id"]
    with ctx.sessions.begin() as session:
        rows = [session.get_one(CaseKey, uuid.UUID(case_id)), session.get_one(Provider, uuid.UUID(provider))]
        for row, ad in zip(rows, [case_id, f"provider:{provider}"], strict=True):
            if damage == "unknown_kek":  # wrapped under a key-encryption key this key file does not hold
                wrapped = wrap_case_key(KeyRing.generate(), os.urandom(32), ad)
                row.kek_id, row.wrapped_key = wrapped.kek_id, wrapped.blob
            else:  # one bit flipped in the wrapped key
                assert row.wrapped_key is not None
                row.wrapped_key = row.wrapped_key[:-1] + bytes([row.wrapped_key[-1] ^ 1])

    caplog.set_level(logging.INFO)
    for url in (f"/api/v1/cases/{case_id}/identity?purpose=assessment", f"/api/v1/providers/{provider}"):
        caplog.clear()
        body = assert_problem(client.get(url, headers=coordinator.headers), 503)
        assert body["title"] == "Key unavailable"
        assert "key" in str(body["detail"])
        operator = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert operator and all("NRM_KEY_FILE" in r.getMessage() for r in operator)
        assert not any(r.exc_info for r in operator), "a key problem is a known condition: no traceback"
        assert "Zorblat" not in caplog.text
