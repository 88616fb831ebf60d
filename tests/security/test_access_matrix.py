"""The access matrix (issue 10): every route of the OpenAPI document, called by every role in every relation to a
case, answers the status written in `TABLE`, on both databases.

The callers (columns) are one account per role, and for the roles whose access depends on the case, one with
and one without the relation: the referring organisation (`ref`) and another organisation (`oref`); the
assigned assessor and caseworker (`ass`, `cw`) and ones not assigned (`xass`, `xcw`); a member of the panel
that sits (`pm`), a member who declared a conflict on it (`cpm`) and a member of an earlier, dissolved panel
(`fpm`); the coordinator, the auditor and the admin; and no token at all (`anon`). Each case route is called on
a live case and on an erased case built the same way: a cell `200|410` says live, then erased; a single status
holds for both. `+` after a status says the answer reveals what is protected: the case in a list, a provider's
address, the purposes of interviews, the notes of justice milestones; a route with such a check must say it in every cell.

A route of the OpenAPI document missing from the table fails the test, so no route ships unclassified: add its
row, with the request that exercises it in `ROUTES`. The world is built once per database and reused; a call
whose expected success would change it (erasure, logout) gets a case or a token of its own.
"""

# ruff: noqa: E501 -- the table below is read as a table: one route a line, one caller a column.

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.clock import FrozenClock
from app.config import load_settings
from app.main import create_app
from app.security.permissions import Principal
from app.services import cases, documents, justice, support
from app.services.context import ServiceContext
from app.services.justice import MilestoneInput
from tests.api.conftest import World
from tests.conftest import START, throwaway_postgres_database
from tests.factories import PASSWORD, event, refer, referral_body

COLUMNS = ("anon", "ref", "oref", "ass", "xass", "cw", "xcw", "pm", "cpm", "fpm", "coord", "aud", "adm")

