"""Support and evidence routes: needs, providers, service referrals, documents and interviews."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import Context, authorize
from app.api.schemas.support import (
    DocumentOut,
    InterviewIn,
    InterviewOut,
    NeedIn,
    NeedOut,
    ProviderIn,
    ProviderOut,
    ProviderSummaryOut,
    ServiceIn,
    ServiceOut,
    ServiceStatusIn,
)
from app.api.uploads import read_multipart
from app.security.permissions import Permission, Principal
from app.services import documents, support

router = APIRouter(prefix="/api/v1", tags=["support"])

Supporter = Annotated[Principal, Depends(authorize(Permission.record_support))]
ProviderManager = Annotated[Principal, Depends(authorize(Permission.manage_providers))]
ProviderReader = Annotated[Principal, Depends(authorize(Permission.read_providers))]
Uploader = Annotated[Principal, Depends(authorize(Permission.upload_documents))]
DocumentReader = Annotated[Principal, Depends(authorize(Permission.read_documents))]
CaseReader = Annotated[Principal, Depends(authorize(Permission.read_cases))]
Interviewer = Annotated[Principal, Depends(authorize(Permission.send_events))]

_GONE: dict[int | str, dict[str, Any]] = {410: {"description": "personal data erased"}}


# --- needs -------------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/needs", status_code=201, response_model=NeedOut, summary="Record a need")
def record_need(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: NeedIn) -> NeedOut:
    view = support.record_need(ctx, principal, case_id, body.kind.value, body.urgency, body.note)
    return NeedOut.model_validate(view)


@router.get("/cases/{case_id}/needs", response_model=list[NeedOut])
def list_needs(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> list[NeedOut]:
    return [NeedOut.model_validate(v) for v in support.list_needs(ctx, principal, case_id)]


# --- providers ---------------------------------------------------------------------------------------------


@router.post("/providers", status_code=201, response_model=ProviderOut, summary="Add a provider (coordinator)")
def create_provider(ctx: Context, principal: ProviderManager, body: ProviderIn) -> ProviderOut:
    view = support.create_provider(ctx, principal, body.name, body.kind, body.address, body.phone)
    return ProviderOut.model_validate(view)


@router.get("/providers", response_model=list[ProviderSummaryOut], summary="Providers: names and kinds")
def list_providers(
    ctx: Context,
    principal: ProviderReader,
    kind: Literal["shelter", "psychologist", "lawyer", "interpreter", "medical", "other"] | None = None,
) -> list[ProviderSummaryOut]:
    return [ProviderSummaryOut.model_validate(v) for v in support.list_providers(ctx, kind)]


@router.get("/providers/{provider_id}", response_model=ProviderOut)
def get_provider(ctx: Context, principal: ProviderReader, provider_id: uuid.UUID) -> ProviderOut:
    return ProviderOut.model_validate(support.get_provider(ctx, principal, provider_id))


# --- service referrals -------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/services", status_code=201, response_model=ServiceOut, summary="Refer to a service")
def refer_to_service(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: ServiceIn) -> ServiceOut:
    view = support.refer_to_service(ctx, principal, case_id, body.need_id, body.provider_id)
    return ServiceOut.model_validate(view)


@router.get("/cases/{case_id}/services", response_model=list[ServiceOut])
def list_services(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> list[ServiceOut]:
    return [ServiceOut.model_validate(v) for v in support.list_services(ctx, principal, case_id)]


@router.post("/cases/{case_id}/services/{service_id}/status", response_model=ServiceOut)
def set_service_status(
    ctx: Context, principal: Supporter, case_id: uuid.UUID, service_id: uuid.UUID, body: ServiceStatusIn
) -> ServiceOut:
    view = support.set_service_status(ctx, principal, case_id, service_id, body.status, body.note)
    return ServiceOut.model_validate(view)


# --- documents ---------------------------------------------------------------------------------------------


class _DocumentForm:
    """The upload form (`kind`, `file`) read off the request stream into the document being encrypted."""

    def __init__(self, incoming: documents.DocumentUpload) -> None:
        self.incoming = incoming

    def field(self, name: str, value: str) -> None:
        if name == "kind":
            self.incoming.set_kind(value)

    def file_begin(self, name: str, content_type: str | None) -> None:
        self.incoming.begin_content(content_type)

    def file_data(self, data: bytes) -> None:
        self.incoming.write(data)

    def file_end(self) -> None:
        self.incoming.end_content()


# Described by hand: the route reads its body itself (after the caller is known), so FastAPI must not.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "kind"],
                    "properties": {
                        "kind": {"type": "string", "enum": sorted(documents.DOCUMENT_KINDS)},
                        "file": {"type": "string", "format": "binary"},
                    },
                },
                "encoding": {"file": {"contentType": ", ".join(sorted(documents.ALLOWED_TYPES))}},
            }
        },
    }
}


@router.post(
    "/cases/{case_id}/documents",
    status_code=201,
    response_model=DocumentOut,
    responses={413: {"description": "over the size limit"}, 415: {"description": "refused type"}, **_GONE},
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a document (encrypted as it streams in; multipart: `kind` then `file`)",
)
async def upload_document(ctx: Context, principal: Uploader, case_id: uuid.UUID, request: Request) -> DocumentOut:
    # Who may upload here is settled before a byte of the body is read (401/403/404/410).
    incoming = await run_in_threadpool(documents.begin_upload, ctx, principal, case_id)
    await read_multipart(request, _DocumentForm(incoming), file_fields=frozenset({"file"}))
    view = await run_in_threadpool(documents.finish_upload, ctx, incoming)
    return DocumentOut.model_validate(view)


@router.get("/cases/{case_id}/documents", response_model=list[DocumentOut], summary="Documents, without content")
def list_documents(ctx: Context, principal: DocumentReader, case_id: uuid.UUID) -> list[DocumentOut]:
    return [DocumentOut.model_validate(v) for v in documents.list_documents(ctx, principal, case_id)]


@router.get(
    "/cases/{case_id}/documents/{document_id}",
    response_class=Response,
    responses={200: {"description": "the document's bytes"}, **_GONE},
    summary="Read a document (audited, with need-to-know and a stated purpose)",
)
def read_document(
    ctx: Context,
    principal: DocumentReader,
    case_id: uuid.UUID,
    document_id: uuid.UUID,
    purpose: Annotated[str, Query(min_length=3, max_length=200)],
) -> Response:
    content = documents.read_document(ctx, principal, case_id, document_id, purpose)
    return Response(
        content.data,
        media_type=content.content_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )


# --- interviews --------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/interviews", status_code=201, response_model=InterviewOut, summary="Record an interview")
def record_interview(ctx: Context, principal: Interviewer, case_id: uuid.UUID, body: InterviewIn) -> InterviewOut:
    view = support.record_interview(
        ctx, principal, case_id, body.purpose, body.interviewer_organisation_id, body.held_at
    )
    return InterviewOut.model_validate(view)


@router.get("/cases/{case_id}/interviews", response_model=list[InterviewOut], summary="Interviews already held")
def list_interviews(ctx: Context, principal: CaseReader, case_id: uuid.UUID) -> list[InterviewOut]:
    return [InterviewOut.model_validate(v) for v in support.list_interviews(ctx, principal, case_id)]
