"""Fixtures for tests through the HTTP API: an app on the test database and a world of accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.context import ServiceContext
from tests import factories

TEST_PASSWORD = factories.PASSWORD


@dataclass
class Account:
    username: str
    user_id: uuid.UUID
    organisation_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class World(factories.World):
    """Organisations and accounts made through the service layer (`tests/factories.py`), logged in through
    the API."""

    def __init__(self, ctx: ServiceContext, client: TestClient) -> None:
        super().__init__(ctx)
        self.client = client

    def account(self, username: str, roles: list[str], organisation: str = "NGO One", sector: str = "ngo") -> Account:
        made = self.principal(username, roles, organisation, sector)
        return Account(username, made.user_id, made.organisation_id, self.log_in(username))

    def log_in(self, username: str, password: str = TEST_PASSWORD) -> str:
        response = self.client.post("/api/v1/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    app = create_app(context=ctx)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def world(ctx: ServiceContext, client: TestClient) -> World:
    return World(ctx, client)


def assert_problem(response: object, status: int) -> dict[str, object]:
    """The response is an RFC 9457 problem document with this status; returns its body."""
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str) and body[key]
    assert "Traceback" not in response.text
    return body
