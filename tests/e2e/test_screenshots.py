"""Pictures of the main pages, in French and English, at 360 px and on a desktop.

Run in every `make test` (into a temporary folder, so the pages keep rendering as pictured); `make screenshots`
writes them to docs/screenshots/ for the README. Page authors add their pages here.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.security.permissions import Principal
from app.services import accounts, alerts, assessments, cases, demo, support
from app.services.accounts import UserView
from app.services.assessments import AssessedNeed, AssessmentInput
from app.services.context import ServiceContext
from app.workflow import State
from app.workflow.needs import AssessmentScope
from app.workflow.states import NeedKind
from app.workflow.support import Urgency
from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.support import (
    DESKTOP,
    NARROW,
    Screenshots,
    assert_accessible,
    assert_no_horizontal_scroll,
)
from tests.factories import event, refer
from tests.support_cases import identify, support_cast
from tests.web.audit_helpers import season_of_deadlines
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
    # The queue's lists, each a page of its own (issue 16): accessible, and readable at 360 px.
    for path, name in (
        ("/queue/overdue", "overdue"),
        ("/queue/to-close", "to-close"),
        ("/queue?state=referred", "state"),
    ):
        page.goto(live_server.at(path))
        assert_accessible(page)
        screenshots.take(page, f"queue-{name}-{language}-360", width=NARROW)
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


def _sign_in(page: Page, live_server: LiveServer, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(live_server.at("/"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("button[type=submit].button--primary").click()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_an_inspector_reads_compliance_breaches_statistics_and_checks_the_chain(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots, language: str
) -> None:
    """The issue's inspection: this year's compliance by kind with its charts, the CSV, the breach list and its
    CSV, the statistics, the audit log and the chain check; axe-core on every page, 360 px without sideways
    scrolling, and the printed report without menus or forms."""
    season_of_deadlines(live_server.ctx, live_server.clock)
    create_account(live_server.ctx, "inspector", ["auditor"], "Inspection (fictive)", "coordination")
    words = AUDIT_WORDS[language]
    page = open_page(locale=LOCALES[language])
    _sign_in(page, live_server, "inspector")
    page.get_by_role("link", name=words["compliance"]).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["compliance_title"])
    expect(page.locator("svg.chart__image")).to_have_count(3)
    expect(page.get_by_role("img", name=words["trend_chart"])).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    for width, label in ((DESKTOP, "desktop"), (NARROW, "360")):
        screenshots.take(page, f"audit-compliance-{language}-{label}", width=width)
    with page.expect_download() as download:
        page.get_by_role("link", name=words["download_view"]).click()
    lines = download.value.path().read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("group,label,total,met_on_time,met_late,open_overdue")
    assert any(line.startswith("preliminary_decision,") and ",6,2,2,2," in line for line in lines)

    page.get_by_label(words["group_by"]).select_option("sector")
    page.get_by_role("button", name=words["show"]).click()
    expect(page).to_have_url(re.compile(r"group_by=sector"))
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name=words["show"])).to_be_hidden()
    expect(page.locator("svg.chart__image").first).to_be_visible()
    page.emulate_media(media="screen")

    page.get_by_role("link", name=words["breaches"]).first.click()
    page.get_by_label(words["kind"]).select_option("preliminary_decision")
    page.get_by_role("button", name=words["filter"]).click()
    expect(page.locator("tbody tr")).to_have_count(4)
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, f"audit-breaches-{language}-desktop", width=DESKTOP)
    with page.expect_download() as download:
        page.get_by_role("link", name=words["download_list"]).click()
    assert len(download.value.path().read_text(encoding="utf-8").splitlines()) == 5

    page.get_by_role("link", name=words["statistics"]).first.click()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, f"audit-statistics-{language}-360", width=NARROW)

    page.get_by_role("link", name=words["log"]).click()
    expect(page.get_by_text("alert.raised").or_(page.get_by_text("auth.login")).first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=words["chain"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["chain_whole"])
    head = page.locator("#head").inner_text()
    page.get_by_label(words["expected"]).fill(head)
    page.get_by_role("button", name=words["check_again"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["chain_whole"])
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, f"audit-chain-{language}-360", width=NARROW)


AUDIT_WORDS = {
    "fr": {
        "compliance": "Respect des délais",
        "compliance_title": "Respect des délais",
        "trend_chart": "Taux de respect par mois",
        "download_view": "Télécharger cette vue (CSV)",
        "group_by": "Regrouper par",
        "show": "Afficher",
        "breaches": "Manquements",
        "kind": "Type de délai",
        "filter": "Filtrer",
        "download_list": "Télécharger toute la liste (CSV)",
        "statistics": "Statistiques",
        "log": "Journal d'audit",
        "chain": "Contrôle de la chaîne",
        "chain_whole": "La chaîne est intacte",
        "expected": "Une tête de chaîne copiée auparavant (facultatif)",
        "check_again": "Contrôler à nouveau",
    },
    "en": {
        "compliance": "Compliance",
        "compliance_title": "Deadline compliance",
        "trend_chart": "Compliance rate by month",
        "download_view": "Download this view (CSV)",
        "group_by": "Group by",
        "show": "Show",
        "breaches": "Breaches",
        "kind": "Kind of deadline",
        "filter": "Filter",
        "download_list": "Download the whole list (CSV)",
        "statistics": "Statistics",
        "log": "Audit log",
        "chain": "Chain check",
        "chain_whole": "The chain is whole",
        "expected": "A head copied earlier (optional)",
        "check_again": "Check again",
    },
}


def test_an_administrator_sets_up_an_account_and_its_owner_is_reminded(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots
) -> None:
    """In English at 360 px and on a desktop: an organisation added, an account created with an alert address and
    a temporary password, the key status; then the new assessor, forced to choose a password at first sign-in,
    lands on "my work" with a deadline alert. axe-core on every page."""
    season_of_deadlines(live_server.ctx, live_server.clock)
    create_account(live_server.ctx, "admin", ["admin"], "Operations (fictive)", "coordination")
    page = open_page(locale="en-GB")
    _sign_in(page, live_server, "admin")
    page.get_by_role("link", name="Organisations").first.click()
    page.get_by_label("Name").fill("Shelter Fictive North")
    page.get_by_label("Sector").select_option("social_services")
    page.get_by_role("button", name="Add the organisation").click()
    expect(page.get_by_role("cell", name="Shelter Fictive North", exact=True)).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "admin-organisations-en-desktop", width=DESKTOP)

    page.get_by_role("link", name="Accounts").first.click()
    page.get_by_role("link", name="Create an account").click()
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the error summary
    assert_accessible(page)
    screenshots.take(page, "admin-account-errors-en-360", width=NARROW)
    page.get_by_label("Username").fill("assessor2")
    page.get_by_label("Organisation").select_option(label="Association Fictive Deux")
    page.get_by_label("Assessor").check()
    page.get_by_label("E-mail for deadline alerts (optional)").fill("assessor2@example.org")
    page.get_by_label("Temporary password").fill("a temporary passphrase 42")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Account assessor2")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, "admin-account-en-360", width=NARROW)

    page.get_by_role("link", name="Keys").first.click()
    expect(page.get_by_text(live_server.ctx.keyring.active_kek_id).first).to_be_visible()
    assert_accessible(page)
    screenshots.take(page, "admin-keys-en-desktop", width=DESKTOP)
    page.get_by_role("button", name="Sign out").click()

    # A case for the new assessor, due in two working days: the worker's pass raises the reminder.
    coordinator = next(u for u in accounts.list_users(live_server.ctx) if u.username == "coordinator")
    assessor2 = next(u for u in accounts.list_users(live_server.ctx) if u.username == "assessor2")
    referrer = next(u for u in accounts.list_users(live_server.ctx) if u.username == "referrer")
    case_id = refer(live_server.ctx, principal_from_view(live_server.ctx, referrer))
    event(
        live_server.ctx,
        principal_from_view(live_server.ctx, coordinator),
        case_id,
        "assign_assessor",
        assessor_id=str(assessor2.id),
    )
    live_server.clock.advance(timedelta(days=5))
    assert alerts.run(live_server.ctx, None).raised >= 1

    _sign_in(page, live_server, "assessor2", "a temporary passphrase 42")
    expect(page).to_have_url(live_server.at("/account/password"))
    assert_accessible(page)
    page.get_by_label("Temporary password").fill("a temporary passphrase 42")
    page.get_by_label("New password", exact=True).fill("my very own passphrase")
    page.get_by_label("New password again").fill("my very own passphrase")
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("heading", name="Deadline alerts")).to_be_visible()
    expect(page.get_by_text("Reminder")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, "my-work-alerts-en-360", width=NARROW)


def principal_from_view(ctx: ServiceContext, user: UserView) -> Principal:
    sector = next(o.sector for o in accounts.list_organisations(ctx) if o.id == user.organisation_id)
    return Principal.of(user.id, user.organisation_id, sector, user.roles)