# fmt: off
TABLE = """
route                                                      anon ref      oref ass      xass cw       xcw  pm       cpm  fpm  coord    aud  adm
GET  /health                                               200  200      200  200      200  200      200  200      200  200  200      200  200
POST /api/v1/auth/token                                    401  200      200  200      200  200      200  200      200  200  200      200  200
POST /api/v1/auth/logout                                   401  204      204  204      204  204      204  204      204  204  204      204  204
GET  /api/v1/organisations                                 401  200      200  200      200  200      200  200      200  200  200      200  200
POST /api/v1/organisations                                 401  403      403  403      403  403      403  403      403  403  403      403  201
GET  /api/v1/users                                         401  403      403  403      403  403      403  403      403  403  403      403  200
POST /api/v1/users                                         401  403      403  403      403  403      403  403      403  403  403      403  201
POST /api/v1/users/{user_id}/disable                       401  403      403  403      403  403      403  403      403  403  403      403  200
POST /api/v1/users/{user_id}/enable                        401  403      403  403      403  403      403  403      403  403  403      403  200
POST /api/v1/referrals                                     401  201      201  403      403  403      403  403      403  403  403      403  403
GET  /api/v1/cases                                         401  200+     200  200+     200  200+     200  200+     200  200  200+     200+ 403
GET  /api/v1/cases/{case_id}                               401  200      404  200      404  200      404  200      404  404  200      200  403
GET  /api/v1/cases/{case_id}/history                       401  200      404  200      404  200      404  200      404  404  200      200  403
POST /api/v1/cases/{case_id}/events                        401  403      404  403      404  403      404  422      404  404  403      403  403
GET  /api/v1/cases/{case_id}/identity                      401  200|410  404  200|410  404  200|410  404  200|410  404  404  200|410  403  403
POST /api/v1/cases/{case_id}/erasure                       401  403      403  403      403  403      403  403      403  403  204|410  403  403
POST /api/v1/cases/{case_id}/caseworkers                   401  403      403  403      403  403      403  403      403  403  200      403  403
POST /api/v1/notifications                                 401  201      201  403      403  403      403  403      403  403  403      403  403
GET  /api/v1/audit/log                                     401  403      403  403      403  403      403  403      403  403  200      200  403
GET  /api/v1/audit/verify                                  401  403      403  403      403  403      403  403      403  403  200      200  403
GET  /api/v1/policy                                        401  200      200  200      200  200      200  200      200  200  200      200  200
GET  /api/v1/audit/compliance                              401  403      403  403      403  403      403  403      403  403  200      200  403
GET  /api/v1/audit/breaches                                401  403      403  403      403  403      403  403      403  403  200      200  403
GET  /api/v1/statistics                                    401  403      403  403      403  403      403  403      403  403  200      200  403
POST /api/v1/cases/{case_id}/needs                         401  403      403  403      403  201      404  403      403  403  201      403  403
GET  /api/v1/cases/{case_id}/needs                         401  403      403  403      403  200      404  403      403  403  200      403  403
POST /api/v1/providers                                     401  403      403  403      403  403      403  403      403  403  201      403  403
GET  /api/v1/providers                                     401  403      403  403      403  200      200  403      403  403  200      403  403
GET  /api/v1/providers/{provider_id}                       401  403      403  403      403  200+|200 200  403      403  403  200+     403  403
POST /api/v1/cases/{case_id}/services                      401  403      403  403      403  201      404  403      403  403  201      403  403
GET  /api/v1/cases/{case_id}/services                      401  403      403  403      403  200      404  403      403  403  200      403  403
POST /api/v1/cases/{case_id}/services/{service_id}/status  401  403      403  403      403  200      404  403      403  403  200      403  403
POST /api/v1/cases/{case_id}/documents                     401  201|410  404  201|410  404  201|410  404  403      403  403  201|410  403  403
GET  /api/v1/cases/{case_id}/documents                     401  200      404  200      404  200      404  200      404  404  200      403  403
GET  /api/v1/cases/{case_id}/documents/{document_id}       401  200|410  404  200|410  404  200|410  404  200|410  404  404  200|410  403  403
POST /api/v1/cases/{case_id}/interviews                    401  201      404  201      404  201      404  201      404  404  201      403  403
GET  /api/v1/cases/{case_id}/interviews                    401  200+|200 404  200+|200 404  200+|200 404  200+|200 404  404  200+|200 200  403
GET  /api/v1/needs/assessment-template                     401  200      200  200      200  200      200  200      200  200  200      200  200
POST /api/v1/cases/{case_id}/assessments                   401  403      403  403      403  201      404  403      403  403  201      403  403
GET  /api/v1/cases/{case_id}/assessments                   401  403      403  403      403  200      404  403      403  403  200      403  403
GET  /api/v1/cases/{case_id}/support-plan                  401  403      403  403      403  200      404  403      403  403  200      403  403
POST /api/v1/cases/{case_id}/milestones                    401  403      403  403      403  201      404  403      403  403  201      403  403
GET  /api/v1/cases/{case_id}/milestones                    401  200+|200 404  200+|200 404  200+|200 404  200+|200 404  404  200+|200 200  403
GET  /api/v1/statistics/needs                              401  403      403  403      403  403      403  403      403  403  200      200  403
POST /api/v1/cases/{case_id}/transfers                     401  403      403  403      403  403      403  403      403  403  422      403  403
GET  /api/v1/cases/{case_id}/transfers                     401  403      403  403      403  403      403  403      403  403  200      403  403
POST /api/v1/transfers/inbox                               400  400      400  400      400  400      400  400      400  400  400      400  400
GET  /api/v1/transfers                                     401  403      403  403      403  403      403  403      403  403  200      403  403
GET  /api/v1/transfers/{transfer_id}                       401  403      403  403      403  403      403  403      403  403  404      403  403
GET  /api/v1/transfers/{transfer_id}/package               401  403      403  403      403  403      403  403      403  403  404      403  403
GET  /api/v1/transfers/{transfer_id}/package/documents/{index} 401 403   403  403      403  403      403  403      403  403  404      403  403
POST /api/v1/transfers/{transfer_id}/accept                401  403      403  403      403  403      403  403      403  403  404      403  403
POST /api/v1/transfers/{transfer_id}/refuse                401  403      403  403      403  403      403  403      403  403  404      403  403
GET  /api/v1/peers                                         401  403      403  403      403  403      403  403      403  403  200      403  403
POST /api/v1/organisations/{organisation_id}/disable       401  403      403  403      403  403      403  403      403  403  403      403  200
POST /api/v1/organisations/{organisation_id}/enable        401  403      403  403      403  403      403  403      403  403  403      403  200
PUT  /api/v1/users/{user_id}/roles                         401  403      403  403      403  403      403  403      403  403  403      403  200
PUT  /api/v1/users/{user_id}/contact                       401  403      403  403      403  403      403  403      403  403  403      403  200
GET  /api/v1/audit/grants                                  401  403      403  403      403  403      403  403      403  403  200      200  403
"""
# fmt: on


