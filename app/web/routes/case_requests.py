"""What a referring organisation asks on a case it referred: a reconsideration of a negative preliminary
decision (with the new evidence), a review of a negative formal decision (with the reasons), and the case's
documents (list, upload). The workflow decides whether the window is open; its refusal is shown in words.

Paths: `/referrals/{case_id}/reconsideration`, `/referrals/{case_id}/review`, `/referrals/{case_id}/documents`
(the case page, `/cases/{case_id}`, links here for the steps these pages take).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import Depends, Form, UploadFile
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import documents
from app.services.cases import EventInput, get_case, send_event
from app.services.cases.views import CaseView
from app.services.errors import Conflict, InvalidInput, PayloadTooLarge, UnsupportedMediaType
from app.services.my_work import counts_working_days
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import DOCUMENT_KINDS, STATES
from app.workflow import DeadlineKind, EventName

router = web_router()
Sender = Annotated[Page, Depends(page_for(Permission.send_events))]
DocumentReader = Annotated[Page, Depends(page_for(Permission.read_documents))]
Uploader = Annotated[Page, Depends(page_for(Permission.upload_documents))]

REASONS_MAX = 20_000
_CHUNK = 64 * 1024


class RequestKind:
    """The texts and rules of one request page."""

    def __init__(self, event: EventName, window: DeadlineKind, title: str, label: str, hint: str, done: str) -> None:
        self.event, self.window, self.title, self.label, self.hint, self.done = event, window, title, label, hint, done


REQUESTS = {
    "reconsideration": RequestKind(
        EventName.request_reconsideration,
        DeadlineKind.reconsideration_window,
        N_("Ask for a reconsideration"),
        N_("What is the new evidence?"),
        N_(
            "What the assessor did not know: a new statement, a document, a change in the situation. "
            "Another assessor will take the decision again."
        ),
        N_("Reconsideration requested: another assessor will decide again."),
    ),
    "review": RequestKind(
        EventName.request_review,
        DeadlineKind.review_window,
        N_("Ask for a review"),
        N_("Why should the decision be reviewed?"),
        N_("What the panel overlooked or got wrong. A second panel, with other members, reviews the decision."),
        N_("Review requested: a second panel will review the decision."),
    ),
}

#: The workflow's refusal codes, in words the person can act on.
REFUSALS = {
    "window_closed": N_("The time to ask has run out."),
    "reconsideration_used": N_("A reconsideration was already held for this case."),
    "review_used": N_("A review was already held: its decision is final."),
    "reasons_missing": N_("Write the new evidence or the reasons."),
}
NOTICES = {
    "uploaded": N_("The document was added to the case, encrypted."),
    "reconsideration": REQUESTS["reconsideration"].done,
    "review": REQUESTS["review"].done,
}


def _request_page(
    page: Page, case: CaseView, what: str, reasons: str, errors: FormErrors, status_code: int = 200
) -> Response:
    kind = REQUESTS[what]
    window = next(
        (d for d in case.deadlines if d.kind is kind.window and d.status.value == "open"),
        None,
    )
    return page.render(
        "pages/referral/request.html",
        status_code=status_code,
        case=case,
        what=what,
        kind=kind,
        window=window,
        allowed=kind.event in case.allowed_events,
        window_in_days=counts_working_days(page.ctx.policy, kind.window.value, case.is_child),
        reasons=reasons,
        errors=errors,
        states=STATES,
    )


def _show(page: Page, case_id: uuid.UUID, what: str) -> Response:
    return _request_page(page, get_case(page.ctx, page.principal, case_id), what, "", FormErrors())


def _send(page: Page, case_id: uuid.UUID, what: str, reasons: str, version: str) -> Response:
    kind = REQUESTS[what]
    errors = FormErrors()
    reasons = reasons.strip()
    if not reasons:
        errors.add("reasons", page.gettext(REFUSALS["reasons_missing"]))
    elif len(reasons) > REASONS_MAX:
        errors.add("reasons", page.gettext("This answer is too long"))
    if not errors:
        try:
            send_event(
                page.ctx,
                page.principal,
                case_id,
                EventInput(event=kind.event, reasons=reasons),
                expected_version=int(version) if version.isdigit() else None,
            )
            return page.redirect(f"/referrals/{case_id}/documents?status={what}")
        except InvalidInput as problem:
            code = str(problem.errors[0].loc[0]) if problem.errors else ""
            errors.add("reasons", page.gettext(REFUSALS.get(code, REFUSALS["reasons_missing"])))
        except Conflict as refusal:
            errors.add("reasons", _refusal_words(page, refusal))
    case = get_case(page.ctx, page.principal, case_id)
    return _request_page(page, case, what, reasons, errors, status_code=422)


def _refusal_words(page: Page, refusal: Conflict) -> str:
    message = REFUSALS.get(refusal.code or "")
    if message is not None:
        return page.gettext(message)
    return page.gettext("This request cannot be made at this stage of the case.")


@router.get("/referrals/{case_id}/reconsideration")
def reconsideration_form(page: Sender, case_id: uuid.UUID) -> Response:
    return _show(page, case_id, "reconsideration")


@router.post("/referrals/{case_id}/reconsideration")
def request_reconsideration(
    page: Sender,
    case_id: uuid.UUID,
    reasons: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    return _send(page, case_id, "reconsideration", reasons, version)


@router.get("/referrals/{case_id}/review")
def review_form(page: Sender, case_id: uuid.UUID) -> Response:
    return _show(page, case_id, "review")


@router.post("/referrals/{case_id}/review")
def request_review(
    page: Sender,
    case_id: uuid.UUID,
    reasons: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
) -> Response:
    return _send(page, case_id, "review", reasons, version)


# --- documents ---------------------------------------------------------------------------------------------


def _documents_page(
    page: Page, case_id: uuid.UUID, errors: FormErrors, kind: str = "", status: str | None = None, code: int = 200
) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    notice = NOTICES.get(status or "")
    return page.render(
        "pages/referral/documents.html",
        status_code=code,
        case=case,
        files=documents.list_documents(page.ctx, page.principal, case_id),
        kinds=[{"value": value, "label": page.gettext(text)} for value, text in DOCUMENT_KINDS.items()],
        kind_names=DOCUMENT_KINDS,
        kind=kind,
        may_upload=page.principal.can(Permission.upload_documents),
        errors=errors,
        notice=page.gettext(notice) if notice else None,
        max_megabytes=page.ctx.settings.max_document_bytes // (1024 * 1024),
        states=STATES,
    )


@router.get("/referrals/{case_id}/documents")
def documents_page(page: DocumentReader, case_id: uuid.UUID, status: str | None = None) -> Response:
    return _documents_page(page, case_id, FormErrors(), status=status)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(_CHUNK):
        yield chunk


@router.post("/referrals/{case_id}/documents")
def upload_document(
    page: Uploader,
    case_id: uuid.UUID,
    file: UploadFile | None = None,
    kind: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    if kind not in DOCUMENT_KINDS:
        errors.add("kind", page.gettext("Choose what the document is"))
    if file is None or not file.filename:
        errors.add("file", page.gettext("Choose a file"))
    if not errors and file is not None:
        try:
            documents.upload(page.ctx, page.principal, case_id, kind, file.content_type, _chunks(file.file))
            return page.redirect(f"/referrals/{case_id}/documents?status=uploaded")
        except PayloadTooLarge:
            megabytes = page.ctx.settings.max_document_bytes // (1024 * 1024)
            errors.add("file", page.gettext("The file is larger than %(size)s MB", size=megabytes))
        except UnsupportedMediaType:
            errors.add("file", page.gettext("The file must be a PDF, a PNG or JPEG picture, or plain text"))
        except Conflict:
            errors.add("kind", page.gettext("An asylum interview transcript is kept only with the person's consent"))
    return _documents_page(page, case_id, errors, kind=kind, code=422)
