"""Issue 10, point 1: a rotation re-wraps every wrapped key of every table (case keys and provider keys), and
retiring a key-encryption key is refused while anything at all is still wrapped by it, saying what and how many.

The attack was an operator's routine: `nrm keys rotate`, then `nrm keys retire OLD` once the backup window had
passed; every shelter's address and phone became unreadable for good."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.security.keyfile import load_key_file, rotate_kek
from app.services import keys
from app.services.context import ServiceContext
from app.services.errors import KeyStillInUse
from tests.api.case_helpers import Cast, new_case
from tests.api.conftest import Account, World
from tests.factories import referral_body

ADDRESS = "7 Fictional Close, Nowhereville"
PHONE = "+33 1 99 99 99 99"


def _provider(client: TestClient, coordinator: Account) -> dict[str, Any]:
    body = {"name": "Foyer Fictif", "kind": "shelter", "address": ADDRESS, "phone": PHONE}
    response = client.post("/api/v1/providers", json=body, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    provider: dict[str, Any] = response.json()
    return provider


def _contacts(client: TestClient, coordinator: Account, provider_id: str) -> tuple[int, Any]:
    response = client.get(f"/api/v1/providers/{provider_id}", headers=coordinator.headers)
    body = response.json()
    return response.status_code, (body.get("address"), body.get("phone"))


def test_rotate_then_retire_keeps_every_provider_contact_and_identity_readable(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    provider = _provider(client, cast.coordinator)
    case_id = new_case(client, cast.referrer, referral_body(full_name="Testperson Rotation"))["id"]
    old = ctx.keyring.active_kek_id

    report = keys.rotate(ctx)
    keys.retire(ctx, old)

    assert old not in load_key_file(ctx.settings.key_file).kek_ids
    assert _contacts(client, cast.coordinator, provider["id"]) == (200, (ADDRESS, PHONE))
    identity = client.get(
        f"/api/v1/cases/{case_id}/identity", params={"purpose": "assessment"}, headers=cast.referrer.headers
    )
    assert identity.status_code == 200 and identity.json()["person"]["full_name"] == "Testperson Rotation"
    assert report.rewrapped_by_table == {
        "case keys": 1,
        "provider keys": 1,
        "referral draft keys": 0,
        "transfer package keys": 0,
    }


def test_retire_is_refused_while_a_provider_key_is_still_wrapped_by_the_old_key(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    provider = _provider(client, cast.coordinator)
    new_case(client, cast.referrer)
    old = ctx.keyring.active_kek_id
    # A rotation interrupted after the new key was written but before anything was re-wrapped.
    rotate_kek(ctx.settings.key_file)
    ctx.reload_keys()

    with pytest.raises(KeyStillInUse) as refusal:
        keys.retire(ctx, old)
    assert refusal.value.still_wrapped == {"case keys": 1, "provider keys": 1}
    message = refusal.value.detail
    assert "1 case key" in message and "1 provider key" in message and "nrm keys rotate" in message
    assert old in load_key_file(ctx.settings.key_file).kek_ids
    assert _contacts(client, cast.coordinator, provider["id"]) == (200, (ADDRESS, PHONE))

    # The next complete rotation re-wraps both, and only then may the old key go.
    keys.rotate(ctx)
    keys.retire(ctx, old)
    assert _contacts(client, cast.coordinator, provider["id"]) == (200, (ADDRESS, PHONE))
