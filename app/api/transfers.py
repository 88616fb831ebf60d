"""Cross-border transfers: send a case to a peer, the inbox peers deliver to (no user token: the message's
signature is its credential), the coordinators' list, reading, accepting and refusing, and the peer list.

Bodies are the services' own inputs and views (`app/services/transfers/`); statuses come from
`app/api/problems.py` (an inbox refusal's problem document carries the `code` of the check that failed).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter

from app.api.deps import Context, StatedPurpose, authorize
from app.api.problems import problem_schema
from app.api.routing import api_router
from app.api.support import document_response
from app.security.permissions import Permission, Principal
from app.services import transfers
from app.services.transfers import (
    AcceptInput,
    AcceptResult,
    InboxAnswer,
    PackageContent,
    PeerView,
    RefuseInput,
    TransferDirection,
    TransferRequest,
    TransferState,
    TransferView,
)

router = api_router(tags=["transfers"])

Coordinator = Annotated[Principal, Depends(authorize(Permission.manage_transfers))]
_VIEW: TypeAdapter[TransferView] = TypeAdapter(TransferView)
_PROBLEM = problem_schema()
_GONE: dict[int | str, dict[str, Any]] = {410: {"description": "personal data erased", **_PROBLEM}}


@router.post(
    "/cases/{case_id}/transfers",
    status_code=201,
    response_model=TransferView,
    responses={
        200: {"description": "a transfer of this case to this peer is under way already: that one, created anew"},
        409: {"description": "the case is ended, or under way to another peer", **_PROBLEM},
        413: {"description": "the package would be too large", **_PROBLEM},
        **_GONE,
    },
    summary="Send a case to a peer mechanism (coordinator)",
)
def send_transfer(ctx: Context, principal: Coordinator, case_id: uuid.UUID, body: TransferRequest) -> JSONResponse:
    result = transfers.send_transfer(ctx, principal, case_id, body)
    return JSONResponse(
        _VIEW.dump_python(result.view, mode="json"),
        status_code=200 if result.replayed else 201,
        headers={"Idempotent-Replayed": "true"} if result.replayed else None,
    )


@router.get("/cases/{case_id}/transfers", response_model=list[TransferView], summary="A case's transfers")
def case_transfers(ctx: Context, principal: Coordinator, case_id: uuid.UUID) -> list[TransferView]:
    return transfers.list_transfers(ctx, case_id=case_id)


@router.post(
    "/transfers/inbox",
    status_code=202,
    response_model=InboxAnswer,
    responses={
        400: {"description": "not a transfer message", **_PROBLEM},
        403: {"description": "not signed by a registered peer, or not for this instance", **_PROBLEM},
        409: {"description": "seen before, or a transfer already held", **_PROBLEM},
        413: {"description": "larger than NRM_MAX_TRANSFER_BYTES", **_PROBLEM},
        422: {"description": "out of its time window, or not a valid package or receipt", **_PROBLEM},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    summary="A sealed package or receipt from a peer's worker (no user token)",
)
async def inbox(ctx: Context, request: Request) -> InboxAnswer:
    limit = ctx.settings.max_transfer_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise await run_in_threadpool(transfers.refuse_too_large, ctx)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise await run_in_threadpool(transfers.refuse_too_large, ctx)
    return await run_in_threadpool(transfers.receive, ctx, bytes(data))


@router.get("/transfers", response_model=list[TransferView], summary="Transfers sent and received (coordinator)")
def list_transfers(
    ctx: Context,
    principal: Coordinator,
    direction: TransferDirection | None = None,
    state: TransferState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> list[TransferView]:
    return transfers.list_transfers(ctx, direction=direction, state=state, limit=limit)


@router.get("/transfers/{transfer_id}", response_model=TransferView, summary="A transfer, without personal data")
def get_transfer(ctx: Context, principal: Coordinator, transfer_id: uuid.UUID) -> TransferView:
    return transfers.get_transfer(ctx, transfer_id)


@router.get(
    "/transfers/{transfer_id}/package",
    response_model=PackageContent,
    responses={409: {"description": "decided already: the package is gone", **_PROBLEM}},
    summary="What a received package holds (audited, with need-to-know and a purpose code)",
)
def read_package(
    ctx: Context, principal: Coordinator, transfer_id: uuid.UUID, purpose: StatedPurpose
) -> PackageContent:
    return transfers.read_package(ctx, principal, transfer_id, purpose)


@router.get(
    "/transfers/{transfer_id}/package/documents/{index}",
    response_class=Response,
    responses={200: {"description": "the document's bytes"}, 409: {"description": "decided already", **_PROBLEM}},
    summary="A document of a received package (audited, with need-to-know and a purpose code)",
)
def read_package_document(
    ctx: Context,
    principal: Coordinator,
    transfer_id: uuid.UUID,
    index: Annotated[int, Path(ge=0, le=1000)],
    purpose: StatedPurpose,
) -> Response:
    return document_response(transfers.read_package_document(ctx, principal, transfer_id, index, purpose))


@router.post(
    "/transfers/{transfer_id}/accept",
    response_model=AcceptResult,
    responses={409: {"description": "decided already, or the sender is no longer registered", **_PROBLEM}},
    summary="Accept a received package: a case here, its reference sent back in a signed receipt",
)
def accept_transfer(
    ctx: Context,
    principal: Coordinator,
    transfer_id: uuid.UUID,
    body: Annotated[AcceptInput | None, Body()] = None,
) -> AcceptResult:
    return transfers.accept_transfer(ctx, principal, transfer_id, body)


@router.post(
    "/transfers/{transfer_id}/refuse",
    response_model=TransferView,
    responses={409: {"description": "decided already, or the sender is no longer registered", **_PROBLEM}},
    summary="Refuse a received package with a reason code, sent back in a signed receipt",
)
def refuse_transfer(ctx: Context, principal: Coordinator, transfer_id: uuid.UUID, body: RefuseInput) -> TransferView:
    return transfers.refuse_transfer(ctx, principal, transfer_id, body.reason)


@router.get("/peers", response_model=list[PeerView], summary="Registered peer instances (coordinator)")
def list_peers(ctx: Context, principal: Coordinator) -> list[PeerView]:
    return transfers.list_peers(ctx)
