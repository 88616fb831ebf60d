"""The referrer's pages: the guided referral (drafts kept on the server), the receipt, the anonymous
notification of an adult who did not consent, and the organisation's referrals.

Paths carry draft and case ids only, never anything of the person; every answer goes to the server in the
body of a POST and is kept encrypted in the draft (`app/services/referral_drafts.py`). The steps and their
checks are in `app/web/referral_form.py`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.security.permissions import Permission
from app.services import referral_drafts
from app.services.cases import get_case, list_cases
from app.services.errors import InvalidInput, NotFound
from app.services.my_work import counts_working_days
from app.web import referral_form as rf
from app.web.forms import FormErrors
from app.web.pages import Page, page_for, renderer
from app.web.routing import web_router
from app.web.vocabulary import DEADLINES, STATES
from app.workflow import Strength, offer_indicators
from app.workflow.indicators import indicator_list_titles

router = web_router()
Referrer = Annotated[Page, Depends(page_for(Permission.refer))]

DRAFTS = "/referrals/drafts"
CHECK = "check"


def draft_path(draft_id: uuid.UUID, where: str = "") -> str:
    return f"{DRAFTS}/{draft_id}/{where}" if where else f"{DRAFTS}/{draft_id}"


def _country(page: Page) -> str:
    return page.ctx.policy.holidays.country


def _today(page: Page) -> Any:
    return page.ctx.policy.calendar.local_date(page.ctx.clock.now())


# --- start, resume, discard --------------------------------------------------------------------------------


@router.post("/referrals/new")
def start_referral(page: Referrer) -> Response:
    draft = referral_drafts.start(page.ctx, page.principal)
    return page.redirect(draft_path(draft.id, rf.SLUGS[0]))


@router.get(DRAFTS + "/{draft_id}")
def resume_referral(page: Referrer, draft_id: uuid.UUID) -> Response:
    """Back where the person left off: the first step still to answer, else the check page."""
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    missing = rf.missing_steps(draft.answers)
    if rf.consent_refused(draft.answers):
        return page.redirect(draft_path(draft_id, "notification"))
    return page.redirect(draft_path(draft_id, missing[0] if missing else CHECK))


@router.get(DRAFTS + "/{draft_id}/discard")
def confirm_discard(page: Referrer, draft_id: uuid.UUID) -> Response:
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    return page.render("pages/referral/discard.html", draft=draft, back=draft_path(draft_id, CHECK))


@router.post(DRAFTS + "/{draft_id}/discard")
def discard(page: Referrer, draft_id: uuid.UUID) -> Response:
    referral_drafts.discard(page.ctx, page.principal, draft_id)
    return page.redirect("/referrals?status=discarded")


# --- the steps ---------------------------------------------------------------------------------------------


def _step_context(page: Page, slug: str, answers: dict[str, Any]) -> dict[str, Any]:
    """What a step's template needs besides the answers: choices, the child branch, the indicators."""
    gettext = page.gettext
    context: dict[str, Any] = {"child": rf.is_presumed_child(answers)}
    if slug == "age":
        context["age_bands"] = rf.age_band_choices(gettext)
    elif slug == "person":
        context["genders"] = rf.gender_choices(gettext)
        context["nationalities"] = [
            {"value": "", "label": gettext("Choose a nationality")},
            {"value": "unknown", "label": gettext("I do not know")},
            *({"value": code, "label": name} for code, name in rf.nationality_names(page.language).items()),
        ]
        context["regions"] = [
            {"value": "", "label": gettext("Choose a place")},
            *(
                {"value": code, "label": f"{code.split('-', 1)[1]} – {name}"}
                for code, name in rf.region_names(_country(page)).items()
            ),
        ]
    elif slug == "exploitation":
        context["exploitation_forms"] = rf.form_choices(gettext)
        context["exploitation_scopes"] = rf.scope_choices(gettext)
    elif slug == "indicators":
        context.update(_indicator_groups(page, answers))
    elif slug == "needs":
        context["languages"] = [
            {"value": "", "label": gettext("No interpreter needed")},
            *({"value": code, "label": name} for code, name in rf.language_names(page.language).items()),
        ]
        context["aids"] = rf.communication_aid_choices(gettext)
    return context


