"""Support and evidence routes: needs, providers, service referrals, documents and interviews."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import Context, StatedPurpose, authorize
from app.api.routing import api_router
from app.api.schemas.support import InterviewIn, NeedIn, ProviderIn, ServiceIn, ServiceStatusIn
from app.api.uploads import read_multipart
from app.security.permissions import Permission, Principal
from app.services import documents, support
from app.services.documents import DocumentView
from app.services.support import InterviewView, NeedView, ProviderSummary, ProviderView, ServiceView
from app.workflow.support import DocumentKind, ProviderKind

router = api_router(tags=["support"])

Supporter = Annotated[Principal, Depends(authorize(Permission.record_support))]
ProviderManager = Annotated[Principal, Depends(authorize(Permission.manage_providers))]
ProviderReader = Annotated[Principal, Depends(authorize(Permission.read_providers))]
Uploader = Annotated[Principal, Depends(authorize(Permission.upload_documents))]
DocumentReader = Annotated[Principal, Depends(authorize(Permission.read_documents))]
CaseReader = Annotated[Principal, Depends(authorize(Permission.read_cases))]
Interviewer = Annotated[Principal, Depends(authorize(Permission.send_events))]

_GONE: dict[int | str, dict[str, Any]] = {410: {"description": "personal data erased"}}


# --- needs -------------------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/needs", status_code=201, response_model=NeedView, summary="Record a need")
def record_need(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: NeedIn) -> NeedView:
    return support.record_need(ctx, principal, case_id, body.kind, body.urgency, body.note)


@router.get("/cases/{case_id}/needs", response_model=list[NeedView])
def list_needs(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> list[NeedView]:
    return support.list_needs(ctx, principal, case_id)


# --- providers ---------------------------------------------------------------------------------------------


@router.post("/providers", status_code=201, response_model=ProviderView, summary="Add a provider (coordinator)")
def create_provider(ctx: Context, principal: ProviderManager, body: ProviderIn) -> ProviderView:
    return support.create_provider(ctx, principal, body.name, body.kind, body.address, body.phone)


@router.get("/providers", response_model=list[ProviderSummary], summary="Providers: names and kinds")
def list_providers(ctx: Context, principal: ProviderReader, kind: ProviderKind | None = None) -> list[ProviderSummary]:
    return support.list_providers(ctx, kind)


@router.get("/providers/{provider_id}", response_model=ProviderView)
def get_provider(ctx: Context, principal: ProviderReader, provider_id: uuid.UUID, response: Response) -> ProviderView:
    # It may hold a shelter's address: no browser or proxy cache keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return support.get_provider(ctx, principal, provider_id)


# --- service referrals -------------------------------------------------------------------------------------


@router.post("/cases/{case_id}/services", status_code=201, response_model=ServiceView, summary="Refer to a service")
def refer_to_service(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: ServiceIn) -> ServiceView:
    return support.refer_to_service(ctx, principal, case_id, body.need_id, body.provider_id)


@router.get("/cases/{case_id}/services", response_model=list[ServiceView])
def list_services(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> list[ServiceView]:
    return support.list_services(ctx, principal, case_id)


@router.post("/cases/{case_id}/services/{service_id}/status", response_model=ServiceView)
def set_service_status(
    ctx: Context, principal: Supporter, case_id: uuid.UUID, service_id: uuid.UUID, body: ServiceStatusIn
) -> ServiceView:
    return support.set_service_status(ctx, principal, case_id, service_id, body.status, body.note)


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
                        "kind": {"type": "string", "enum": sorted(kind.value for kind in DocumentKind)},
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
    response_model=DocumentView,
    responses={413: {"description": "over the size limit"}, 415: {"description": "refused type"}, **_GONE},
    openapi_extra=_UPLOAD_BODY,
    summary="Upload a document (encrypted as it streams in; multipart: `kind` then `file`)",
)
async def upload_document(ctx: Context, principal: Uploader, case_id: uuid.UUID, request: Request) -> DocumentView:
    # Who may upload here is settled before a byte of the body is read (401/403/404/410).
    incoming = await run_in_threadpool(documents.begin_upload, ctx, principal, case_id)
    await read_multipart(request, _DocumentForm(incoming), file_fields=frozenset({"file"}))
    return await run_in_threadpool(documents.finish_upload, ctx, incoming)


@router.get("/cases/{case_id}/documents", response_model=list[DocumentView], summary="Documents, without content")
def list_documents(ctx: Context, principal: DocumentReader, case_id: uuid.UUID) -> list[DocumentView]:
    return documents.list_documents(ctx, principal, case_id)


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
    purpose: StatedPurpose,
) -> Response:
    return document_response(documents.read_document(ctx, principal, case_id, document_id, purpose))


def document_response(content: documents.DocumentContent) -> Response:
    """A document's bytes as a download, never cached, never sniffed into another type."""
    return Response(
        content.data,
        media_type=content.content_type,
        headers={"Cache-Control": "no-store", "Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"},
    )


# --- interviews --------------------------------------------------------------------------------------------


@router.post(
    "/cases/{case_id}/interviews", status_code=201, response_model=InterviewView, summary="Record an interview"
)
def record_interview(ctx: Context, principal: Interviewer, case_id: uuid.UUID, body: InterviewIn) -> InterviewView:
    return support.record_interview(
        ctx, principal, case_id, body.purpose, body.interviewer_organisation_id, body.held_at
    )


@router.get("/cases/{case_id}/interviews", response_model=list[InterviewView], summary="Interviews already held")
def list_interviews(ctx: Context, principal: CaseReader, case_id: uuid.UUID) -> list[InterviewView]:
    return support.list_interviews(ctx, principal, case_id)
