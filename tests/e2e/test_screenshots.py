"""Pictures of the main pages, in French and English, at 360 px and on a desktop.

Run in every `make test` (into a temporary folder, so the pages keep rendering as pictured); `make screenshots`
writes them to docs/screenshots/ for the README. Page authors add their pages here.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import assessments, cases, demo, support
from app.services.assessments import AssessedNeed, AssessmentInput
from app.workflow import State
from app.workflow.needs import AssessmentScope
from app.workflow.states import NeedKind
from app.workflow.support import Urgency
from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.support import DESKTOP, NARROW, Screenshots, assert_accessible
from tests.support_cases import identify, support_cast
from tests.web.helpers import TEST_PASSWORD, create_account, principal_named

LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pictures_of_the_main_pages(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots, language: str
) -> None:
    create_account(live_server.ctx, "coordinator", ["coordinator"], "Secrétariat du MNR (fictif)", "coordination")
    page = open_page(locale=LOCALES[language])
    page.goto(live_server.at("/"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    for width, label in ((DESKTOP, "desktop"), (NARROW, "360")):
        screenshots.take(page, f"sign-in-{language}-{label}", width=width)

    page.locator("button[type=submit].button--primary").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshots.take(page, f"sign-in-errors-{language}-360", width=NARROW)

    page.locator("#username").fill("coordinator")
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("button[type=submit].button--primary").click()
    expect(page).to_have_url(live_server.at("/my-work"))
    for width, label in ((DESKTOP, "desktop"), (NARROW, "360")):
        screenshots.take(page, f"my-work-{language}-{label}", width=width)

    page.goto(live_server.at("/no-such-page"))
    screenshots.take(page, f"not-found-{language}-360", width=NARROW)
    # The folder may hold other pages' pictures too (`make screenshots` writes every test's into docs/screenshots).
    taken = {"sign-in-{}-desktop", "sign-in-{}-360", "sign-in-errors-{}-360", "my-work-{}-desktop", "my-work-{}-360"}
    for name in (*taken, "not-found-{}-360"):
        assert (screenshots.directory / f"{name.format(language)}.png").is_file(), name


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pictures_of_the_case_work_pages(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots, language: str
) -> None:
    """The demo's cases (`nrm demo seed`): the queue, a case page, the panel's composition check, the case file,
    a vote."""
    passwords = {a.username: a.password for a in demo.seed(live_server.ctx, None)}
    page = open_page(locale=LOCALES[language])

    def sign_in(username: str) -> None:
        page.goto(live_server.at("/"))
        page.locator("#username").fill(username)
        page.locator("#password").fill(passwords[username])
        page.locator("button[type=submit].button--primary").click()
        expect(page).to_have_url(live_server.at("/my-work"))

    sign_in("coordinator")
    page.goto(live_server.at("/queue"))
    screenshots.take(page, f"queue-{language}-desktop", width=DESKTOP)
    reflection = cases.list_cases(
        live_server.ctx, principal_named(live_server.ctx, "coordinator"), state=State.recovery_period
    ).items[0]
    page.goto(live_server.at(f"/cases/{reflection.id}"))
    for width, label in ((DESKTOP, "desktop"), (NARROW, "360")):
        screenshots.take(page, f"case-{language}-{label}", width=width)
    page.goto(live_server.at(f"/cases/{reflection.id}/steps/convene_panel"))
    page.locator("input[name=member_ids]").first.check()
    page.locator("button[value=check]").click()
    expect(page.locator(".rule-checks")).to_be_visible()
    screenshots.take(page, f"convene-panel-{language}-desktop", width=DESKTOP)

    page.locator(".site-nav__sign-out").click()
    sign_in("panel-social")
    voting = cases.list_cases(
        live_server.ctx, principal_named(live_server.ctx, "coordinator"), state=State.formal_assessment
    ).items[0]
    page.goto(live_server.at(f"/cases/{voting.id}/file"))
    screenshots.take(page, f"case-file-{language}-desktop", width=DESKTOP)
    page.goto(live_server.at(f"/cases/{voting.id}/steps/cast_vote"))
    screenshots.take(page, f"vote-{language}-360", width=NARROW)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pictures_of_the_support_pages(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots, language: str
) -> None:
    """First steps (public), then a caseworker's and a coordinator's support pages of an identified case;
    axe-core checks each page pictured that the browser journeys (test_support_pages.py) do not."""
    ctx, clock = live_server.ctx, live_server.clock
    page = open_page(locale=LOCALES[language])
    page.goto(live_server.at("/first-steps?audience=school&person=child&form=forced_begging"))
    for width, label in ((DESKTOP, "desktop"), (NARROW, "360")):
        screenshots.take(page, f"first-steps-{language}-{label}", width=width)

    cast = support_cast(ctx)
    case_id = identify(ctx, clock, cast)
    shelter = support.create_provider(ctx, cast.coordinator, "Foyer Fictif", "shelter", "1 test way", None)
    support.create_provider(ctx, cast.coordinator, "Cabinet Fictif", "lawyer", "2 test way", None)
    needs = (
        AssessedNeed(NeedKind.shelter, Urgency.immediate),
        AssessedNeed(NeedKind.medical, Urgency.immediate),
        AssessedNeed(NeedKind.housing, Urgency.long_term),
    )
    assessments.record_assessment(ctx, cast.caseworker, case_id, AssessmentInput(AssessmentScope.partial, needs=needs))
    first = support.list_needs(ctx, cast.caseworker, case_id)
    need = next(n for n in first if n.kind is NeedKind.shelter)
    support.refer_to_service(ctx, cast.caseworker, case_id, need.id, shelter.id)
    for name in ("caseworker", "coordinator"):
        page.goto(live_server.at("/"))
        page.locator("#username").fill(name)
        page.locator("#password").fill(TEST_PASSWORD)
        page.locator("button[type=submit].button--primary").click()
        expect(page).to_have_url(live_server.at("/my-work"))
        if name == "caseworker":
            for path, picture in (
                ("needs", "needs"),
                ("needs/assessment", "needs-assessment"),
                ("support-plan", "support-plan"),
                ("justice", "justice"),
                ("interviews", "interviews"),
            ):
                page.goto(live_server.at(f"/cases/{case_id}/{path}"))
                assert_accessible(page)
                screenshots.take(page, f"{picture}-{language}-360", width=NARROW)
        else:
            for path, picture in (
                ("/providers", "providers"),
                (f"/providers/{shelter.id}/contacts", "provider"),
                ("/providers/new", "provider-new"),
                ("/reports/needs", "needs-gaps"),
            ):
                page.goto(live_server.at(path))
                assert_accessible(page)
                screenshots.take(page, f"{picture}-{language}-desktop", width=DESKTOP)
        page.locator("form[action='/sign-out'] button").click()
    assert len(list(screenshots.directory.glob(f"*-{language}-*.png"))) >= 8
