"""The parts of a case with their own pages (`app/web/case_sections.py` lists them for the case page):

- `/cases/{id}/file`: the case file an assessor or a panel member reads: classification, indicators grouped by
  list, dimension and strength, documents (testimony and the referring organisation's opinion marked), the
  interviews already held; opening a document asks why (a `Purpose`, audited);
- `/cases/{id}/identity`: the person's identity behind a "show" step that asks for the purpose (audited by
  `cases.read_identity`); the answer is a page that is never cached, never a redirect to a stored copy;
- `/cases/{id}/caseworkers`: the coordinator assigns a caseworker (only active caseworkers are offered);
- `/cases/{id}/erasure`: the coordinator erases the personal data: a reason, then a confirmation step.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import accounts, cases, documents, staffing, support
from app.services.cases import ERASURE_REASONS as ERASURE_CODES
from app.services.errors import InvalidInput
from app.web.forms import FormErrors
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import (
    AGE_BANDS,
    DOCUMENT_KINDS,
    ERASURE_REASONS,
    EXPLOITATION_FORMS,
    GENDERS,
    PURPOSES,
    SECTORS,
    STATES,
    STRENGTHS,
)
from app.workflow import group_indicators
from app.workflow.indicators import indicator_list_titles
from app.workflow.support import TESTIMONY_KINDS

router = web_router()
FileReader = Annotated[Page, Depends(page_for(Permission.read_documents))]
IdentityReader = Annotated[Page, Depends(page_for(Permission.read_identity))]
CaseworkerAssigner = Annotated[Page, Depends(page_for(Permission.assign_caseworkers))]
Eraser = Annotated[Page, Depends(page_for(Permission.erase_case))]


def _purposes(page: Page) -> list[dict[str, str]]:
    return [{"value": code, "label": page.gettext(text)} for code, text in PURPOSES.items()]


def _purpose_error(page: Page, purpose: str, errors: FormErrors) -> None:
    if purpose not in PURPOSES:
        errors.add("purpose", page.gettext("Choose why you open it"))


# --- the case file -----------------------------------------------------------------------------------------


@router.get("/cases/{case_id}/file")
def case_file(page: FileReader, case_id: uuid.UUID) -> Response:
    return _case_file(page, case_id, FormErrors())


def _case_file(page: Page, case_id: uuid.UUID, errors: FormErrors) -> Response:
    case = cases.get_case(page.ctx, page.principal, case_id)
    files = documents.list_documents(page.ctx, page.principal, case_id)
    organisations = {org.id: org.name for org in accounts.list_organisations(page.ctx)}
    interviews = support.list_interviews(page.ctx, page.principal, case_id)
    return page.render(
        "pages/case/file.html",
        case=case,
        indicators=group_indicators(case.indicators),
        list_titles=indicator_list_titles(page.language),
        files=files,
        testimony=[f for f in files if f.kind in TESTIMONY_KINDS],
        opinions=[f for f in files if f.kind.value == "panel_opinion"],
        interviews=[
            {"at": i.held_at, "by": organisations.get(i.interviewer_organisation_id, ""), "purpose": i.purpose}
            for i in interviews
        ],
        purposes=_purposes(page),
        age_bands=AGE_BANDS,
        genders=GENDERS,
        forms_text=", ".join(page.gettext(EXPLOITATION_FORMS.get(f.value, f.value)) for f in case.exploitation_forms),
        kind_names=DOCUMENT_KINDS,
        strengths=STRENGTHS,
        states=STATES,
        errors=errors,
        status_code=422 if errors else 200,
    )


@router.post("/cases/{case_id}/documents/{document_id}")
def open_document(
    page: FileReader, case_id: uuid.UUID, document_id: uuid.UUID, purpose: Annotated[str, Form()] = ""
) -> Response:
    """The document's content, once the reader said why (audited); the browser downloads it, nothing keeps it."""
    errors = FormErrors()
    _purpose_error(page, purpose, errors)
    if errors:
        errors.messages[f"purpose-{document_id}"] = errors.messages.pop("purpose")
        return _case_file(page, case_id, errors)
    content = documents.read_document(page.ctx, page.principal, case_id, document_id, purpose)
    return Response(
        content.data,
        media_type=content.content_type,
        headers={"Content-Disposition": "attachment", "Cache-Control": "no-store"},
    )


