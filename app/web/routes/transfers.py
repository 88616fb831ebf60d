"""The coordinator's pages for cross-border transfers (issue 17, docs/transfers.md): send a case to a peer
mechanism, follow it in the outbox, and decide on the packages peers sent (read with a stated purpose, accept,
refuse with a reason).

- `/cases/{case_id}/transfer`: the case's transfers (outbox status) and the form (peer, reason, consent or the
  child's best-interests determination, documents); its POST checks the answers, shows them again to change,
  or sends (`action`: check, change, send);
- `/cases/{case_id}/transfer/{id}`: the confirmation once sent;
- `/transfers`: the inbox (packages received) and the transfers sent;
- `/transfers/{id}`: a received package without personal data, the purpose step before reading it, accept,
  refuse; `POST /transfers/{id}/package` (a purpose): what it holds, audited with the purpose;
  `/transfers/{id}/documents/{index}?purpose=`: one of its documents;
- `/transfers/{id}/accepted`: the confirmation with the new case's reference;
- `/transfers/{id}/refuse`: the reason for refusing, then back to the inbox.

Every page calls the services the API calls (`app/services/transfers/`); who may do it is the authority's
`manage_transfers` (and `reads_received_package` inside the services).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid
from typing import Annotated, Any

from fastapi import Depends, Form, Query
from fastapi.responses import Response

from app.api.support import document_response
from app.security.permissions import Permission
from app.security.transfer_package import RefusalReason
from app.services import documents, transfers
from app.services.cases import get_case
from app.services.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from app.services.transfers import TransferDirection, TransferState, TransferView
from app.web import transfer_form
from app.web.forms import FormErrors
from app.web.i18n import N_
from app.web.pages import Page, page_for, renderer
from app.web.routing import web_router
from app.web.transfer_form import TransferAnswers
from app.web.vocabulary import (
    CONSENT_METHODS,
    DEADLINES,
    DECISION_OUTCOMES,
    DOCUMENT_KINDS,
    PURPOSES,
    REFUSAL_REASONS,
    STATES,
    TRANSFER_REASONS,
    TRANSFER_STATES,
)
from app.workflow import Purpose

router = web_router()
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
Coordinator = Annotated[Page, Depends(page_for(Permission.manage_transfers))]

#: The workflow's and the services' refusals of a transfer, in words.
SEND_REFUSALS = {
    "not_allowed_in_state": N_("An ended case is not transferred."),
    "consent_required": N_("Say how and when the person gave their consent to the transfer."),
    "best_interests_missing": N_("Write the best-interests determination"),
    "consent_in_future": N_("The consent cannot have been given later than now"),
}
_REFUSAL_FIELDS = {
    "best_interests_missing": "best_interests",
    "consent_required": "consent_how",
    "consent_in_future": "consent_date",
}
#: Labels of a package's personal fields; a field without one shows under its own name.
PERSON_FIELDS = {
    "full_name": N_("Name"),
    "aliases": N_("Other names"),
    "date_of_birth": N_("Date of birth"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "address": N_("Where the person can be reached"),
    "alternative_contact": N_("Someone who can pass on a message"),
    "what_happened": N_("What happened"),
    "how_it_started": N_("How it started"),
    "living_conditions": N_("Living conditions"),
    "how_treated": N_("How the person was treated"),
    "why_stayed_or_left": N_("Why the person stayed or left"),
    "period": N_("When"),
    "places": N_("Places"),
    "exploiters": N_("The exploiters"),
    "other_victims": N_("Other victims"),
    "reported_to_police": N_("Reported to the police"),
    "police_reference": N_("Police reference"),
    "asylum_interview_reference": N_("Asylum interview reference"),
}


def _choices(page: Page, table: dict[str, str]) -> list[dict[str, str]]:
    return [{"value": code, "label": page.gettext(text)} for code, text in table.items()]


def _common(page: Page) -> dict[str, Any]:
    """What every transfer template uses to put codes in words."""
    return {
        "reasons": TRANSFER_REASONS,
        "consent_methods": CONSENT_METHODS,
        "transfer_states": TRANSFER_STATES,
        "refusal_reasons": REFUSAL_REASONS,
        "states": STATES,
        "deadline_names": DEADLINES,
        "document_kinds": DOCUMENT_KINDS,
        "outcomes": DECISION_OUTCOMES,
    }


# --- sending -----------------------------------------------------------------------------------------------


def _send_page(
    page: Page,
    case_id: uuid.UUID,
    answers: TransferAnswers,
    errors: FormErrors,
    *,
    template: str = "pages/transfer/send.html",
    status_code: int = 200,
    **extra: Any,
) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    sent = transfers.list_transfers(page.ctx, case_id=case_id, direction=TransferDirection.outgoing)
    files = documents.list_documents(page.ctx, page.principal, case_id)
    peers = transfers.list_peers(page.ctx)
    return page.render(
        template,
        status_code=status_code,
        case=case,
        sent=sent,
        under_way=next((t for t in sent if t.state.value in ("pending", "delivered")), None),
        peers=peers,
        peer_choices=[
            {
                "value": p.name,
                "label": f"{p.display_name} ({p.country})",
                "hint": page.gettext("Fingerprint %(fingerprint)s", fingerprint=p.fingerprint),
            }
            for p in peers
        ],
        reason_choices=_choices(page, TRANSFER_REASONS),
        consent_choices=_choices(page, CONSENT_METHODS),
        document_choices=[
            {
                "value": str(f.id),
                "label": page.gettext(DOCUMENT_KINDS.get(f.kind.value, f.kind.value)),
                "hint": page.gettext("Added on %(date)s", date=page_date(page, f.uploaded_at)),
            }
            for f in files
        ],
        files={str(f.id): f for f in files},
        answers=answers,
        errors=errors,
        **_common(page),
        **extra,
    )


def page_date(page: Page, value: dt.datetime) -> str:
    return renderer(page.request).formats[page.language].datetime(value)


@router.get("/cases/{case_id}/transfer")
def transfer_form_page(page: Coordinator, case_id: uuid.UUID) -> Response:
    return _send_page(page, case_id, TransferAnswers(), FormErrors())


def _send_refusal(page: Page, refusal: Conflict | InvalidInput) -> tuple[str, str]:
    """(field, message) for a refusal of the service."""
    if isinstance(refusal, InvalidInput):
        field = str(refusal.errors[0].loc[0]) if refusal.errors else ""
        if field == "documents":
            return "documents", page.gettext("Choose documents of this case only")
        if field == "peer":
            return "peer", page.gettext("Choose the mechanism to send the case to")
    code = refusal.code if isinstance(refusal, Conflict) else None
    code = code or (str(refusal.errors[0].loc[-1]) if isinstance(refusal, InvalidInput) and refusal.errors else "")
    message = SEND_REFUSALS.get(code or "")
    if message is not None:
        return _REFUSAL_FIELDS.get(code or "", "peer"), page.gettext(message)
    return "peer", page.gettext("This case cannot be sent now: another transfer of it is under way, or it has ended.")


@router.post("/cases/{case_id}/transfer")
def transfer_step(
    page: Coordinator,
    case_id: uuid.UUID,
    action: Annotated[str, Form()] = "check",
    peer: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    consent_how: Annotated[str, Form()] = "",
    consent_day: Annotated[str, Form(alias="consent_date-day")] = "",
    consent_month: Annotated[str, Form(alias="consent_date-month")] = "",
    consent_year: Annotated[str, Form(alias="consent_date-year")] = "",
    consent_time: Annotated[str, Form()] = "",
    best_interests: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    documents_chosen: Annotated[list[str] | None, Form(alias="documents")] = None,
) -> Response:
    """The form posts here: `check` shows the answers to check, `change` the form again with them, `send`
    sends the case (then the confirmation, 303)."""
    answers = TransferAnswers.from_form(
        {
            "peer": peer,
            "reason": reason,
            "consent_how": consent_how,
            "consent_date-day": consent_day,
            "consent_date-month": consent_month,
            "consent_date-year": consent_year,
            "consent_time": consent_time,
            "best_interests": best_interests,
            "note": note,
        },
        documents_chosen or [],
    )
    if action == "change":
        return _send_page(page, case_id, answers, FormErrors())
    case = get_case(page.ctx, page.principal, case_id)
    checked = transfer_form.check(
        answers,
        child=case.is_child,
        peers=[p.name for p in transfers.list_peers(page.ctx)],
        documents=[f.id for f in documents.list_documents(page.ctx, page.principal, case_id)],
        tz=page.ctx.policy.calendar.tz,
        now=page.ctx.clock.now(),
        gettext=page.gettext,
    )
    if checked.request is None:
        return _send_page(page, case_id, answers, checked.errors, status_code=422)
    if action != "send":
        return _send_page(
            page, case_id, answers, FormErrors(), template="pages/transfer/check.html", consent_at=checked.consent_at
        )
    errors = FormErrors()
    try:
        result = transfers.send_transfer(page.ctx, page.principal, case_id, checked.request)
        return page.redirect(f"/cases/{case_id}/transfer/{result.view.id}")
    except PayloadTooLarge:
        errors.add("documents", page.gettext("The package would be too large: choose fewer documents"))
    except (Conflict, InvalidInput) as refusal:
        errors.add(*_send_refusal(page, refusal))
    return _send_page(page, case_id, answers, errors, status_code=422)


def _outgoing(page: Page, case_id: uuid.UUID, transfer_row_id: uuid.UUID) -> TransferView:
    view = transfers.get_transfer(page.ctx, transfer_row_id)
    if view.direction is not TransferDirection.outgoing or view.case_id != case_id:
        raise NotFound("no such transfer of this case")
    return view


@router.get("/cases/{case_id}/transfer/{transfer_row_id}")
def transfer_sent(page: Coordinator, case_id: uuid.UUID, transfer_row_id: uuid.UUID) -> Response:
    transfer = _outgoing(page, case_id, transfer_row_id)
    case = get_case(page.ctx, page.principal, case_id)
    peer = next((p for p in transfers.list_peers(page.ctx) if p.name == transfer.peer), None)
    return page.render("pages/transfer/sent.html", case=case, transfer=transfer, peer=peer, **_common(page))


# --- the inbox ---------------------------------------------------------------------------------------------

NOTICES = {
    "refused": N_("The package was refused: the sending mechanism is told the reason."),
}


@router.get("/transfers")
def inbox(page: Coordinator, status: str | None = None) -> Response:
    received = transfers.list_transfers(page.ctx, direction=TransferDirection.incoming)
    sent = transfers.list_transfers(page.ctx, direction=TransferDirection.outgoing)
    notice = NOTICES.get(status or "")
    return page.render(
        "pages/transfer/inbox.html",
        waiting=[t for t in received if t.state is TransferState.received],
        decided=[t for t in received if t.state is not TransferState.received],
        sent=sent,
        notice=page.gettext(notice) if notice else None,
        **_common(page),
    )


def _incoming(page: Page, transfer_row_id: uuid.UUID) -> TransferView:
    view = transfers.get_transfer(page.ctx, transfer_row_id)
    if view.direction is not TransferDirection.incoming:
        raise NotFound("no such received transfer")
    return view


def _received_page(
    page: Page,
    transfer: TransferView,
    errors: FormErrors,
    *,
    purpose: str = "",
    content: transfers.PackageContent | None = None,
    status_code: int = 200,
) -> Response:
    return page.render(
        "pages/transfer/received.html",
        status_code=status_code,
        transfer=transfer,
        summary=transfer.summary,
        reflection_ends_at=transfer.summary.reflection_period_ends_at(),
        purpose_choices=_choices(page, PURPOSES),
        purpose=purpose,
        package=content,
        person_rows=_rows(page, content.person) if content else [],
        account_rows=_rows(page, content.account) if content else [],
        errors=errors,
        **_common(page),
    )


def _words(page: Page, value: object) -> str:
    """A field of a received package in words: dates in the page's language, the period as the referral's
    check page says it; a value this service did not write shows as sent."""
    if value is None or value in ("", [], {}):
        return page.gettext("Not given")
    if isinstance(value, bool):
        return page.gettext("Yes") if value else page.gettext("No")
    if isinstance(value, list):
        return ", ".join(_words(page, v) for v in value)
    if isinstance(value, dict):
        period = [
            f"{page.gettext('Since')} {_words(page, value.get('from'))}" if value.get("from") else "",
            f"{page.gettext('Until')} {_words(page, value.get('to'))}" if value.get("to") else "",
            page.gettext("Still going on") if value.get("ongoing") else "",
        ]
        return ", ".join(p for p in period if p) or page.gettext("Not given")
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        with contextlib.suppress(ValueError):
            return renderer(page.request).formats[page.language].date(dt.date.fromisoformat(value))
    return str(value)


def _rows(page: Page, fields: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {"key": page.gettext(PERSON_FIELDS[name]) if name in PERSON_FIELDS else name, "value": _words(page, value)}
        for name, value in fields.items()
    ]


@router.get("/transfers/{transfer_row_id}")
def received(page: Coordinator, transfer_row_id: uuid.UUID) -> Response:
    view = transfers.get_transfer(page.ctx, transfer_row_id)
    if view.direction is TransferDirection.outgoing and view.case_id is not None:
        return page.redirect(f"/cases/{view.case_id}/transfer")
    return _received_page(page, view, FormErrors())


@router.post("/transfers/{transfer_row_id}/package")
def read_package(page: Coordinator, transfer_row_id: uuid.UUID, purpose: Annotated[str, Form()] = "") -> Response:
    """What the package holds, for the purpose stated (audited). Shown in the answer to the POST: the person's
    data never sits behind a URL a browser could keep or share."""
    view = _incoming(page, transfer_row_id)
    errors = FormErrors()
    if purpose not in PURPOSES:
        errors.add("purpose", page.gettext("Say why you open the package"))
        return _received_page(page, view, errors, status_code=422)
    try:
        content = transfers.read_package(page.ctx, page.principal, transfer_row_id, Purpose(purpose))
    except Conflict:
        errors.add("purpose", page.gettext("This package was decided on already: what it held is now in the case."))
        return _received_page(page, view, errors, status_code=409)
    return _received_page(page, view, FormErrors(), purpose=purpose, content=content)


@router.get("/transfers/{transfer_row_id}/documents/{index}")
def package_document(
    page: Coordinator,
    transfer_row_id: uuid.UUID,
    index: int,
    purpose: Annotated[str, Query()] = "",
) -> Response:
    if purpose not in PURPOSES or not 0 <= index <= 1000:
        raise NotFound("say why you open the document")
    content = transfers.read_package_document(page.ctx, page.principal, transfer_row_id, index, Purpose(purpose))
    return document_response(content)


def _decision_refusal(page: Page, refusal: Conflict) -> str:
    if refusal.code is None and "no longer registered" in str(refusal):
        return page.gettext("The sending mechanism is no longer registered: register it again to answer it.")
    if refusal.code is None:
        return page.gettext("This package was decided on already.")
    return page.gettext("The case cannot be opened here under this mechanism's rules.")


@router.post("/transfers/{transfer_row_id}/accept")
def accept(page: Coordinator, transfer_row_id: uuid.UUID) -> Response:
    view = _incoming(page, transfer_row_id)
    try:
        transfers.accept_transfer(page.ctx, page.principal, transfer_row_id)
    except Conflict as refusal:
        errors = FormErrors()
        errors.add("accept", _decision_refusal(page, refusal))
        return _received_page(page, transfers.get_transfer(page.ctx, view.id), errors, status_code=409)
    return page.redirect(f"/transfers/{transfer_row_id}/accepted")


@router.get("/transfers/{transfer_row_id}/accepted")
def accepted(page: Coordinator, transfer_row_id: uuid.UUID) -> Response:
    view = _incoming(page, transfer_row_id)
    if view.state is not TransferState.accepted or view.case_id is None:
        return page.redirect(f"/transfers/{transfer_row_id}")
    case = get_case(page.ctx, page.principal, view.case_id)
    return page.render("pages/transfer/accepted.html", transfer=view, case=case, **_common(page))


def _refuse_page(page: Page, view: TransferView, reason: str, errors: FormErrors, status_code: int = 200) -> Response:
    return page.render(
        "pages/transfer/refuse.html",
        status_code=status_code,
        transfer=view,
        reason=reason,
        reason_choices=_choices(page, REFUSAL_REASONS),
        errors=errors,
        **_common(page),
    )


@router.get("/transfers/{transfer_row_id}/refuse")
def refuse_form(page: Coordinator, transfer_row_id: uuid.UUID) -> Response:
    return _refuse_page(page, _incoming(page, transfer_row_id), "", FormErrors())


@router.post("/transfers/{transfer_row_id}/refuse")
def refuse(page: Coordinator, transfer_row_id: uuid.UUID, reason: Annotated[str, Form()] = "") -> Response:
    view = _incoming(page, transfer_row_id)
    errors = FormErrors()
    if reason not in REFUSAL_REASONS:
        errors.add("reason", page.gettext("Choose why you refuse the package"))
        return _refuse_page(page, view, reason, errors, status_code=422)
    try:
        transfers.refuse_transfer(page.ctx, page.principal, transfer_row_id, RefusalReason(reason))
    except Conflict as refusal:
        errors.add("reason", _decision_refusal(page, refusal))
        return _refuse_page(page, view, reason, errors, status_code=409)
    return page.redirect("/transfers?status=refused")