@dataclass(frozen=True)
class Expected:
    status: int
    reveals: bool


def _cell(text: str) -> tuple[Expected, Expected]:
    """`200`, `200+` or `live|erased` as (live, erased)."""
    parts = [Expected(int(p.rstrip("+")), p.endswith("+")) for p in text.split("|")]
    assert len(parts) in {1, 2}, text
    return (parts[0], parts[-1])


def _table() -> dict[tuple[str, str], dict[str, tuple[Expected, Expected]]]:
    header, *rows = [line.split() for line in TABLE.strip().splitlines()]
    assert tuple(header[1:]) == COLUMNS, header
    table: dict[tuple[str, str], dict[str, tuple[Expected, Expected]]] = {}
    for method, path, *cells in rows:
        assert len(cells) == len(COLUMNS), f"{method} {path}: {len(cells)} cells for {len(COLUMNS)} columns"
        assert (method, path) not in table, f"{method} {path} is in the table twice"
        table[(method, path)] = dict(zip(COLUMNS, map(_cell, cells), strict=True))
    return table


# --- the world -------------------------------------------------------------------------------------------------


@dataclass
class Caller:
    column: str
    username: str | None = None
    token: str | None = None
    principal: Principal | None = None


@dataclass(frozen=True)
class Scenario:
    """A case with every relation of the columns, and what its routes name."""

    case_id: str
    shelter_id: str  # a provider of a shelter need of this case, referred there (so, live while the case runs)
    other_need_id: str
    document_id: str
    erased: bool


@dataclass
class Matrix:
    ctx: ServiceContext
    client: TestClient
    world: World
    clock: FrozenClock
    callers: dict[str, Caller]
    panel: dict[str, Principal]  # the panel's members who are not columns: x (conflicted, first panel), y
    organisation_id: str
    other_provider_id: str
    spare_user_id: str
    spare_organisation_id: str
    live: Scenario | None = None
    erased: Scenario | None = None
    names: Iterator[int] = field(default_factory=itertools.count)

    def principal(self, column: str) -> Principal:
        found = self.callers[column].principal
        assert found is not None
        return found

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.names)}"

    def scenario(self, *, erased: bool) -> Scenario:
        """A case built through the services: referred by `ref`, assessed by `ass`, followed by `cw`; a first
        panel dissolved after `x` declared a conflict (`fpm` sat on it), a second one where `cpm` declared one;
        a shelter need referred to a shelter, an `other` need, a document and an interview."""
        ctx, p = self.ctx, self.principal
        coordinator = p("coord")
        case_id = refer(ctx, p("ref"))
        event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(p("ass").user_id))
        cases.assign_caseworker(ctx, coordinator, case_id, p("cw").user_id)
        event(ctx, p("ass"), case_id, "preliminary_decision", outcome="positive", reasons="reasonable grounds")
        first = [p("fpm"), self.panel["x"], self.panel["y"]]
        event(ctx, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in first])
        event(ctx, self.panel["x"], case_id, "declare_conflict", reason="knows the family")
        second = [p("pm"), self.panel["y"], p("cpm")]
        event(ctx, coordinator, case_id, "convene_panel", member_ids=[str(m.user_id) for m in second])
        event(ctx, p("cpm"), case_id, "declare_conflict", reason="worked for the employer")
        shelter = support.create_provider(ctx, coordinator, self.unique("Refuge"), "shelter", "1 Hidden Way", None)
        need = support.record_need(ctx, coordinator, case_id, "shelter", "immediate", None)
        support.refer_to_service(ctx, coordinator, case_id, need.id, shelter.id)
        other_need = support.record_need(ctx, coordinator, case_id, "other", "long_term", None)
        document = documents.upload(ctx, coordinator, case_id, "evidence", "text/plain", [b"a statement"])
        support.record_interview(
            ctx, coordinator, case_id, "first account", p("coord").organisation_id, self.clock.now()
        )
        step = MilestoneInput(step="complaint_filed", occurred_on=self.clock.now().date(), note="at the station")
        justice.record_milestone(ctx, coordinator, case_id, step)
        if erased:
            cases.erase(ctx, coordinator, case_id, "court_order")
        return Scenario(str(case_id), str(shelter.id), str(other_need.id), str(document.id), erased)

    def fresh_service(self, scenario: Scenario) -> str:
        """A new referral of the case's `other` need, to be moved by the caller."""
        service = support.refer_to_service(
            self.ctx,
            self.principal("coord"),
            uuid.UUID(scenario.case_id),
            uuid.UUID(scenario.other_need_id),
            uuid.UUID(self.other_provider_id),
        )
        return str(service.id)


