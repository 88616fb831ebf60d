"""Logging in and out, tokens, roles and problem documents, through the API on both databases."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from tests.api.conftest import TEST_PASSWORD, World, assert_problem


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(response.headers["X-Request-ID"]) >= 8


def test_wrong_password_and_unknown_user_are_the_same_401(world: World, client: TestClient) -> None:
    world.account("referrer1", ["referrer"])
    wrong = client.post("/api/v1/auth/token", data={"username": "referrer1", "password": "not the password"})
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": TEST_PASSWORD})
    body_wrong = assert_problem(wrong, 401)
    body_unknown = assert_problem(unknown, 401)
    assert body_wrong["detail"] == body_unknown["detail"]
    assert wrong.headers["WWW-Authenticate"] == "Bearer"


def test_token_gives_access_until_it_expires(world: World, client: TestClient, clock: FrozenClock) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    assert client.get("/api/v1/users", headers=admin.headers).status_code == 200
    clock.advance(timedelta(minutes=61))
    body = assert_problem(client.get("/api/v1/users", headers=admin.headers), 401)
    assert "expired" in str(body["detail"])


def test_token_stops_working_after_logout(world: World, client: TestClient) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    assert client.post("/api/v1/auth/logout", headers=admin.headers).status_code == 204
    assert_problem(client.get("/api/v1/users", headers=admin.headers), 401)


def test_disabled_user_loses_tokens_and_cannot_log_in(world: World, client: TestClient) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    referrer = world.account("referrer1", ["referrer"])
    assert client.get("/api/v1/organisations", headers=referrer.headers).status_code == 200
    disabled = client.post(f"/api/v1/users/{referrer.user_id}/disable", headers=admin.headers)
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert_problem(client.get("/api/v1/organisations", headers=referrer.headers), 401)
    again = client.post("/api/v1/auth/token", data={"username": "referrer1", "password": TEST_PASSWORD})
    assert_problem(again, 401)


def test_too_many_failed_logins_are_refused_even_with_the_right_password(
    world: World, client: TestClient, clock: FrozenClock
) -> None:
    world.account("referrer1", ["referrer"])
    for _ in range(5):
        assert_problem(client.post("/api/v1/auth/token", data={"username": "referrer1", "password": "x"}), 401)
    blocked = client.post("/api/v1/auth/token", data={"username": "referrer1", "password": TEST_PASSWORD})
    assert_problem(blocked, 429)
    assert int(blocked.headers["Retry-After"]) > 0
    clock.advance(timedelta(minutes=16))
    assert client.post("/api/v1/auth/token", data={"username": "referrer1", "password": TEST_PASSWORD}).is_success


def test_failed_logins_are_limited_per_client_address(world: World, client: TestClient) -> None:
    world.account("referrer1", ["referrer"])
    for attempt in range(20):
        response = client.post("/api/v1/auth/token", data={"username": f"guess{attempt}", "password": "x"})
        assert_problem(response, 401)
    blocked = client.post("/api/v1/auth/token", data={"username": "referrer1", "password": TEST_PASSWORD})
    assert_problem(blocked, 429)


def test_referrer_calling_an_admin_endpoint_is_forbidden(world: World, client: TestClient) -> None:
    referrer = world.account("referrer1", ["referrer"])
    response = client.post(
        "/api/v1/organisations", json={"name": "Another NGO", "sector": "ngo"}, headers=referrer.headers
    )
    assert_problem(response, 403)


def test_no_token_and_a_forged_token_are_401(client: TestClient) -> None:
    assert_problem(client.get("/api/v1/organisations"), 401)
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"}
    assert_problem(client.get("/api/v1/organisations", headers=forged), 401)


def test_admin_creates_organisations_and_users(world: World, client: TestClient) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    created = client.post(
        "/api/v1/organisations", json={"name": "Police unit", "sector": "police"}, headers=admin.headers
    )
    assert created.status_code == 201
    org = created.json()
    assert org["sector"] == "police" and org["name"] == "Police unit"
    duplicate = client.post(
        "/api/v1/organisations", json={"name": "Police unit", "sector": "police"}, headers=admin.headers
    )
    assert_problem(duplicate, 409)
    user = client.post(
        "/api/v1/users",
        json={
            "username": "officer",
            "password": TEST_PASSWORD,
            "organisation_id": org["id"],
            "roles": ["referrer"],
        },
        headers=admin.headers,
    )
    assert user.status_code == 201, user.text
    assert user.json()["roles"] == ["referrer"] and user.json()["organisation_id"] == org["id"]
    assert "password" not in user.text
    assert world.log_in("officer")


def test_weak_password_and_unknown_role_are_422_with_errors(world: World, client: TestClient) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    org_id = str(world.organisation("NGO One", "ngo"))
    weak = client.post(
        "/api/v1/users",
        json={"username": "u1", "password": "short", "organisation_id": org_id, "roles": ["referrer"]},
        headers=admin.headers,
    )
    body = assert_problem(weak, 422)
    assert any(e["loc"][-1] == "password" for e in body["errors"])  # type: ignore[attr-defined]
    bad_role = client.post(
        "/api/v1/users",
        json={"username": "u2", "password": TEST_PASSWORD, "organisation_id": org_id, "roles": ["overlord"]},
        headers=admin.headers,
    )
    body = assert_problem(bad_role, 422)
    assert isinstance(body["errors"], list) and body["errors"]


def test_unparseable_json_unknown_route_and_wrong_method(world: World, client: TestClient) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    broken = client.post(
        "/api/v1/organisations",
        content=b'{"name": "x", "sector": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(broken, 422)
    assert body["title"] == "Unparseable JSON"
    assert_problem(client.get("/api/v1/no-such-thing", headers=admin.headers), 404)
    assert_problem(client.delete("/health"), 405)


def test_an_unexpected_error_is_a_500_problem_without_a_trace(client: TestClient) -> None:
    app = client.app

    @app.get("/boom")  # type: ignore[attr-defined,untyped-decorator]
    def boom() -> None:
        raise RuntimeError("secret detail that must not leak")

    response = client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret detail" not in response.text
    assert response.headers["X-Request-ID"]
    assert body["status"] == 500


def test_the_access_log_names_the_route_template_never_the_url(
    world: World, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    admin = world.account("admin1", ["admin"], "Operator", "coordination")
    caplog.set_level(logging.INFO, logger="app.http")
    user_id = admin.user_id
    client.post(f"/api/v1/users/{user_id}/disable?note=private-text", headers=admin.headers)
    client.get("/api/v1/no-such-thing")
    lines = [r for r in caplog.records if r.name == "app.http" and r.getMessage() == "request"]
    routes = [getattr(r, "route", None) for r in lines]
    assert "/api/v1/users/{user_id}/disable" in routes and "unmatched" in routes
    logged = " ".join(str(r.__dict__) for r in lines)
    assert str(user_id) not in logged and "private-text" not in logged
