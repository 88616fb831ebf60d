"""The caseworker's pages of a case: the needs assessment (immediate and long-term, each need with its
urgency), the needs found and the service referrals that meet them (refer to a provider; accepted, refused,
delivered), and the interviews already held (issue 13 "Caseworker"; issue 15 "Needs assessment").

Paths, each with a back link to the case page `/cases/{case_id}`:
- `/cases/{case_id}/needs`: needs, their referrals and statuses, past assessments;
- `/cases/{case_id}/needs/assessment`: the structured assessment (`assessments.assessment_template()`);
- `POST /cases/{case_id}/needs/{need_id}/referral`, `POST /cases/{case_id}/services/{service_id}/status`;
- `/cases/{case_id}/interviews`: interviews held (who, when) and a form to record one.

Only codes, ids and dates travel in paths and queries; notes are encrypted by the services.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import assessments, support
from app.services.assessments import AssessedNeed, AssessmentInput
from app.services.cases import get_case
from app.services.errors import Conflict, InvalidInput
from app.web.case_pages import local_day, local_noon, notice_of, parse_day, refusal_words
from app.web.forms import FormErrors, choice_items
from app.web.i18n import N_
from app.web.pages import Page, page_for
from app.web.routing import web_router
from app.web.vocabulary import ANSWERS, AREAS, NEEDS, PROVIDER_KINDS, SERVICE_STATUSES, URGENCIES
from app.workflow.needs import Answer, AssessmentScope, slot_order
from app.workflow.states import NeedKind, ServiceStatus
from app.workflow.support import SERVICE_TRANSITIONS, Urgency, serves

router = web_router()
Supporter = Annotated[Page, Depends(page_for(Permission.record_support))]
CaseReader = Annotated[Page, Depends(page_for(Permission.read_cases))]
Interviewer = Annotated[Page, Depends(page_for(Permission.send_events))]

NOTE_MAX = 5000
NOTICES = {
    "assessed": N_("The assessment was recorded."),
    "referred": N_("The person was referred to the provider."),
    "status": N_("The service's status was changed."),
    "interview": N_("The interview was recorded."),
}


# --- needs and services -----------------------------------------------------------------------------------


def _needs_page(page: Page, case_id: uuid.UUID, errors: FormErrors | None = None, status_code: int = 200) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    # Needs recorded together (one assessment) come in the order the assessment asks them.
    needs = sorted(
        support.list_needs(page.ctx, page.principal, case_id),
        key=lambda n: (n.created_at, slot_order(n.kind, n.urgency)),
    )
    services = support.list_services(page.ctx, page.principal, case_id)
    providers = support.list_providers(page.ctx)
    names = {p.id: p.name for p in providers}
    rows = []
    for need in needs:
        offered = [
            {"value": str(p.id), "label": f"{p.name} ({page.gettext(PROVIDER_KINDS[p.kind.value])})"}
            for p in providers
            if serves(p.kind, need.kind)
        ]
        referrals = [
            {
                "service": s,
                "provider": names.get(s.provider_id, ""),
                "next": choice_items(
                    {st.value: SERVICE_STATUSES[st.value] for st in SERVICE_TRANSITIONS.get(s.status, ())},
                    page.gettext,
                ),
            }
            for s in services
            if s.need_id == need.id
        ]
        rows.append({"need": need, "providers": offered, "referrals": referrals})
    return page.render(
        "pages/support/needs.html",
        status_code=status_code,
        case=case,
        rows=rows,
        assessments=assessments.list_assessments(page.ctx, page.principal, case_id),
        errors=errors or FormErrors(),
        notice=notice_of(page, NOTICES),
        needs_names=NEEDS,
        urgencies=URGENCIES,
        statuses=SERVICE_STATUSES,
        answers=ANSWERS,
        areas=AREAS,
        ended=case.close_reason is not None or case.state.value in ("closed", "withdrawn"),
    )


@router.get("/cases/{case_id}/needs")
def needs_page(page: Supporter, case_id: uuid.UUID) -> Response:
    return _needs_page(page, case_id)


@router.post("/cases/{case_id}/needs/{need_id}/referral")
def refer_need(
    page: Supporter, case_id: uuid.UUID, need_id: uuid.UUID, provider: Annotated[str, Form()] = ""
) -> Response:
    errors = FormErrors()
    field = f"provider-{need_id}"
    try:
        support.refer_to_service(page.ctx, page.principal, case_id, need_id, uuid.UUID(provider))
        return page.redirect(f"/cases/{case_id}/needs?done=referred")
    except ValueError:
        errors.add(field, page.gettext("Choose a provider"))
    except InvalidInput:
        errors.add(field, page.gettext("Choose a provider that offers this kind of help"))
    except Conflict as refusal:
        errors.add(field, refusal_words(page, refusal))
    return _needs_page(page, case_id, errors, status_code=422)


@router.post("/cases/{case_id}/services/{service_id}/status")
def change_status(
    page: Supporter,
    case_id: uuid.UUID,
    service_id: uuid.UUID,
    status: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    errors = FormErrors()
    field = f"status-{service_id}"
    if status not in ServiceStatus.__members__:
        errors.add(field, page.gettext("Choose the new status"))
    elif len(note) > NOTE_MAX:
        errors.add(field, page.gettext("This answer is too long"))
    else:
        try:
            support.set_service_status(page.ctx, page.principal, case_id, service_id, status, note.strip() or None)
            return page.redirect(f"/cases/{case_id}/needs?done=status")
        except Conflict as refusal:
            errors.add(field, refusal_words(page, refusal))
    return _needs_page(page, case_id, errors, status_code=422)


# --- the structured assessment ----------------------------------------------------------------------------


def _assessment_page(
    page: Page, case_id: uuid.UUID, values: dict[str, object], errors: FormErrors, status_code: int = 200
) -> Response:
    template = assessments.assessment_template()
    sections = [
        {
            "title": page.gettext(URGENCIES[section.urgency.value]),
            "areas": [
                {
                    "key": area.key,
                    "label": page.gettext(AREAS[area.area.value]),
                    "kinds": choice_items({k.value: NEEDS[k.value] for k in area.kinds}, page.gettext)
                    if len(area.kinds) > 1
                    else [],
                }
                for area in section.areas
            ],
        }
        for section in template.sections
    ]
    return page.render(
        "pages/support/assessment.html",
        status_code=status_code,
        case=get_case(page.ctx, page.principal, case_id),
        sections=sections,
        answer_items=choice_items(ANSWERS, page.gettext),
        scope_items=[
            {"value": "full", "label": page.gettext("A full assessment: every area")},
            {"value": "partial", "label": page.gettext("An update of some areas")},
        ],
        values=values,
        errors=errors,
    )


@router.get("/cases/{case_id}/needs/assessment")
def assessment_form(page: Supporter, case_id: uuid.UUID) -> Response:
    return _assessment_page(page, case_id, {"scope": "full"}, FormErrors())


@router.post("/cases/{case_id}/needs/assessment")
async def record_assessment(page: Supporter, case_id: uuid.UUID, request: Request) -> Response:
    form = await request.form()
    values: dict[str, object] = {
        key: [str(v) for v in form.getlist(key)] if key.endswith(".kinds") else str(form.get(key, "")) for key in form
    }
    return await run_in_threadpool(_record_assessment, page, case_id, values)


def _record_assessment(page: Page, case_id: uuid.UUID, values: dict[str, object]) -> Response:
    errors = FormErrors()
    scope = str(values.get("scope", ""))
    if scope not in AssessmentScope.__members__:
        errors.add("scope", page.gettext("Say whether this is a full assessment or an update"))
        scope = AssessmentScope.partial.value
    needs: list[AssessedNeed] = []
    answers: dict[str, Answer] = {}
    for area in (a for s in assessments.assessment_template().sections for a in s.areas):
        answer = str(values.get(area.key, ""))
        unanswered = page.gettext(
            "Answer for %(area)s (%(urgency)s), or say it was not assessed yet",
            area=page.gettext(AREAS[area.area.value]),
            urgency=page.gettext(URGENCIES[area.key.partition(".")[0]]),
        )
        if not answer:
            if scope == AssessmentScope.full.value:
                errors.add(area.key, unanswered)
            continue
        if answer not in Answer.__members__:
            errors.add(area.key, unanswered)
            continue
        if answer != Answer.need.value:
            answers[area.key] = Answer(answer)
            continue
        kinds = area.kinds if len(area.kinds) == 1 else [NeedKind(k) for k in _kinds(values, area.key, area.kinds)]
        if not kinds:
            errors.add(area.key, page.gettext("Say which help is needed"))
        urgency = Urgency(area.key.partition(".")[0])
        needs.extend(AssessedNeed(kind, urgency) for kind in kinds)
    note = str(values.get("note", "")).strip()
    if len(note) > NOTE_MAX:
        errors.add("note", page.gettext("This answer is too long"))
    if not errors:
        try:
            assessments.record_assessment(
                page.ctx,
                page.principal,
                case_id,
                AssessmentInput(AssessmentScope(scope), needs=tuple(needs), answers=answers, note=note or None),
            )
            return page.redirect(f"/cases/{case_id}/needs?done=assessed")
        except InvalidInput:
            errors.add("scope", page.gettext("The assessment is not complete: answer every area"))
        except Conflict as refusal:
            errors.add("scope", refusal_words(page, refusal))
    return _assessment_page(page, case_id, values, errors, status_code=422)


def _kinds(values: dict[str, object], key: str, allowed: list[NeedKind]) -> list[str]:
    chosen = values.get(f"{key}.kinds", [])
    return [k.value for k in allowed if isinstance(chosen, list) and k.value in chosen]


# --- interviews -------------------------------------------------------------------------------------------


def _interviews_page(
    page: Page, case_id: uuid.UUID, values: dict[str, str], errors: FormErrors, status_code: int = 200
) -> Response:
    return page.render(
        "pages/support/interviews.html",
        status_code=status_code,
        case=get_case(page.ctx, page.principal, case_id),
        interviews=support.list_interviews(page.ctx, page.principal, case_id),
        may_record=page.principal.can(Permission.send_events),
        values=values,
        errors=errors,
        notice=notice_of(page, NOTICES),
    )


@router.get("/cases/{case_id}/interviews")
def interviews_page(page: CaseReader, case_id: uuid.UUID) -> Response:
    return _interviews_page(page, case_id, {}, FormErrors())


@router.post("/cases/{case_id}/interviews")
def record_interview(
    page: Interviewer,
    case_id: uuid.UUID,
    purpose: Annotated[str, Form()] = "",
    held_day: Annotated[str, Form(alias="held-day")] = "",
    held_month: Annotated[str, Form(alias="held-month")] = "",
    held_year: Annotated[str, Form(alias="held-year")] = "",
) -> Response:
    errors = FormErrors()
    values = {"purpose": purpose, "day": held_day, "month": held_month, "year": held_year}
    purpose = purpose.strip()
    if not purpose:
        errors.add("purpose", page.gettext("Say what the interview was for"))
    elif len(purpose) > NOTE_MAX:
        errors.add("purpose", page.gettext("This answer is too long"))
    held = parse_day(held_day, held_month, held_year)
    today = local_day(page)
    if held is None:
        errors.add("held", page.gettext("Enter the date of the interview, for example 3 6 2027"))
    elif held > today:
        errors.add("held", page.gettext("The date cannot be in the future"))
    if not errors and held is not None:
        support.record_interview(
            page.ctx, page.principal, case_id, purpose, page.principal.organisation_id, _noon(page, held)
        )
        return page.redirect(f"/cases/{case_id}/interviews?done=interview")
    return _interviews_page(page, case_id, values, errors, status_code=422)


def _noon(page: Page, day: date) -> datetime:
    """An interview held on `day`: noon of that day in the policy's time zone, or now if that is earlier."""
    return min(local_noon(page, day), page.ctx.clock.now())
