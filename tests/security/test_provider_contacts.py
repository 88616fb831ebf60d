"""Issue 10 point 3: a caseworker could unlock any shelter's address (add a need of kind `other` to an own case,
refer it to the shelter, mark it refused, read the address). A caseworker sees a provider's contacts only while
an assigned case has an open or accepted service referral to that provider for a need the provider serves;
never after a refusal, no longer once delivered or once the assignment ends. Through the API, on both databases.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.models import Case
from app.services.context import ServiceContext
from app.workflow.states import NEEDS_SERVED, NeedKind, ProviderKind
from tests.api.case_helpers import Cast, new_case
from tests.api.conftest import Account, World, assert_problem
from tests.factories import referral_row

ADDRESS = "7 Unfindable Close"


def _post(client: TestClient, account: Account, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json=body, headers=account.headers)


def _contacts(client: TestClient, account: Account, provider_id: str) -> tuple[str | None, str | None]:
    response = client.get(f"/api/v1/providers/{provider_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()["address"], response.json()["phone"]


class Scene:
    def __init__(self, client: TestClient, world: World, clock: FrozenClock) -> None:
        cast = Cast(world, clock)
        self.client, self.coordinator = client, cast.coordinator
        self.caseworker = world.account("cw_attacker", ["caseworker"], "Support NGO", "ngo")
        self.case_id = new_case(client, cast.referrer)["id"]
        assigned = _post(
            client,
            self.coordinator,
            f"/api/v1/cases/{self.case_id}/caseworkers",
            {"caseworker_id": str(self.caseworker.user_id)},
        )
        assert assigned.status_code == 200, assigned.text
        shelter = _post(
            client,
            self.coordinator,
            "/api/v1/providers",
            {"name": "Refuge Nord", "kind": "shelter", "address": ADDRESS, "phone": "+33 0 00 00 00 01"},
        )
        assert shelter.status_code == 201, shelter.text
        self.shelter = shelter.json()["id"]

    def need(self, kind: str) -> str:
        body = {"kind": kind, "urgency": "immediate", "note": None}
        response = _post(self.client, self.caseworker, f"/api/v1/cases/{self.case_id}/needs", body)
        assert response.status_code == 201, response.text
        need_id: str = response.json()["id"]
        return need_id

    def refer(self, need_id: str) -> Any:
        body = {"need_id": need_id, "provider_id": self.shelter}
        return _post(self.client, self.caseworker, f"/api/v1/cases/{self.case_id}/services", body)

    def status(self, service_id: str, status: str) -> None:
        url = f"/api/v1/cases/{self.case_id}/services/{service_id}/status"
        response = _post(self.client, self.caseworker, url, {"status": status, "note": None})
        assert response.status_code == 200, response.text

    def address(self) -> str | None:
        return _contacts(self.client, self.caseworker, self.shelter)[0]


def test_the_reported_attack_no_longer_unlocks_a_shelter(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    scene = Scene(client, world, clock)
    assert scene.address() is None
    # A need the shelter does not serve cannot be referred to it...
    attempt = scene.refer(scene.need("other"))
    body = assert_problem(attempt, 422)
    assert body["errors"] == [
        {"loc": ["body", "provider_id"], "msg": "this provider does not serve a need of this kind"}
    ]
    assert scene.address() is None
    # ... and one recorded before this rule existed opens nothing: the contact rule matches the kinds too.
    need = scene.need("other")
    with ctx.sessions.begin() as session:
        referral_row(
            session, uuid.UUID(scene.case_id), uuid.UUID(need), uuid.UUID(scene.shelter), "requested", clock.now()
        )
    assert scene.address() is None


def test_a_refused_referral_never_shows_the_address(client: TestClient, world: World, clock: FrozenClock) -> None:
    scene = Scene(client, world, clock)
    service = scene.refer(scene.need("shelter"))
    assert service.status_code == 201, service.text
    scene.status(service.json()["id"], "refused")
    assert scene.address() is None
    assert _contacts(client, scene.coordinator, scene.shelter)[0] == ADDRESS  # the directory's keeper still does


def test_the_address_shows_only_while_the_referral_is_live(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    scene = Scene(client, world, clock)
    need = scene.need("shelter")
    first = scene.refer(need).json()["id"]
    assert _contacts(client, scene.caseworker, scene.shelter) == (ADDRESS, "+33 0 00 00 00 01")  # requested
    scene.status(first, "accepted")
    assert scene.address() == ADDRESS
    scene.status(first, "delivered")
    assert scene.address() is None  # delivered: no longer

    second = scene.refer(need).json()["id"]
    assert scene.address() == ADDRESS
    # The assignment ends (the case no longer lists the caseworker): no longer, referral or not.
    with ctx.sessions.begin() as session:
        session.get_one(Case, uuid.UUID(scene.case_id)).caseworker_ids = []
    assert_problem(client.get(f"/api/v1/cases/{scene.case_id}/services", headers=scene.caseworker.headers), 404)
    assert scene.address() is None
    with ctx.sessions.begin() as session:
        session.get_one(Case, uuid.UUID(scene.case_id)).caseworker_ids = [str(scene.caseworker.user_id)]
    assert scene.address() == ADDRESS
    scene.status(second, "refused")
    assert scene.address() is None


def test_a_closed_or_erased_case_shows_no_address(client: TestClient, world: World, clock: FrozenClock) -> None:
    scene = Scene(client, world, clock)
    assert scene.refer(scene.need("shelter")).status_code == 201
    assert scene.address() == ADDRESS
    erased = _post(client, scene.coordinator, f"/api/v1/cases/{scene.case_id}/erasure", {"reason": "court_order"})
    assert erased.status_code == 204, erased.text
    assert scene.address() is None


def test_every_need_has_a_kind_of_provider_that_serves_it() -> None:
    served = set().union(*NEEDS_SERVED.values())
    assert served == set(NeedKind)
    # Nothing but a need a shelter meets opens its address; never `other`.
    assert NEEDS_SERVED[ProviderKind.shelter] == {NeedKind.shelter, NeedKind.safety, NeedKind.housing}