# (column, roles, organisation, sector)
ACCOUNTS = [
    ("ref", ["referrer"], "NGO One", "ngo"),
    ("oref", ["referrer"], "NGO Two", "ngo"),
    ("ass", ["assessor"], "Social Services", "social_services"),
    ("xass", ["assessor"], "Social Services", "social_services"),
    ("cw", ["caseworker"], "Support NGO", "ngo"),
    ("xcw", ["caseworker"], "Support NGO", "ngo"),
    ("pm", ["panel_member"], "NGO Three", "ngo"),
    ("cpm", ["panel_member"], "Labour Inspection", "labour_inspection"),
    ("fpm", ["panel_member"], "NGO Four", "ngo"),
    ("coord", ["coordinator"], "Secretariat", "coordination"),
    ("aud", ["auditor"], "Inspection", "coordination"),
    ("adm", ["admin"], "Operator", "coordination"),
]


def _build(url: str, directory: Path) -> Iterator[Matrix]:
    clock = FrozenClock(START)
    settings = load_settings(database_url=url, key_file=directory / "keys" / "nrm.keys", policy="fr")
    ctx = ServiceContext.build(settings, clock)
    with TestClient(create_app(context=ctx), raise_server_exceptions=False) as client:
        world = World(ctx, client)
        callers = {"anon": Caller("anon")}
        for column, roles, organisation, sector in ACCOUNTS:
            account = world.account(f"matrix-{column}", roles, organisation, sector)
            principal = Principal.of(account.user_id, account.organisation_id, sector, roles)
            callers[column] = Caller(column, account.username, account.token, principal)
        panel = {
            "x": world.principal("matrix-x", ["panel_member"], "Police", "police"),
            "y": world.principal("matrix-y", ["panel_member"], "Hospital", "health"),
        }
        spare = world.principal("matrix-spare", ["referrer"], "NGO One", "ngo")
        spare_organisation = world.organisation("Spare NGO", "ngo")
        coordinator = callers["coord"].principal
        assert coordinator is not None
        other = support.create_provider(ctx, coordinator, "Job Centre", "other", "2 Open Street", None)
        matrix = Matrix(
            ctx,
            client,
            world,
            clock,
            callers,
            panel,
            str(coordinator.organisation_id),
            str(other.id),
            str(spare.user_id),
            str(spare_organisation),
        )
        matrix.live, matrix.erased = matrix.scenario(erased=False), matrix.scenario(erased=True)
        yield matrix


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    directory = tmp_path_factory.mktemp("matrix")
    if request.param == "sqlite":
        path = directory / "nrm.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield from _build(f"sqlite:///{path}", directory)
        return
    with throwaway_postgres_database("nrm_test_matrix") as url:
        yield from _build(url, directory)