def _indicator_groups(page: Page, answers: dict[str, Any]) -> dict[str, Any]:
    """The catalogue grouped by list and dimension: first what serves the referrer's sector and chosen forms."""
    offer = offer_indicators(page.principal.sector, answers.get("forms", []), rf.is_presumed_child(answers))
    titles = indicator_list_titles(page.language)
    strong = page.gettext("strong indicator")

    def grouped(indicators: tuple[Any, ...]) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for indicator in indicators:
            key = (indicator.list_code, indicator.dimension)
            group = groups.setdefault(
                key,
                {
                    "id": f"{indicator.list_code}-{indicator.dimension}".lower().replace("_", "-"),
                    "list": titles.get(indicator.list_code, indicator.list_code),
                    "dimension": indicator.dimension_label_in(page.language),
                    "items": [],
                },
            )
            group["items"].append(
                {
                    "value": indicator.code,
                    "label": indicator.label_in(page.language),
                    "strong": strong if indicator.strength is Strength.strong else "",
                }
            )
        return list(groups.values())

    return {"first_groups": grouped(offer.first), "other_groups": grouped(offer.rest)}


def _render_step(
    page: Page,
    draft: referral_drafts.Draft,
    slug: str,
    values: dict[str, Any],
    errors: FormErrors,
    from_check: bool,
    status_code: int = 200,
) -> Response:
    previous = rf.previous_slug(slug)
    back = draft_path(draft.id, CHECK) if from_check else (draft_path(draft.id, previous) if previous else "/referrals")
    return page.render(
        f"pages/referral/{slug}.html",
        status_code=status_code,
        draft=draft,
        slug=slug,
        step=rf.step_number(slug),
        total=len(rf.SLUGS),
        title=page.gettext(rf.STEP_BY_SLUG[slug].title),
        answers=values,
        errors=errors,
        from_check=from_check,
        back=back,
        action=draft_path(draft.id, slug),
        **_step_context(page, slug, values),
    )


def _save_step(page: Page, draft_id: uuid.UUID, slug: str, form: rf.Form) -> Response:
    if slug not in rf.STEP_BY_SLUG:
        raise NotFound("no such step")
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    reading = rf.read_step(slug, form, draft.answers, page.gettext, _today(page), _country(page))
    from_check = form.text("return_to") == CHECK
    if reading.errors:
        values = {**draft.answers, **reading.values}
        return _render_step(page, draft, slug, values, reading.errors, from_check, status_code=422)
    answers = {**draft.answers, **reading.values}
    referral_drafts.save(page.ctx, page.principal, draft_id, answers, rf.steps_done(answers))
    if slug == "consent" and rf.consent_refused(answers):
        return page.redirect(draft_path(draft_id, "notification"))
    if from_check and slug == "age" and "consent" in rf.missing_steps(answers):
        # The child branch changed: the consent step now asks something else, then back to the check page.
        return page.redirect(draft_path(draft_id, "consent") + "?change=check")
    following = rf.next_slug(slug)
    if from_check or following is None:
        return page.redirect(draft_path(draft_id, CHECK))
    return page.redirect(draft_path(draft_id, following))


# --- check your answers, submit ----------------------------------------------------------------------------


def _sections(page: Page, draft: referral_drafts.Draft) -> list[dict[str, Any]]:
    """The draft's answers as "check your answers" shows them, with change links that come back to it."""
    return rf.summary_sections(
        draft.answers,
        page.gettext,
        page.language,
        _country(page),
        renderer(page.request).formats[page.language].date,
        lambda slug: draft_path(draft.id, slug) + "?change=check",
    )


def _check_page(page: Page, draft: referral_drafts.Draft, errors: FormErrors, status_code: int = 200) -> Response:
    sections = _sections(page, draft)
    missing = rf.missing_steps(draft.answers)
    return page.render(
        "pages/referral/check.html",
        status_code=status_code,
        draft=draft,
        sections=sections,
        missing=[{"slug": slug, "title": page.gettext(rf.STEP_BY_SLUG[slug].title)} for slug in missing],
        child=rf.is_presumed_child(draft.answers),
        errors=errors,
        back=draft_path(draft.id, rf.SLUGS[-1]),
    )


@router.get(DRAFTS + "/{draft_id}/" + CHECK)
def check_answers(page: Referrer, draft_id: uuid.UUID) -> Response:
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    if rf.consent_refused(draft.answers):
        return page.redirect(draft_path(draft_id, "notification"))
    return _check_page(page, draft, FormErrors())


@router.post(DRAFTS + "/{draft_id}/" + CHECK)
def submit_referral(page: Referrer, draft_id: uuid.UUID) -> Response:
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    missing = rf.missing_steps(draft.answers)
    errors = FormErrors()
    for slug in missing:
        title = page.gettext(rf.STEP_BY_SLUG[slug].title)
        errors.add(f"missing-{slug}", page.gettext("Answer this step: %(step)s", step=title))
    if errors:
        return _check_page(page, draft, errors, status_code=422)
    try:
        result = referral_drafts.submit(page.ctx, page.principal, draft_id, rf.referral_input(draft.answers))
    except InvalidInput:
        errors.add("missing-consent", page.gettext("The referral was refused: check the answers about age and consent"))
        return _check_page(page, draft, errors, status_code=422)
    return page.redirect(f"/referrals/{result.view.id}/receipt")


