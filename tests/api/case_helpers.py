"""Helpers for the case tests through HTTP: a lazily built cast of accounts, event senders and counters of
history rows and audit entries (read straight from the database, so nothing is filtered). Referral bodies
come from `tests/factories.py`."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import AuditEntry, Case, CaseHistory
from app.services.context import ServiceContext
from tests.api.conftest import Account, World
from tests.factories import referral_body

# Obviously fictional: what the leak tests search for.
SECRET_NAME = "Zorblat Quenmirrow"
SECRET_STORY = "kept in the cellar of the Vantrell bakery"


class Cast:
    """The accounts a test needs, made on first use only (each costs an argon2 hash and a login).

    Tokens live an hour of the test clock; an account whose token is older than 50 minutes logs in again
    when next used, so read accounts from the cast (`cast.coordinator`) after advancing the clock."""

    TOKEN_REFRESH = timedelta(minutes=50)

    def __init__(self, world: World, clock: FrozenClock) -> None:
        self.world = world
        self.clock = clock
        self._accounts: dict[str, tuple[Account, datetime]] = {}

    def _get(self, username: str, roles: list[str], organisation: str, sector: str) -> Account:
        now = self.clock.now()
        if username not in self._accounts:
            self._accounts[username] = (self.world.account(username, roles, organisation, sector), now)
        account, issued = self._accounts[username]
        if now - issued > self.TOKEN_REFRESH:
            account.token = self.world.log_in(username)
            self._accounts[username] = (account, now)
        return account

    @property
    def referrer(self) -> Account:
        return self._get("referrer", ["referrer"], "NGO One", "ngo")

    @property
    def other_referrer(self) -> Account:
        return self._get("other_referrer", ["referrer"], "NGO Elsewhere", "ngo")

    @property
    def coordinator(self) -> Account:
        return self._get("coordinator", ["coordinator"], "NRM Secretariat", "coordination")

    @property
    def assessor(self) -> Account:
        return self._get("assessor", ["assessor"], "Social Services", "social_services")

    @property
    def second_assessor(self) -> Account:
        return self._get("assessor2", ["assessor"], "Labour Inspection", "labour_inspection")

    @property
    def auditor(self) -> Account:
        return self._get("auditor", ["auditor"], "Inspection Body", "coordination")

    @property
    def panel(self) -> list[Account]:
        """Three voting members from three sectors, one an NGO, none from the referring organisation."""
        return [
            self._get("member_ngo", ["panel_member"], "NGO Two", "ngo"),
            self._get("member_police", ["panel_member"], "Police", "police"),
            self._get("member_health", ["panel_member"], "Hospital", "health"),
        ]


def refer(client: TestClient, account: Account, body: dict[str, Any], key: str | None = None) -> Response:
    headers = dict(account.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post("/api/v1/referrals", json=body, headers=headers)


def new_case(client: TestClient, account: Account, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = refer(client, account, body or referral_body())
    assert response.status_code == 201, response.text
    case: dict[str, Any] = response.json()
    return case


def send(
    client: TestClient,
    account: Account,
    case_id: str,
    event: str,
    *,
    if_match: str | None = None,
    **fields: Any,
) -> Response:
    headers = dict(account.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return client.post(f"/api/v1/cases/{case_id}/events", json={"event": event, **fields}, headers=headers)


def get_case(client: TestClient, account: Account, case_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/cases/{case_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    case: dict[str, Any] = response.json()
    return case


def deadline(case: dict[str, Any], kind: str) -> dict[str, Any]:
    """The latest deadline of this kind on the case."""
    rows = [d for d in case["deadlines"] if d["kind"] == kind]
    assert rows, f"no {kind} deadline in {[d['kind'] for d in case['deadlines']]}"
    row: dict[str, Any] = rows[-1]
    return row


def statuses(case: dict[str, Any]) -> dict[str, str]:
    return {d["kind"]: d["status"] for d in case["deadlines"]}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def audit_count(ctx: ServiceContext) -> int:
    """Audit entries about cases: logins (which tests repeat when tokens expire) are left out."""
    with ctx.sessions() as session:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action.not_like("auth.%"))
        return int(session.scalar(query) or 0)


def history_count(ctx: ServiceContext, case_id: str) -> int:
    with ctx.sessions() as session:
        query = select(func.count()).select_from(CaseHistory).where(CaseHistory.case_id == uuid.UUID(case_id))
        return int(session.scalar(query) or 0)


def case_version(ctx: ServiceContext, case_id: str) -> int:
    with ctx.sessions() as session:
        case = session.get(Case, uuid.UUID(case_id))
        assert case is not None
        return case.version


def footprint(ctx: ServiceContext, case_id: str) -> tuple[int, int, int]:
    """(version, history rows, audit entries): what a refused event must leave unchanged."""
    return case_version(ctx, case_id), history_count(ctx, case_id), audit_count(ctx)


def step(
    ctx: ServiceContext,
    client: TestClient,
    account: Account,
    case_id: str,
    event: str,
    **fields: Any,
) -> dict[str, Any]:
    """Send an event that must succeed: one more version, one history row and one audit entry, no more."""
    version, rows, entries = footprint(ctx, case_id)
    response = send(client, account, case_id, event, **fields)
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == f'"{version + 1}"'
    case: dict[str, Any] = response.json()
    assert case["version"] == version + 1
    assert history_count(ctx, case_id) == rows + 1, f"{event} must write exactly one history row"
    assert audit_count(ctx) == entries + 1, f"{event} must write exactly one audit entry"
    return case


def refused(
    ctx: ServiceContext,
    client: TestClient,
    account: Account,
    case_id: str,
    event: str,
    status: int,
    **fields: Any,
) -> dict[str, Any]:
    """Send an event that must be refused with `status`, leaving version, history and audit log unchanged."""
    from tests.api.conftest import assert_problem

    before = footprint(ctx, case_id)
    body = assert_problem(send(client, account, case_id, event, **fields), status)
    assert footprint(ctx, case_id) == before, f"a refused {event} changed the case"
    return body


def asked(clock: FrozenClock, how: str = "in_writing", before: timedelta = timedelta(0)) -> dict[str, str]:
    """The `request` field of `request_early_decision` and `withdraw_consent`: the person asked `before` now."""
    return {"how": how, "at": (clock.now() - before).isoformat()}
