"""Fixtures for TestClient tests of the web application, on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.services.context import ServiceContext
from tests.web.helpers import ORIGIN, WebClient


@pytest.fixture
def web(ctx: ServiceContext) -> Iterator[WebClient]:
    with TestClient(create_app(context=ctx), base_url=ORIGIN, raise_server_exceptions=False) as client:
        yield WebClient(client)