# --- the requests ------------------------------------------------------------------------------------------------


@dataclass
class Call:
    method: str
    url: str
    params: dict[str, Any] | None = None
    json: Any = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    token: str | None = None  # instead of the caller's own


CallFor = Callable[[Matrix, Caller, Scenario], Call]


@dataclass(frozen=True)
class Route:
    call: CallFor
    #: Whether the answer reveals what the route protects (`+` in the table).
    reveals: Callable[[Scenario, Response], bool] | None = None
    #: Whether the answer depends on the case (live or erased): else the table has one status per cell.
    per_case: bool = True
    #: An expected success would change the shared case: such a call gets a case of its own.
    destructive: bool = False


def _get(path: str, **params: Any) -> CallFor:
    return lambda m, c, s: Call("GET", _fill(path, m, s), params=params or None)


def _post(path: str, body: Callable[[Matrix, Scenario], Any]) -> CallFor:
    return lambda m, c, s: Call("POST", _fill(path, m, s), json=body(m, s))


def _fill(path: str, m: Matrix, s: Scenario) -> str:
    return path.format(
        case_id=s.case_id,
        provider_id=s.shelter_id,
        document_id=s.document_id,
        user_id=m.spare_user_id,
        organisation_id=m.spare_organisation_id,
        transfer_id=UNKNOWN_TRANSFER,
    )


UNKNOWN_TRANSFER = "00000000-0000-4000-8000-000000000000"


def _log_in(m: Matrix, c: Caller, s: Scenario) -> Call:
    return Call("POST", "/api/v1/auth/token", data={"username": c.username or "nobody", "password": PASSWORD})


def _log_out(m: Matrix, c: Caller, s: Scenario) -> Call:
    # Its own token: logging out the caller's would spoil every call after it.
    token = m.world.log_in(c.username) if c.username else None
    return Call("POST", "/api/v1/auth/logout", token=token)


def _service_status(m: Matrix, c: Caller, s: Scenario) -> Call:
    url = f"/api/v1/cases/{s.case_id}/services/{m.fresh_service(s)}/status"
    return Call("POST", url, json={"status": "accepted", "note": None})


def _upload(m: Matrix, c: Caller, s: Scenario) -> Call:
    files = {"file": ("note.txt", b"another statement", "text/plain")}
    return Call("POST", f"/api/v1/cases/{s.case_id}/documents", data={"kind": "evidence"}, files=files)


def _listed(s: Scenario, r: Response) -> bool:
    return s.case_id in {item["id"] for item in r.json()["items"]}


def _address_shown(s: Scenario, r: Response) -> bool:
    return r.json()["address"] is not None


def _purposes_shown(s: Scenario, r: Response) -> bool:
    return any(item["purpose"] is not None for item in r.json())


def _notes_shown(s: Scenario, r: Response) -> bool:
    return any(item["note"] is not None for item in r.json())