# --- the identity, behind a purpose ------------------------------------------------------------------------


def _identity_question(page: Page, case_id: uuid.UUID, errors: FormErrors, purpose: str = "") -> Response:
    case = cases.get_case(page.ctx, page.principal, case_id)
    return page.render(
        "pages/case/identity.html",
        status_code=422 if errors else 200,
        case=case,
        identity=None,
        purposes=_purposes(page),
        purpose=purpose,
        errors=errors,
    )


@router.get("/cases/{case_id}/identity")
def identity_question(page: IdentityReader, case_id: uuid.UUID) -> Response:
    return _identity_question(page, case_id, FormErrors())


@router.post("/cases/{case_id}/identity")
def identity_shown(page: IdentityReader, case_id: uuid.UUID, purpose: Annotated[str, Form()] = "") -> Response:
    errors = FormErrors()
    _purpose_error(page, purpose, errors)
    if errors:
        return _identity_question(page, case_id, errors, purpose)
    identity = cases.read_identity(page.ctx, page.principal, case_id, purpose)
    case = cases.get_case(page.ctx, page.principal, case_id)
    return page.render(
        "pages/case/identity.html",
        case=case,
        identity=identity,
        purpose_label=PURPOSES[purpose],
        purposes=[],
        purpose=purpose,
        errors=errors,
    )


# --- caseworkers -------------------------------------------------------------------------------------------


def _caseworkers_page(page: Page, case_id: uuid.UUID, errors: FormErrors) -> Response:
    case = cases.get_case(page.ctx, page.principal, case_id)
    people = staffing.caseworker_candidates(page.ctx, page.principal, case_id)
    return page.render(
        "pages/case/caseworkers.html",
        status_code=422 if errors else 200,
        case=case,
        options=[
            {
                "value": str(p.id),
                "label": p.username,
                "hint": f"{p.organisation} · {page.gettext(SECTORS.get(p.sector.value, p.sector.value))}",
            }
            for p in people
        ],
        errors=errors,
        states=STATES,
    )


@router.get("/cases/{case_id}/caseworkers")
def caseworkers(page: CaseworkerAssigner, case_id: uuid.UUID) -> Response:
    return _caseworkers_page(page, case_id, FormErrors())


@router.post("/cases/{case_id}/caseworkers")
def assign_caseworker(
    page: CaseworkerAssigner, case_id: uuid.UUID, caseworker_id: Annotated[str, Form()] = ""
) -> Response:
    errors = FormErrors()
    try:
        chosen = uuid.UUID(caseworker_id)
        cases.assign_caseworker(page.ctx, page.principal, case_id, chosen)
        return page.redirect(f"/cases/{case_id}?done=assigned")
    except (ValueError, InvalidInput):
        errors.add("caseworker_id", page.gettext("Choose a caseworker"))
    return _caseworkers_page(page, case_id, errors)


# --- erasure, behind a confirmation ------------------------------------------------------------------------


def _erasure_page(
    page: Page, case_id: uuid.UUID, errors: FormErrors, reason: str = "", confirm: bool = False
) -> Response:
    case = cases.get_case(page.ctx, page.principal, case_id)
    return page.render(
        "pages/case/erasure.html",
        status_code=422 if errors else 200,
        case=case,
        reasons=[{"value": code, "label": page.gettext(text)} for code, text in ERASURE_REASONS.items()],
        reason=reason,
        reason_label=ERASURE_REASONS.get(reason, ""),
        confirm=confirm,
        errors=errors,
        states=STATES,
    )


@router.get("/cases/{case_id}/erasure")
def erasure(page: Eraser, case_id: uuid.UUID) -> Response:
    return _erasure_page(page, case_id, FormErrors())


@router.post("/cases/{case_id}/erasure")
def erase(
    page: Eraser,
    case_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if reason not in ERASURE_REASONS or reason not in ERASURE_CODES:
        errors.add("reason", page.gettext("Choose why the personal data are erased"))
        return _erasure_page(page, case_id, errors, reason)
    if confirmed != "yes":
        return _erasure_page(page, case_id, errors, reason, confirm=True)
    cases.erase(page.ctx, page.principal, case_id, reason)
    return page.redirect(f"/cases/{case_id}?done=erased")
