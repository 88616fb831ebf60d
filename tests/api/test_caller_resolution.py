"""The caller of an API route is resolved on the route's own worker thread (`app/api/routing.py`): one
thread-pool hop per request, every check read at that moment, and refusals still before invalid input."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.services import accounts, cases
from tests.api.conftest import World, assert_problem


def test_the_caller_is_resolved_on_the_thread_that_runs_the_use_case(
    world: World, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = world.account("coordinator1", ["coordinator"], "Coordination", "coordination")
    threads: dict[str, int] = {}
    resolve, read = accounts.principal_for_token, cases.get_case

    def resolving(*args: Any) -> Any:
        threads["caller"] = threading.get_ident()
        return resolve(*args)

    def reading(*args: Any) -> Any:
        threads["use-case"] = threading.get_ident()
        return read(*args)

    monkeypatch.setattr(accounts, "principal_for_token", resolving)
    monkeypatch.setattr(cases, "get_case", reading)
    assert_problem(client.get(f"/api/v1/cases/{uuid.uuid4()}", headers=coordinator.headers), 404)
    assert threads["caller"] == threads["use-case"]


def test_a_caller_without_the_permission_is_refused_before_their_input_is(world: World, client: TestClient) -> None:
    coordinator = world.account("coordinator1", ["coordinator"], "Coordination", "coordination")
    assert_problem(client.post("/api/v1/referrals", json={}, headers=coordinator.headers), 403)


def test_a_revoked_token_is_refused_at_once_and_before_invalid_input(world: World, client: TestClient) -> None:
    referrer = world.account("referrer1", ["referrer"])
    assert_problem(client.post("/api/v1/referrals", json={}, headers=referrer.headers), 422)
    assert client.post("/api/v1/auth/logout", headers=referrer.headers).is_success
    assert_problem(client.post("/api/v1/referrals", json={}, headers=referrer.headers), 401)
    assert_problem(client.get(f"/api/v1/cases/{uuid.uuid4()}", headers=referrer.headers), 401)