def _no_case(call: CallFor) -> Route:
    return Route(call, per_case=False)


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/health"): _no_case(_get("/health")),
    ("POST", "/api/v1/auth/token"): _no_case(_log_in),
    ("POST", "/api/v1/auth/logout"): _no_case(_log_out),
    ("GET", "/api/v1/organisations"): _no_case(_get("/api/v1/organisations")),
    ("POST", "/api/v1/organisations"): _no_case(
        _post("/api/v1/organisations", lambda m, s: {"name": m.unique("Org"), "sector": "ngo"})
    ),
    ("GET", "/api/v1/users"): _no_case(_get("/api/v1/users")),
    ("POST", "/api/v1/users"): _no_case(
        _post(
            "/api/v1/users",
            lambda m, s: {
                "username": m.unique("user"),
                "password": PASSWORD,
                "organisation_id": m.organisation_id,
                "roles": ["referrer"],
            },
        )
    ),
    ("POST", "/api/v1/users/{user_id}/disable"): _no_case(_post("/api/v1/users/{user_id}/disable", lambda m, s: None)),
    ("POST", "/api/v1/users/{user_id}/enable"): _no_case(_post("/api/v1/users/{user_id}/enable", lambda m, s: None)),
    ("POST", "/api/v1/referrals"): _no_case(_post("/api/v1/referrals", lambda m, s: referral_body())),
    ("GET", "/api/v1/cases"): Route(_get("/api/v1/cases", limit=200), reveals=_listed),
    ("GET", "/api/v1/cases/{case_id}"): Route(_get("/api/v1/cases/{case_id}")),
    ("GET", "/api/v1/cases/{case_id}/history"): Route(_get("/api/v1/cases/{case_id}/history")),
    # A vote without its fields: who may vote reaches the fields' check (422), anyone else stops before.
    ("POST", "/api/v1/cases/{case_id}/events"): Route(
        _post("/api/v1/cases/{case_id}/events", lambda m, s: {"event": "cast_vote"})
    ),
    ("GET", "/api/v1/cases/{case_id}/identity"): Route(_get("/api/v1/cases/{case_id}/identity", purpose="assessment")),
    ("POST", "/api/v1/cases/{case_id}/erasure"): Route(
        _post("/api/v1/cases/{case_id}/erasure", lambda m, s: {"reason": "court_order"}), destructive=True
    ),
    ("POST", "/api/v1/cases/{case_id}/caseworkers"): Route(
        _post("/api/v1/cases/{case_id}/caseworkers", lambda m, s: {"caseworker_id": str(m.principal("cw").user_id)})
    ),
    ("POST", "/api/v1/notifications"): _no_case(
        _post(
            "/api/v1/notifications",
            lambda m, s: {
                "gender": "female",
                "age_band": "25-34",
                "nationality": "NG",
                "region": "FR-75",
                "exploitation_forms": ["forced_labour"],
            },
        )
    ),
    ("GET", "/api/v1/audit/log"): _no_case(_get("/api/v1/audit/log")),
    ("GET", "/api/v1/audit/verify"): _no_case(_get("/api/v1/audit/verify")),
    ("GET", "/api/v1/policy"): _no_case(_get("/api/v1/policy")),
    ("GET", "/api/v1/audit/compliance"): _no_case(_get("/api/v1/audit/compliance")),
    ("GET", "/api/v1/audit/breaches"): _no_case(_get("/api/v1/audit/breaches")),
    ("GET", "/api/v1/statistics"): _no_case(_get("/api/v1/statistics", year=2027)),
    ("POST", "/api/v1/cases/{case_id}/needs"): Route(
        _post("/api/v1/cases/{case_id}/needs", lambda m, s: {"kind": "other", "urgency": "long_term", "note": None})
    ),
    ("GET", "/api/v1/cases/{case_id}/needs"): Route(_get("/api/v1/cases/{case_id}/needs")),
    ("POST", "/api/v1/providers"): _no_case(
        _post(
            "/api/v1/providers",
            lambda m, s: {"name": m.unique("Clinic"), "kind": "medical", "address": "3 Side Street", "phone": None},
        )
    ),
    ("GET", "/api/v1/providers"): _no_case(_get("/api/v1/providers")),
    ("GET", "/api/v1/providers/{provider_id}"): Route(_get("/api/v1/providers/{provider_id}"), reveals=_address_shown),
    ("POST", "/api/v1/cases/{case_id}/services"): Route(
        _post(
            "/api/v1/cases/{case_id}/services",
            lambda m, s: {"need_id": s.other_need_id, "provider_id": m.other_provider_id},
        )
    ),
    ("GET", "/api/v1/cases/{case_id}/services"): Route(_get("/api/v1/cases/{case_id}/services")),
    ("POST", "/api/v1/cases/{case_id}/services/{service_id}/status"): Route(_service_status),
    ("POST", "/api/v1/cases/{case_id}/documents"): Route(_upload),
    ("GET", "/api/v1/cases/{case_id}/documents"): Route(_get("/api/v1/cases/{case_id}/documents")),
    ("GET", "/api/v1/cases/{case_id}/documents/{document_id}"): Route(
        _get("/api/v1/cases/{case_id}/documents/{document_id}", purpose="panel_review")
    ),
    ("POST", "/api/v1/cases/{case_id}/interviews"): Route(
        _post(
            "/api/v1/cases/{case_id}/interviews",
            lambda m, s: {
                "purpose": "a second account",
                "interviewer_organisation_id": m.organisation_id,
                "held_at": (START + timedelta(hours=1)).isoformat(),
            },
        )
    ),
    ("GET", "/api/v1/cases/{case_id}/interviews"): Route(
        _get("/api/v1/cases/{case_id}/interviews"), reveals=_purposes_shown
    ),
    ("GET", "/api/v1/needs/assessment-template"): _no_case(_get("/api/v1/needs/assessment-template")),
    ("POST", "/api/v1/cases/{case_id}/assessments"): Route(
        _post(
            "/api/v1/cases/{case_id}/assessments",
            lambda m, s: {"scope": "partial", "answers": {"long_term.education": "not_assessed"}},
        )
    ),
    ("GET", "/api/v1/cases/{case_id}/assessments"): Route(_get("/api/v1/cases/{case_id}/assessments")),
    ("GET", "/api/v1/cases/{case_id}/support-plan"): Route(_get("/api/v1/cases/{case_id}/support-plan")),
    ("POST", "/api/v1/cases/{case_id}/milestones"): Route(
        _post(
            "/api/v1/cases/{case_id}/milestones",
            lambda m, s: {"step": "testimony_given", "occurred_on": START.date().isoformat(), "note": None},
        )
    ),
    ("GET", "/api/v1/cases/{case_id}/milestones"): Route(
        _get("/api/v1/cases/{case_id}/milestones"), reveals=_notes_shown
    ),
    ("GET", "/api/v1/statistics/needs"): _no_case(_get("/api/v1/statistics/needs")),
    # Transfers are the coordinator's: no peer is registered here, so the coordinator's calls stop at the unknown
    # peer (422) or transfer (404), past every access check; the relation checks of received packages are the
    # transfers tests' (tests/api/test_transfers*.py).
    ("POST", "/api/v1/cases/{case_id}/transfers"): Route(
        _post("/api/v1/cases/{case_id}/transfers", lambda m, s: {"peer": "nowhere", "reason": "person_request"})
    ),
    ("GET", "/api/v1/cases/{case_id}/transfers"): Route(_get("/api/v1/cases/{case_id}/transfers")),
    # The inbox takes no user token (a peer's signature is the credential): what is not a message is 400 to all.
    ("POST", "/api/v1/transfers/inbox"): _no_case(_post("/api/v1/transfers/inbox", lambda m, s: "not a message")),
    ("GET", "/api/v1/transfers"): _no_case(_get("/api/v1/transfers")),
    ("GET", "/api/v1/transfers/{transfer_id}"): _no_case(_get("/api/v1/transfers/{transfer_id}")),
    ("GET", "/api/v1/transfers/{transfer_id}/package"): _no_case(
        _get("/api/v1/transfers/{transfer_id}/package", purpose="assessment")
    ),
    ("GET", "/api/v1/transfers/{transfer_id}/package/documents/{index}"): _no_case(
        _get("/api/v1/transfers/{transfer_id}/package/documents/0", purpose="assessment")
    ),
    ("POST", "/api/v1/transfers/{transfer_id}/accept"): _no_case(
        _post("/api/v1/transfers/{transfer_id}/accept", lambda m, s: {})
    ),
    ("POST", "/api/v1/transfers/{transfer_id}/refuse"): _no_case(
        _post("/api/v1/transfers/{transfer_id}/refuse", lambda m, s: {"reason": "no_jurisdiction"})
    ),
    ("GET", "/api/v1/peers"): _no_case(_get("/api/v1/peers")),
    # Administration acts on a spare organisation and a spare account nobody else in the world uses.
    ("POST", "/api/v1/organisations/{organisation_id}/disable"): _no_case(
        _post("/api/v1/organisations/{organisation_id}/disable", lambda m, s: None)
    ),
    ("POST", "/api/v1/organisations/{organisation_id}/enable"): _no_case(
        _post("/api/v1/organisations/{organisation_id}/enable", lambda m, s: None)
    ),
    ("PUT", "/api/v1/users/{user_id}/roles"): _no_case(
        lambda m, c, s: Call("PUT", _fill("/api/v1/users/{user_id}/roles", m, s), json={"roles": ["referrer"]})
    ),
    ("PUT", "/api/v1/users/{user_id}/contact"): _no_case(
        lambda m, c, s: Call(
            "PUT",
            _fill("/api/v1/users/{user_id}/contact", m, s),
            json={"email": "alerts@example.org", "language": "en"},
        )
    ),
    ("GET", "/api/v1/audit/grants"): _no_case(_get("/api/v1/audit/grants")),
}