# --- consent refused: the anonymous notification -----------------------------------------------------------


def _notification_page(
    page: Page, draft: referral_drafts.Draft, errors: FormErrors, status_code: int = 200
) -> Response:
    sections = _sections(page, draft)
    shown = [
        row for section in sections if section["slug"] in ("age", "person", "exploitation") for row in section["rows"]
    ]
    shown = [row for row in shown if row["key"] != page.gettext("Age uncertain or disputed")]
    return page.render(
        "pages/referral/notification.html",
        status_code=status_code,
        draft=draft,
        rows=shown,
        ready=rf.notification_ready(draft.answers),
        errors=errors,
        back=draft_path(draft.id, "consent"),
    )


@router.get(DRAFTS + "/{draft_id}/notification")
def notification_offer(page: Referrer, draft_id: uuid.UUID) -> Response:
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    if not rf.consent_refused(draft.answers):
        return page.redirect(draft_path(draft_id))
    return _notification_page(page, draft, FormErrors())


@router.post(DRAFTS + "/{draft_id}/notification")
def file_notification(page: Referrer, draft_id: uuid.UUID) -> Response:
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    if not rf.consent_refused(draft.answers):
        return page.redirect(draft_path(draft_id))
    if not rf.notification_ready(draft.answers):
        errors = FormErrors()
        errors.add("notification", page.gettext("Answer the questions about the person first"))
        return _notification_page(page, draft, errors, status_code=422)
    referral_drafts.notify_instead(page.ctx, page.principal, draft_id, rf.notification_input(draft.answers))
    return page.redirect("/referrals/notification-filed")


@router.get("/referrals/notification-filed")
def notification_filed(page: Referrer) -> Response:
    return page.render("pages/referral/notification_filed.html")


# --- the receipt -------------------------------------------------------------------------------------------


@router.get("/referrals/{case_id}/receipt")
def receipt(page: Referrer, case_id: uuid.UUID) -> Response:
    case = get_case(page.ctx, page.principal, case_id)
    return page.render(
        "pages/referral/receipt.html",
        case=case,
        in_working_days=lambda kind: counts_working_days(page.ctx.policy, kind, case.is_child),
    )


# --- my organisation's referrals ---------------------------------------------------------------------------


NOTICES = {"discarded": "The draft was deleted, with everything typed into it."}


@router.get("/referrals")
def my_referrals(
    page: Referrer, reference: str | None = None, cursor: str | None = None, status: str | None = None
) -> Response:
    errors = FormErrors()
    found = None
    searched = (reference or "").strip()
    try:
        found = list_cases(
            page.ctx,
            page.principal,
            organisation_id=page.principal.organisation_id,
            reference=searched or None,
            cursor=cursor or None,
            limit=25,
        )
    except InvalidInput as problem:
        field = problem.errors[0].loc[0] if problem.errors else "reference"
        if field == "reference":
            errors.add("reference", page.gettext("A reference looks like MNR-2027-00042"))
        found = list_cases(page.ctx, page.principal, organisation_id=page.principal.organisation_id, limit=25)
    drafts = referral_drafts.list_mine(page.ctx, page.principal)
    notice = NOTICES.get(status or "")
    return page.render(
        "pages/referral/list.html",
        cases=found.items,
        next_cursor=found.next_cursor,
        reference=searched,
        drafts=drafts,
        total=len(rf.SLUGS),
        states=STATES,
        deadline_names=DEADLINES,
        in_working_days=lambda kind, is_child: counts_working_days(page.ctx.policy, kind, is_child),
        errors=errors,
        notice=page.gettext(notice) if notice else None,
        status_code=422 if errors else 200,
    )


# --- the steps (declared last: `{slug}` would otherwise catch check, notification and discard) ------------


@router.get(DRAFTS + "/{draft_id}/{slug}")
def show_step(page: Referrer, draft_id: uuid.UUID, slug: str, change: str | None = None) -> Response:
    if slug not in rf.STEP_BY_SLUG:
        raise NotFound("no such step")
    draft = referral_drafts.get(page.ctx, page.principal, draft_id)
    return _render_step(page, draft, slug, draft.answers, FormErrors(), from_check=change == CHECK)


@router.post(DRAFTS + "/{draft_id}/{slug}")
async def save_step(page: Referrer, request: Request, draft_id: uuid.UUID, slug: str) -> Response:
    form = await request.form()
    single = {key: value for key, value in form.items() if isinstance(value, str)}
    multiple = {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}
    return await run_in_threadpool(_save_step, page, draft_id, slug, rf.Form(single, multiple))
