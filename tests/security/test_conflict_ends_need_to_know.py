"""Issue 10 point 12: a panel member who declared a conflict could still read the identity. A declared conflict
ends that member's need-to-know on the case: the case answers as if it did not exist (404), as it does to anyone
without a relation to it. Through the API, on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, new_case, send, step
from tests.api.conftest import World, assert_problem


def test_a_declared_conflict_ends_need_to_know(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    case_id = new_case(client, cast.referrer)["id"]
    coordinator, assessor, members = cast.coordinator, cast.assessor, cast.panel
    step(ctx, client, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    step(ctx, client, assessor, case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
    step(ctx, client, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in members])
    conflicted, other = members[0], members[1]
    identity = f"/api/v1/cases/{case_id}/identity"
    purpose = {"purpose": "panel_review"}
    assert client.get(identity, params=purpose, headers=conflicted.headers).status_code == 200

    declared = send(client, conflicted, case_id, "declare_conflict", reason="I know the family")
    assert declared.status_code == 200, declared.text
    for url in (identity, f"/api/v1/cases/{case_id}", f"/api/v1/cases/{case_id}/documents"):
        assert_problem(client.get(url, params=purpose, headers=conflicted.headers), 404)
    listed = client.get("/api/v1/cases", headers=conflicted.headers).json()["items"]
    assert case_id not in [c["id"] for c in listed]
    assert_problem(send(client, conflicted, case_id, "cast_vote", vote="identify", rationale="x"), 404)
    # The others on the panel keep theirs.
    assert client.get(identity, params=purpose, headers=other.headers).status_code == 200