# --- the tests ---------------------------------------------------------------------------------------------------


def _openapi_routes(tmp_path: Path, template: Path) -> set[tuple[str, str]]:
    shutil.copyfile(template, tmp_path / "nrm.sqlite3")
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'nrm.sqlite3'}", key_file=tmp_path / "keys" / "k")
    context = ServiceContext.build(settings, FrozenClock(START))
    try:
        document = create_app(context=context).openapi()
    finally:
        context.close()
    return {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}


def test_every_route_of_the_openapi_document_is_classified(tmp_path: Path, sqlite_template: Path) -> None:
    routes = _openapi_routes(tmp_path, sqlite_template)
    table = set(_table())
    assert routes - table == set(), "routes without a row in TABLE: classify them"
    assert table - routes == set(), "rows of TABLE for routes that do not exist"
    assert set(ROUTES) == table, "every row of TABLE needs its request in ROUTES, and only they"
    for key, row in _table().items():
        route = ROUTES[key]
        cells = [e for pair in row.values() for e in pair]
        if not route.per_case:
            assert all(live == erased for live, erased in row.values()), f"{key}: the case does not matter here"
        if route.reveals is None:
            assert not any(e.reveals for e in cells), f"{key}: `+` in a row without a check of what is revealed"


def _send(m: Matrix, caller: Caller, call: Call) -> Response:
    token = call.token if call.token is not None else caller.token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return m.client.request(
        call.method, call.url, params=call.params, json=call.json, data=call.data, files=call.files, headers=headers
    )


