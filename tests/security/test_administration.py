"""Issue 10, points 7 and 10: administration leaves a trace, an administrator reads no personal data, auditors see
who can, and disabling an account revokes its tokens for good.

The attacks: an operator account created itself a coordinator role (or a curious admin granted one to an
accomplice) with no entry in the audit log; a disabled account, re-enabled a week later, found its old stolen
token working again."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.models import AccessToken
from app.services import audit
from app.services.context import ServiceContext
from tests.api.conftest import TEST_PASSWORD, Account, World, assert_problem

PERSONAL_DATA_ROLES = {"referrer", "assessor", "coordinator", "panel_member", "caseworker"}


def _entries(ctx: ServiceContext, prefix: str) -> list[audit.AuditEntryView]:
    return [e for e in audit.list_entries(ctx, case_id=None, after=None, limit=1000) if e.action.startswith(prefix)]


def _create_user(client: TestClient, admin: Account, username: str, org_id: Any, roles: list[str]) -> Any:
    body = {"username": username, "password": TEST_PASSWORD, "organisation_id": str(org_id), "roles": roles}
    return client.post("/api/v1/users", json=body, headers=admin.headers)


def test_disabling_an_account_revokes_its_tokens_for_good(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    admin = world.account("operator", ["admin"], "NRM Operator", "coordination")
    victim = world.account("field-worker", ["referrer"])
    second_token = world.log_in("field-worker")
    me = {"Authorization": f"Bearer {victim.token}"}
    assert client.get("/api/v1/organisations", headers=me).status_code == 200

    assert client.post(f"/api/v1/users/{victim.user_id}/disable", headers=admin.headers).status_code == 200
    assert client.post(f"/api/v1/users/{victim.user_id}/enable", headers=admin.headers).status_code == 200

    for token in (victim.token, second_token):
        assert_problem(client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {token}"}), 401)
    with ctx.sessions() as session:
        rows = session.scalars(select(AccessToken).where(AccessToken.user_id == victim.user_id)).all()
        assert len(rows) == 2 and all(row.revoked_at is not None for row in rows)
    # The person behind the account signs in again and gets a new token.
    fresh = world.log_in("field-worker")
    assert client.get("/api/v1/organisations", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_disabling_an_organisation_revokes_its_members_tokens_and_stops_their_logins(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    admin = world.account("operator", ["admin"], "NRM Operator", "coordination")
    member = world.account("ngo-member", ["referrer"], "NGO Closing Down", "ngo")
    org_id = member.organisation_id
    assert client.post(f"/api/v1/organisations/{org_id}/disable", headers=admin.headers).status_code == 200
    assert_problem(client.get("/api/v1/organisations", headers=member.headers), 401)
    refused = client.post("/api/v1/auth/token", data={"username": "ngo-member", "password": TEST_PASSWORD})
    assert_problem(refused, 401)
    enabled = client.post(f"/api/v1/organisations/{org_id}/enable", headers=admin.headers)
    assert enabled.status_code == 200 and enabled.json()["is_active"] is True
    assert_problem(client.get("/api/v1/organisations", headers=member.headers), 401)  # still revoked
    assert client.post("/api/v1/auth/token", data={"username": "ngo-member", "password": TEST_PASSWORD}).is_success


def test_every_administrative_change_is_audited_without_names(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    admin = world.account("operator", ["admin"], "NRM Operator", "coordination")
    before = len(_entries(ctx, ""))
    org = client.post(
        "/api/v1/organisations", json={"name": "Fictional Shelter Org", "sector": "ngo"}, headers=admin.headers
    )
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    user = _create_user(client, admin, "jo.fictional", org_id, ["caseworker"])
    assert user.status_code == 201, user.text
    user_id = user.json()["id"]
    changed = client.put(
        f"/api/v1/users/{user_id}/roles", json={"roles": ["caseworker", "referrer"]}, headers=admin.headers
    )
    assert changed.status_code == 200 and changed.json()["roles"] == ["caseworker", "referrer"]
    changed = client.put(f"/api/v1/users/{user_id}/roles", json={"roles": ["referrer"]}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    for action in ("disable", "enable"):
        assert client.post(f"/api/v1/users/{user_id}/{action}", headers=admin.headers).status_code == 200
        assert client.post(f"/api/v1/organisations/{org_id}/{action}", headers=admin.headers).status_code == 200

    entries = _entries(ctx, "")[before:]
    expected = [
        ("organisation.created", {"organisation_id": org_id, "sector": "ngo"}),
        ("user.created", {"user_id": user_id, "organisation_id": org_id, "roles": ["caseworker"]}),
        ("user.roles_changed", {"user_id": user_id, "granted": ["referrer"], "revoked": []}),
        ("user.roles_changed", {"user_id": user_id, "granted": [], "revoked": ["caseworker"]}),
        ("user.disabled", {"user_id": user_id, "revoked_credentials": 0}),
        ("organisation.disabled", {"organisation_id": org_id, "revoked_credentials": 0}),
        ("user.enabled", {"user_id": user_id}),
        ("organisation.enabled", {"organisation_id": org_id}),
    ]
    assert [(e.action, e.details) for e in entries] == expected
    assert all(e.actor_id == str(admin.user_id) for e in entries)
    assert "jo.fictional" not in str([e.details for e in entries]) and "Fictional Shelter" not in str(entries)
    assert audit.verify(ctx).valid


def test_an_administrator_may_not_hold_a_role_that_reads_personal_data(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    admin = world.account("operator", ["admin"], "NRM Operator", "coordination")
    org_id = admin.organisation_id
    for role in sorted(PERSONAL_DATA_ROLES):
        body = assert_problem(_create_user(client, admin, f"admin-and-{role}", org_id, ["admin", role]), 422)
        assert "separation of duties" in str(body["detail"]) and role in str(body)
    # Nor by a later change, in either direction: the admin granting itself a role, or an admin role added.
    body = assert_problem(
        client.put(
            f"/api/v1/users/{admin.user_id}/roles", json={"roles": ["admin", "coordinator"]}, headers=admin.headers
        ),
        422,
    )
    assert "separation of duties" in str(body["detail"])
    caseworker = world.account("cw", ["caseworker"])
    assert_problem(
        client.put(
            f"/api/v1/users/{caseworker.user_id}/roles", json={"roles": ["caseworker", "admin"]}, headers=admin.headers
        ),
        422,
    )
    # Roles that read no personal data may go together.
    assert _create_user(client, admin, "admin-auditor", org_id, ["admin", "auditor"]).status_code == 201
    refusals = [
        e for e in _entries(ctx, "user.") if e.details.get("user_id") in {str(admin.user_id), str(caseworker.user_id)}
    ]
    assert [e.action for e in refusals] == ["user.created", "user.created"]  # nothing recorded for the refusals


def test_auditors_list_every_grant_of_a_personal_data_role(
    ctx: ServiceContext, world: World, client: TestClient
) -> None:
    admin = world.account("operator", ["admin"], "NRM Operator", "coordination")
    auditor = world.account("inspector", ["auditor"], "Inspection Body", "coordination")
    coordinator = world.account("secretary", ["coordinator"], "NRM Secretariat", "coordination")
    both = world.account("two-hats", ["caseworker", "referrer"])
    assert client.post(f"/api/v1/users/{both.user_id}/disable", headers=admin.headers).status_code == 200

    response = client.get("/api/v1/audit/grants", headers=auditor.headers)
    assert response.status_code == 200, response.text
    grants = {(g["user_id"], g["role"]): g for g in response.json()}
    assert set(grants) == {
        (str(coordinator.user_id), "coordinator"),
        (str(both.user_id), "caseworker"),
        (str(both.user_id), "referrer"),
    }
    two_hats = grants[(str(both.user_id), "caseworker")]
    assert two_hats["username"] == "two-hats" and two_hats["account_active"] is False
    assert two_hats["organisation_id"] == str(both.organisation_id) and two_hats["granted_at"]
    # The coordinator (who also reads the audit log) sees the same; the operator, who grants them, does not.
    assert client.get("/api/v1/audit/grants", headers=coordinator.headers).status_code == 200
    assert_problem(client.get("/api/v1/audit/grants", headers=admin.headers), 403)
    uuid.UUID(two_hats["user_id"])
