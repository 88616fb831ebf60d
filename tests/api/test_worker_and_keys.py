"""The scheduled worker (lapsed windows closed once, withdrawn cases erased after the grace period) and the keys
(rotation then reads, retiring the old KEK, erasure then 410, no identity for an auditor or another organisation)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.services import audit, keys, scheduler
from app.services.context import ServiceContext
from app.services.errors import Conflict
from tests.api.case_helpers import (
    Cast,
    asked,
    at,
    audit_count,
    deadline,
    footprint,
    get_case,
    history_count,
    new_case,
    step,
)
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body


def test_a_lapsed_reconsideration_window_is_closed_by_the_worker_once(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    step(ctx, client, cast.coordinator, case_id, "assign_assessor", assessor_id=str(cast.assessor.user_id))
    case = step(ctx, client, cast.assessor, case_id, "preliminary_decision", outcome="negative", reasons="none")
    window_end = at(deadline(case, "reconsideration_window")["due_at"])

    # While the window runs, the worker leaves the case alone.
    clock.advance(timedelta(days=29))
    before = footprint(ctx, case_id)
    assert scheduler.run_pass(ctx).closed == 0
    assert footprint(ctx, case_id) == before

    clock.advance(window_end - clock.now() + timedelta(minutes=1))
    entries = audit_count(ctx)
    assert scheduler.run_pass(ctx).closed == 1
    case = get_case(client, cast.coordinator, case_id)
    assert case["state"] == "closed" and case["close_reason"] == "no_reconsideration"
    assert deadline(case, "reconsideration_window")["status"] == "met"
    assert history_count(ctx, case_id) == before[1] + 1
    assert audit_count(ctx) == entries + 1
    last = audit.list_entries(ctx, case_id=case_id, after=None, limit=100)[-1]
    assert last.action == "case.close" and last.actor_id == "system"
    assert last.details["reason"] == "no_reconsideration"
    history = client.get(f"/api/v1/cases/{case_id}/history", headers=cast.coordinator.headers).json()
    assert history[-1]["actor_id"] is None and history[-1]["to_state"] == "closed"

    # A second pass changes nothing and writes nothing.
    after = footprint(ctx, case_id)
    report = scheduler.run_pass(ctx)
    assert (report.closed, report.erased) == (0, 0)
    assert footprint(ctx, case_id) == after
    assert audit.verify(ctx).valid


def test_a_withdrawn_case_is_erased_after_the_grace_period_once(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    step(ctx, client, cast.referrer, case_id, "withdraw_consent", request=asked(clock))
    url = f"/api/v1/cases/{case_id}/identity"
    assert client.get(url, params={"purpose": "assessment"}, headers=cast.referrer.headers).status_code == 200
    clock.advance(timedelta(days=ctx.policy.withdrawal_grace_days + 1))
    assert scheduler.run_pass(ctx).erased == 1
    assert_problem(client.get(url, params={"purpose": "assessment"}, headers=cast.referrer.headers), 410)
    entries = audit_count(ctx)
    assert scheduler.run_pass(ctx).erased == 0
    assert audit_count(ctx) == entries


def test_a_capped_pass_leaves_the_rest_to_the_next_pass(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_ids = [new_case(client, cast.referrer)["id"] for _ in range(3)]
    for case_id in case_ids:
        step(ctx, client, cast.referrer, case_id, "withdraw_consent", request=asked(clock))
    clock.advance(timedelta(days=ctx.policy.withdrawal_grace_days + 1))
    assert [scheduler.run_pass(ctx, limit=2).erased for _ in range(3)] == [2, 1, 0]
    assert audit.verify(ctx).valid


def test_rotation_keeps_identities_readable_and_erasure_makes_them_gone(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    referrer = cast.referrer
    first = new_case(client, referrer, referral_body(full_name="Testperson Rotated"))["id"]
    second = new_case(client, referrer, referral_body(full_name="Testperson Erased"))["id"]
    purpose = {"purpose": "safeguarding"}

    def name(case_id: str) -> str:
        response = client.get(f"/api/v1/cases/{case_id}/identity", params=purpose, headers=referrer.headers)
        assert response.status_code == 200, response.text
        value: str = response.json()["person"]["full_name"]
        return value

    assert name(first) == "Testperson Rotated"
    old_kek = ctx.keyring.active_kek_id
    with pytest.raises(Conflict):
        keys.retire(ctx, old_kek)  # the active key cannot be retired

    report = keys.rotate(ctx)
    assert report.rewrapped == 2 and report.active_kek_id != old_kek
    assert ctx.keyring.active_kek_id == report.active_kek_id
    assert name(first) == "Testperson Rotated" and name(second) == "Testperson Erased"

    keys.retire(ctx, old_kek)
    assert old_kek not in ctx.keyring.kek_ids
    assert name(first) == "Testperson Rotated" and name(second) == "Testperson Erased"
    third = new_case(client, referrer, referral_body(full_name="Testperson After"))["id"]
    assert name(third) == "Testperson After"
    actions = [e.action for e in audit.list_entries(ctx, case_id=None, after=None, limit=1000)]
    assert "keys.rotated" in actions and "keys.retired" in actions
    assert audit.verify(ctx).valid

    # Erasure destroys the case key: 410 for everyone, the other cases untouched.
    coordinator = cast.coordinator
    response = client.post(
        f"/api/v1/cases/{second}/erasure", json={"reason": "person_request"}, headers=coordinator.headers
    )
    assert response.status_code == 204, response.text
    for account in (referrer, coordinator):
        gone = client.get(f"/api/v1/cases/{second}/identity", params=purpose, headers=account.headers)
        assert_problem(gone, 410)
    assert name(first) == "Testperson Rotated"
    # A rotation after the erasure has nothing to re-wrap for the erased case, and reads still work.
    assert keys.rotate(ctx).rewrapped == 2
    assert name(first) == "Testperson Rotated"
    assert_problem(client.get(f"/api/v1/cases/{second}/identity", params=purpose, headers=referrer.headers), 410)

    # Neither an auditor nor another organisation reads an identity.
    auditor = assert_problem(
        client.get(f"/api/v1/cases/{first}/identity", params=purpose, headers=cast.auditor.headers), 403
    )
    assert "Testperson" not in str(auditor)
    other = client.get(f"/api/v1/cases/{first}/identity", params=purpose, headers=cast.other_referrer.headers)
    assert other.status_code in (403, 404)
    assert_problem(other, other.status_code)
    reads = [e for e in audit.list_entries(ctx, case_id=first, after=None, limit=1000) if e.action == "identity.read"]
    assert len(reads) == 5 and all(e.actor_id == str(referrer.user_id) for e in reads)
