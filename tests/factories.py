"""The one place that builds referrals, principals and worlds for tests and benchmarks.

- referrals: `referral_body` (the API's JSON body, api-contract "Referrals and cases") and `referral_input` (the
  same referral as the service takes it), built from one base record; `child_body` for the child branch;
- principals and worlds: `World` makes organisations and users through the service layer and answers with
  `Principal`s (the API tests' world, in tests/api/conftest.py, also logs them in); `principal_of` for a user
  read back from the database;
- cases through the service layer: `refer` and `event`.

Everything here is obviously fictional: no name, story or place that could be a real person's.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from typing import Any

from pydantic import TypeAdapter

from app.models import User
from app.security.permissions import Principal
from app.services import accounts, cases
from app.services.cases import CaseView, EventInput, ReferralInput
from app.services.context import ServiceContext

PASSWORD = "correct horse battery staple"

_BASE_REFERRAL: dict[str, Any] = {
    "person": {
        "full_name": "Testperson Alpha",
        "aliases": [],
        "date_of_birth": None,
        "phone": None,
        "email": None,
        "address": None,
        "alternative_contact": None,
    },
    "account": {
        "what_happened": "made to work without pay (test account)",
        "how_it_started": None,
        "living_conditions": None,
        "how_treated": None,
        "why_stayed_or_left": None,
        "period": {"from": None, "to": None, "ongoing": False},
        "places": [],
        "exploiters": None,
        "other_victims": None,
        "reported_to_police": False,
        "police_reference": None,
    },
    "needs": {
        "interpreter_language": None,
        "communication_aid": None,
        "dependants": 0,
        "support_wanted": True,
        "shelter_needed": False,
    },
    "age_band": "25-34",
    "age_disputed": False,
    "unaccompanied": False,
    "gender": "female",
    "nationality": "NG",
    "region": "FR-75",
    "exploitation_forms": ["forced_labour"],
    "indicators": [],
    "consent": {"given": True},
    "asylum_interview_reference": None,
}


def referral_body(
    *,
    full_name: str = "Testperson Alpha",
    what_happened: str = "made to work without pay (test account)",
    age_band: str = "25-34",
    consent: bool = True,
    unaccompanied: bool = False,
    shelter_needed: bool = False,
    **top_level: Any,
) -> dict[str, Any]:
    """The JSON body of `POST /api/v1/referrals`; `top_level` replaces whole top-level fields."""
    body = copy.deepcopy(_BASE_REFERRAL)
    body["person"]["full_name"] = full_name
    body["account"]["what_happened"] = what_happened
    body["age_band"] = age_band
    body["consent"]["given"] = consent
    body["unaccompanied"] = unaccompanied
    body["needs"]["shelter_needed"] = shelter_needed
    body.update(top_level)
    return body


def child_body(**kwargs: Any) -> dict[str, Any]:
    """An unaccompanied child (15-17), referred without consent (a child needs none)."""
    return referral_body(age_band="15-17", consent=False, unaccompanied=True, **kwargs)


def input_of(body: dict[str, Any]) -> ReferralInput:
    """The service's input for an API body, field for field as the API builds it."""
    return ReferralInput(
        person=body["person"],
        account=body["account"],
        needs=body["needs"],
        age_band=body["age_band"],
        age_disputed=body["age_disputed"],
        unaccompanied=body["unaccompanied"],
        gender=body["gender"],
        nationality=body["nationality"],
        region=body["region"],
        exploitation_forms=list(body["exploitation_forms"]),
        indicators=sorted(set(body["indicators"])),
        consent_given=body["consent"]["given"],
        asylum_interview_reference=body["asylum_interview_reference"],
    )


def referral_input(**overrides: Any) -> ReferralInput:
    """A referral as the service takes it; `overrides` are `ReferralInput` fields (`consent_given=False`...).
    The service tests' statistics count sexual exploitation where the API tests' referrals say forced labour."""
    return dataclasses.replace(
        input_of(referral_body()), **{"exploitation_forms": ["sexual_exploitation"], **overrides}
    )


class World:
    """Organisations and users made through the service layer; an organisation is found by its name."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.organisations: dict[str, uuid.UUID] = {}

    def organisation(self, name: str, sector: str) -> uuid.UUID:
        if name not in self.organisations:
            existing = {o.name: o.id for o in accounts.list_organisations(self.ctx)}
            found = existing.get(name)
            self.organisations[name] = found or accounts.create_organisation(self.ctx, name, sector).id
        return self.organisations[name]

    def principal(
        self, username: str, roles: list[str], organisation: str = "NGO One", sector: str = "ngo"
    ) -> Principal:
        """A new active user with these roles, as the services see them."""
        org_id = self.organisation(organisation, sector)
        user = accounts.create_user(self.ctx, username, PASSWORD, org_id, roles)
        return Principal.of(user.id, org_id, sector, roles)


def principal(ctx: ServiceContext, username: str, roles: list[str], organisation: str, sector: str) -> Principal:
    """A new user of `organisation` (made if need be), as the services see them."""
    return World(ctx).principal(username, roles, organisation, sector)


def principal_of(user: User) -> Principal:
    """A user read back from the database, as the services see them."""
    return Principal.of(user.id, user.organisation_id, user.organisation.sector, user.roles)


def refer(ctx: ServiceContext, referrer: Principal, **overrides: Any) -> uuid.UUID:
    """A new case through the service, from `referral_input(**overrides)`; its id."""
    return cases.refer(ctx, referrer, referral_input(**overrides)).view.id


def event(ctx: ServiceContext, actor: Principal, case_id: uuid.UUID, name: str, **fields: Any) -> CaseView:
    """Send an event through the service; `fields` as in the API's body (ids as strings or UUIDs)."""
    return cases.send_event(ctx, actor, case_id, TypeAdapter(EventInput).validate_python({"event": name, **fields}))
