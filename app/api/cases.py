"""Referrals, cases, events, history, identity, erasure and anonymous notifications."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from app.api.deps import Context, authorize
from app.api.schemas.cases import (
    CaseOut,
    CasePageOut,
    CaseworkerIn,
    ErasureIn,
    EventIn,
    HistoryOut,
    IdentityOut,
    NotificationIn,
    NotificationOut,
    ReferralIn,
)
from app.security.permissions import Permission, Principal
from app.services import cases
from app.services.cases import CaseView, EventInput, NotificationInput, ReferralInput
from app.workflow import State

router = APIRouter(prefix="/api/v1", tags=["cases"])

Referrer = Annotated[Principal, Depends(authorize(Permission.refer))]
Notifier = Annotated[Principal, Depends(authorize(Permission.notify))]
Reader = Annotated[Principal, Depends(authorize(Permission.read_cases))]
Sender = Annotated[Principal, Depends(authorize(Permission.send_events))]
IdentityReader = Annotated[Principal, Depends(authorize(Permission.read_identity))]
Eraser = Annotated[Principal, Depends(authorize(Permission.erase_case))]


def _case_body(view: CaseView) -> dict[str, Any]:
    return CaseOut.model_validate(view).model_dump(mode="json")


def _case_response(view: CaseView, status_code: int = 200) -> JSONResponse:
    return JSONResponse(_case_body(view), status_code=status_code, headers={"ETag": f'"{view.version}"'})


@router.post("/referrals", status_code=201, response_model=CaseOut, summary="Refer a presumed victim")
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
    )
    result = cases.refer(
        ctx,
        principal,
        referral,
        raw_body=body.model_dump(mode="json", by_alias=True),
        idempotency_key=idempotency_key,
        render=_case_body,
    )
    headers = {"ETag": f'"{result.view["version"]}"'}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(result.view, status_code=201, headers=headers)


@router.get("/cases/{case_id}", response_model=CaseOut)
def get_case(ctx: Context, principal: Reader, case_id: uuid.UUID) -> JSONResponse:
    return _case_response(cases.get_case(ctx, principal, case_id))


@router.get("/cases", response_model=CasePageOut)
def list_cases(
    ctx: Context,
    principal: Reader,
    state: State | None = None,
    overdue: bool | None = None,
    organisation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CasePageOut:
    page = cases.list_cases(
        ctx,
        principal,
        state=state.value if state else None,
        overdue=overdue,
        organisation_id=organisation_id,
        limit=limit,
        cursor=cursor,
    )
    return CasePageOut(items=[CaseOut.model_validate(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/cases/{case_id}/history", response_model=list[HistoryOut])
def case_history(ctx: Context, principal: Reader, case_id: uuid.UUID) -> list[HistoryOut]:
    return [HistoryOut.model_validate(h) for h in cases.history(ctx, principal, case_id)]


@router.post(
    "/cases/{case_id}/events",
    response_model=CaseOut,
    responses={409: {"description": "not allowed in this state"}, 412: {"description": "stale If-Match"}},
)
def send_event(
    ctx: Context,
    principal: Sender,
    case_id: uuid.UUID,
    body: EventIn,
    if_match: Annotated[str | None, Header(max_length=40)] = None,
) -> JSONResponse:
    fields = body.model_dump(mode="json", exclude={"event"}, exclude_none=True)
    view = cases.send_event(ctx, principal, case_id, EventInput(body.event.value, fields), if_match)
    return _case_response(view)


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
    purpose: Annotated[str, Query(min_length=3, max_length=200)],
) -> IdentityOut:
    identity = cases.read_identity(ctx, principal, case_id, purpose)
    return IdentityOut(person=identity.person, account=identity.account)


@router.post("/cases/{case_id}/erasure", status_code=204, responses={410: {"description": "already erased"}})
def erase_case(ctx: Context, principal: Eraser, case_id: uuid.UUID, body: ErasureIn) -> Response:
    cases.erase(ctx, principal, case_id, body.reason)
    return Response(status_code=204)


@router.post("/cases/{case_id}/caseworkers", response_model=CaseOut, summary="Assign a caseworker (coordinator)")
def assign_caseworker(ctx: Context, principal: Sender, case_id: uuid.UUID, body: CaseworkerIn) -> JSONResponse:
    return _case_response(cases.assign_caseworker(ctx, principal, case_id, body.caseworker_id))


@router.post(
    "/notifications",
    status_code=201,
    response_model=NotificationOut,
    summary="Count an adult who did not consent",
)
def create_notification(ctx: Context, principal: Notifier, body: NotificationIn) -> NotificationOut:
    view = cases.notify(
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
    return NotificationOut.model_validate(view)
