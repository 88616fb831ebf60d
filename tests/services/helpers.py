"""Building cases through the service layer (no HTTP, no logins): quick timelines for report tests."""

from __future__ import annotations

import uuid
from typing import Any

from app.security.permissions import Principal
from app.services import accounts, cases
from app.services.cases import EventInput, ReferralInput
from app.services.context import ServiceContext

PASSWORD = "correct horse battery staple"


def principal(ctx: ServiceContext, username: str, roles: list[str], organisation: str, sector: str) -> Principal:
    existing = {o.name: o for o in accounts.list_organisations(ctx)}
    org = existing.get(organisation) or accounts.create_organisation(ctx, organisation, sector)
    user = accounts.create_user(ctx, username, PASSWORD, org.id, roles)
    return Principal(user_id=user.id, organisation_id=org.id, sector=sector, roles=frozenset(roles))


def referral(**overrides: Any) -> ReferralInput:
    values: dict[str, Any] = {
        "person": {"full_name": "Fictional Person"},
        "account": {"what_happened": "a fictional account"},
        "needs": {"shelter_needed": False},
        "age_band": "25-34",
        "age_disputed": False,
        "unaccompanied": False,
        "gender": "female",
        "nationality": "NG",
        "region": "FR-75",
        "exploitation_forms": ["sexual_exploitation"],
        "indicators": [],
        "consent_given": True,
    }
    values.update(overrides)
    return ReferralInput(**values)


def refer(ctx: ServiceContext, referrer: Principal, **overrides: Any) -> uuid.UUID:
    result = cases.refer(
        ctx,
        referrer,
        referral(**overrides),
        raw_body={"unique": str(uuid.uuid4())},
        idempotency_key=None,
        render=lambda view: {"id": str(view.id), "version": view.version},
    )
    return uuid.UUID(result.view["id"])


def event(ctx: ServiceContext, actor: Principal, case_id: uuid.UUID, name: str, **fields: Any) -> cases.CaseView:
    return cases.send_event(ctx, actor, case_id, EventInput(name, fields), None)
