"""Referrals, cases, events, history, identity, erasure and anonymous notifications.

Response bodies are the services' own views (`app/services/cases/views.py`): one definition, rendered by
pydantic; the problem statuses come from `app/api/problems.py`.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from app.api.deps import Context, StatedPurpose, authorize
from app.api.problems import fields_from
from app.api.routing import api_router
from app.api.schemas.cases import CaseworkerIn, ErasureIn, IdentityOut, NotificationIn, ReferralIn
from app.security.permissions import Permission, Principal
from app.services import cases
from app.services.cases import (
    CASE_VIEW,
    CasePage,
    CaseView,
    EventInput,
    HistoryView,
    NotificationInput,
    NotificationView,
    ReferralInput,
)
from app.services.errors import FieldProblem, InvalidInput
from app.workflow import State

router = api_router(tags=["cases"])

Referrer = Annotated[Principal, Depends(authorize(Permission.refer))]
Notifier = Annotated[Principal, Depends(authorize(Permission.notify))]
Reader = Annotated[Principal, Depends(authorize(Permission.read_cases))]
Sender = Annotated[Principal, Depends(authorize(Permission.send_events))]
CaseworkerAssigner = Annotated[Principal, Depends(authorize(Permission.assign_caseworkers))]
IdentityReader = Annotated[Principal, Depends(authorize(Permission.read_identity))]
Eraser = Annotated[Principal, Depends(authorize(Permission.erase_case))]


def _case_response(view: CaseView, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    headers = {"ETag": f'"{view.version}"', **(headers or {})}
    return JSONResponse(CASE_VIEW.dump_python(view, mode="json"), status_code=status_code, headers=headers)


def expected_version(if_match: str | None) -> int | None:
    """The version an `If-Match` header names, quoted as an ETag (weak or not) or bare."""
    if if_match is None:
        return None
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise InvalidInput(
            "If-Match must be the case's version", [FieldProblem(("expected_version",), "not a version")]
        )
    return int(value)


@router.post(
    "/referrals",
    status_code=201,
    response_model=CaseView,
    summary="Refer a presumed victim",
    dependencies=[fields_from(headers={"idempotency_key": "Idempotency-Key"})],
)
def create_referral(
    ctx: Context,
    principal: Referrer,
    body: ReferralIn,
    idempotency_key: Annotated[str | None, Header(max_length=200, pattern=r"^[\x21-\x7e]+$")] = None,
) -> JSONResponse:
    referral = ReferralInput(
        person=body.person.model_dump(mode="json"),
        account=body.account.model_dump(mode="json", by_alias=True),
        needs=body.needs.model_dump(mode="json"),
        age_band=body.age_band.value,
        age_disputed=body.age_disputed,
        unaccompanied=body.unaccompanied,
        gender=body.gender.value,
        nationality=body.nationality,
        region=body.region,
        exploitation_forms=[f.value for f in body.exploitation_forms],
        indicators=body.indicators,
        consent_given=body.consent.given,
        asylum_interview_reference=body.asylum_interview_reference,
        exploitation_scope=body.exploitation_scope.value,
    )
    result = cases.refer(ctx, principal, referral, idempotency_key=idempotency_key)
    return _case_response(result.view, 201, {"Idempotent-Replayed": "true"} if result.replayed else None)


@router.get("/cases/{case_id}", response_model=CaseView)
def get_case(ctx: Context, principal: Reader, case_id: uuid.UUID) -> JSONResponse:
    return _case_response(cases.get_case(ctx, principal, case_id))


@router.get("/cases", response_model=CasePage, dependencies=[fields_from(query=["cursor", "reference"])])
def list_cases(
    ctx: Context,
    principal: Reader,
    state: State | None = None,
    overdue: bool | None = None,
    organisation_id: uuid.UUID | None = None,
    reference: Annotated[str | None, Query(max_length=40, description="a case reference, e.g. MNR-2027-00042")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CasePage:
    return cases.list_cases(
        ctx,
        principal,
        state=state,
        overdue=overdue,
        organisation_id=organisation_id,
        reference=reference,
        limit=limit,
        cursor=cursor,
    )


@router.get("/cases/{case_id}/history", response_model=list[HistoryView])
def case_history(ctx: Context, principal: Reader, case_id: uuid.UUID) -> list[HistoryView]:
    return cases.history(ctx, principal, case_id)


@router.post(
    "/cases/{case_id}/events",
    response_model=CaseView,
    responses={409: {"description": "not allowed in this state"}, 412: {"description": "stale If-Match"}},
    dependencies=[fields_from(headers={"expected_version": "If-Match"})],
)
def send_event(
    ctx: Context,
    principal: Sender,
    case_id: uuid.UUID,
    body: EventInput,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> JSONResponse:
    return _case_response(cases.send_event(ctx, principal, case_id, body, expected_version(if_match)))


@router.get(
    "/cases/{case_id}/identity",
    response_model=IdentityOut,
    responses={410: {"description": "personal data erased"}},
    summary="Read the person and the account (audited, with need-to-know and a stated purpose)",
)
def read_identity(
    ctx: Context,
    principal: IdentityReader,
    case_id: uuid.UUID,
    purpose: StatedPurpose,
    response: Response,
) -> IdentityOut:
    identity = cases.read_identity(ctx, principal, case_id, purpose)
    # Personal data: no browser or proxy cache keeps a copy (ASVS 8.2.1).
    response.headers["Cache-Control"] = "no-store"
    return IdentityOut(person=identity.person, account=identity.account)


@router.post("/cases/{case_id}/erasure", status_code=204, responses={410: {"description": "already erased"}})
def erase_case(ctx: Context, principal: Eraser, case_id: uuid.UUID, body: ErasureIn) -> Response:
    cases.erase(ctx, principal, case_id, body.reason)
    return Response(status_code=204)


@router.post("/cases/{case_id}/caseworkers", response_model=CaseView, summary="Assign a caseworker (coordinator)")
def assign_caseworker(
    ctx: Context, principal: CaseworkerAssigner, case_id: uuid.UUID, body: CaseworkerIn
) -> JSONResponse:
    return _case_response(cases.assign_caseworker(ctx, principal, case_id, body.caseworker_id))


@router.post(
    "/notifications",
    status_code=201,
    response_model=NotificationView,
    summary="Count an adult who did not consent",
)
def create_notification(ctx: Context, principal: Notifier, body: NotificationIn) -> NotificationView:
    return cases.notify(
        ctx,
        principal,
        NotificationInput(
            gender=body.gender.value,
            age_band=body.age_band.value,
            nationality=body.nationality,
            region=body.region,
            exploitation_forms=[f.value for f in body.exploitation_forms],
        ),
    )
