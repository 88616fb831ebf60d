"""Property-based test of the whole OpenAPI document with schemathesis, in-process (from_asgi).

Every operation is called with generated input, authenticated as an account holding every role, so that
requests reach the handlers rather than stopping at 401/403 (every role but `admin`, which may not go with a
role that reads personal data: account administration is called as a separate admin account). No response may
be a 5xx, and every response must match its schema. The test grows by itself as endpoints are added.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import content_type_conformance, not_a_server_error, response_schema_conformance

from app.clock import FrozenClock
from app.config import load_settings
from app.main import create_app
from app.migrate import upgrade
from app.services import accounts
from app.services.context import ServiceContext
from tests.conftest import START

PASSWORD = "correct horse battery staple"
ALL_ROLES = ["referrer", "assessor", "coordinator", "panel_member", "caseworker", "auditor"]
ADMIN_ROLES = ["admin", "auditor"]


def _build_schema() -> tuple[Any, ServiceContext]:
    import tempfile
    from pathlib import Path

    directory = Path(tempfile.mkdtemp(prefix="nrm-fuzz-"))
    url = f"sqlite:///{directory / 'fuzz.sqlite3'}"
    upgrade(url)
    ctx = ServiceContext.build(
        load_settings(
            database_url=url,
            key_file=directory / "nrm.keys",
            login_max_failures_per_account=1_000_000,
            login_max_failures_per_address=1_000_000,
        ),
        FrozenClock(START),
    )
    org = accounts.create_organisation(ctx, "Fuzz NGO", "ngo")
    accounts.create_user(ctx, "fuzzer", PASSWORD, org.id, ALL_ROLES)
    accounts.create_user(ctx, "fuzz-admin", PASSWORD, org.id, ADMIN_ROLES)
    app = create_app(context=ctx)
    return schemathesis.openapi.from_asgi("/openapi.json", app), ctx


schema, fuzz_ctx = _build_schema()


@pytest.fixture(scope="module")
def bearer() -> Iterator[str]:
    issued = accounts.log_in(fuzz_ctx, "fuzzer", PASSWORD, "127.0.0.1")
    yield issued.access_token


@pytest.fixture(scope="module")
def admin_bearer() -> Iterator[str]:
    issued = accounts.log_in(fuzz_ctx, "fuzz-admin", PASSWORD, "127.0.0.1")
    yield issued.access_token


def _administration(case: schemathesis.Case) -> bool:
    return case.path.startswith("/api/v1/users") or (
        case.path.startswith("/api/v1/organisations") and case.method.upper() != "GET"
    )


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_error_and_responses_match_the_schema(
    case: schemathesis.Case, bearer: str, admin_bearer: str
) -> None:
    if case.path == "/api/v1/auth/logout":
        pytest.skip("logging out would revoke the token the other operations use")
    token = admin_bearer if _administration(case) else bearer
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