def test_every_route_by_every_caller_on_a_live_and_an_erased_case(matrix: Matrix) -> None:
    assert matrix.live is not None and matrix.erased is not None
    wrong: list[str] = []
    for (method, path), row in _table().items():
        route = ROUTES[(method, path)]
        scenarios = [matrix.live, matrix.erased] if route.per_case else [matrix.live]
        for column in COLUMNS:
            caller = matrix.callers[column]
            for scenario, expected in zip(scenarios, row[column], strict=False):
                if route.destructive and 200 <= expected.status < 300:
                    scenario = matrix.scenario(erased=scenario.erased)
                response = _send(matrix, caller, route.call(matrix, caller, scenario))
                where = f"{method} {path} [{column}, {'erased' if scenario.erased else 'live'} case]"
                if response.status_code != expected.status:
                    wrong.append(f"{where}: {response.status_code}, expected {expected.status}")
                    continue
                if response.status_code >= 400 and not response.headers["content-type"].startswith(
                    "application/problem+json"
                ):
                    wrong.append(f"{where}: {response.status_code} is not a problem document")
                if route.reveals is not None and response.status_code < 300:
                    shown = route.reveals(scenario, response)
                    if shown != expected.reveals:
                        wrong.append(f"{where}: {'reveals' if shown else 'hides'}, expected the opposite")
    assert wrong == [], f"{len(wrong)} cell(s) differ:\n" + "\n".join(wrong)
