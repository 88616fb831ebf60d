"""Two national coordinators in a browser, each on their own instance (tests/transfers/live.py: two servers on
loopback, their own databases and key files, registered with each other): A's coordinator sends a case from
A's pages in French at 360 px, the worker delivers it over HTTP, B's coordinator reads it for a stated purpose
and accepts it on B's pages in English, and B's receipt closes the case on A's page. Every page is checked
with axe-core and at 360 px, and pictured (`make screenshots` writes the pictures to docs/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app.services import cases, scheduler, transfers
from tests.e2e.support import DESKTOP, NARROW, Screenshots, assert_accessible, assert_no_horizontal_scroll, watch
from tests.factories import PASSWORD
from tests.transfers.helpers import SECRET_NAME, adult_in_recovery, attach
from tests.transfers.live import Side, two_live_instances

pytestmark = pytest.mark.slow


@pytest.fixture
def sides(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    with two_live_instances(sqlite_template, tmp_path) as (a, b):
        a.server.start()
        b.server.start()
        yield a, b


@pytest.fixture
def open_at(browser: Browser) -> Iterator[Callable[[Side, str], Page]]:
    """A fresh browser page on one instance (its public URL), failing the test on a CSP violation, a script
    error or a request to any other origin."""
    contexts = []
    problems: list[str] = []

    def open_(side: Side, locale: str) -> Page:
        context = browser.new_context(locale=locale, viewport={"width": NARROW, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        watch(page, (side.instance.url,), problems)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert not problems, problems


def _sign_in(page: Page, side: Side, username: str) -> None:
    page.goto(side.instance.url + "/")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("button[type=submit].button--primary").click()
    expect(page).to_have_url(side.instance.url + "/my-work")


def _check(page: Page, screenshots: Screenshots, name: str, *, desktop: bool = False) -> None:
    """axe-core, 360 px, and the pictures."""
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    screenshots.take(page, f"{name}-360", width=NARROW)
    if desktop:
        screenshots.take(page, f"{name}-desktop", width=DESKTOP)


def test_a_coordinator_sends_a_case_from_a_and_another_accepts_it_on_b(
    sides: tuple[Side, Side], open_at: Callable[[Side, str], Page], screenshots: Screenshots
) -> None:
    a, b = sides
    clock = a.instance.ctx.clock
    case_id = adult_in_recovery(a.instance)
    attach(a.instance, case_id, "statement (fictional)")

    # A's coordinator, in French, on a phone.
    page_a = open_at(a, "fr-FR")
    _sign_in(page_a, a, "coordinator-a")
    expect(page_a.locator(".site-nav__link", has_text="Transferts")).to_be_visible()
    page_a.goto(f"{a.instance.url}/cases/{case_id}/transfer")
    _check(page_a, screenshots, "transfer-send-fr", desktop=True)
    page_a.get_by_role("button", name="Continuer").click()
    expect(page_a.locator(".error-summary")).to_be_visible()
    _check(page_a, screenshots, "transfer-errors-fr")
    page_a.locator("#peer").check()
    page_a.locator("#reason").check()
    page_a.locator("#consent_how-2").check()  # orally
    given = clock.now() - timedelta(days=2)
    page_a.locator("#consent_date").fill(str(given.day))
    page_a.locator("#consent_date-month").fill(str(given.month))
    page_a.locator("#consent_date-year").fill(str(given.year))
    page_a.locator("#consent_time").fill("10:15")
    page_a.locator("#documents").check()
    page_a.get_by_role("button", name="Continuer").click()
    expect(page_a.locator("h1")).to_have_text("Vérifiez le transfert avant de l’envoyer")
    expect(page_a.locator(".summary-list")).to_contain_text("Oralement")
    _check(page_a, screenshots, "transfer-check-fr", desktop=True)
    page_a.get_by_role("button", name="Envoyer la situation").click()
    expect(page_a.locator(".panel__title")).to_have_text("Transfert demandé")
    _check(page_a, screenshots, "transfer-sent-fr")

    # A's worker delivers over HTTP to B's inbox.
    assert scheduler.run_pass(a.instance.ctx).delivered == 1

    # B's coordinator, in English: the inbox, the package without personal data, the purpose, the content.
    page_b = open_at(b, "en-GB")
    _sign_in(page_b, b, "coordinator-b")
    page_b.get_by_role("link", name="Transfers").click()
    _check(page_b, screenshots, "transfer-inbox-en", desktop=True)
    page_b.locator(".work-list__title").first.click()
    expect(page_b.locator("h1")).to_have_text("A case from another country's mechanism")
    expect(page_b.locator("main")).not_to_contain_text(SECRET_NAME)
    _check(page_b, screenshots, "transfer-received-en")
    received_url = page_b.url
    page_b.get_by_role("link", name="Refuse the package").click()
    _check(page_b, screenshots, "transfer-refuse-en")
    page_b.goto(received_url)
    page_b.locator("#purpose").check()
    page_b.get_by_role("button", name="Open the package").click()
    expect(page_b.locator("main")).to_contain_text(SECRET_NAME)
    _check(page_b, screenshots, "transfer-package-en", desktop=True)
    page_b.get_by_role("button", name="Accept the case").click()
    expect(page_b.locator(".panel__title")).to_have_text("Case accepted")
    [received] = transfers.list_transfers(b.instance.ctx)
    assert received.case_id is not None
    reference = cases.get_case(b.instance.ctx, b.instance.coordinator, received.case_id).reference
    expect(page_b.locator(".panel__reference")).to_have_text(reference)
    _check(page_b, screenshots, "transfer-accepted-en")

    # B's worker sends the signed receipt; A's page shows the case accepted there, with B's reference.
    assert scheduler.run_pass(b.instance.ctx).delivered == 1
    page_a.goto(f"{a.instance.url}/cases/{case_id}/transfer")
    expect(page_a.locator("#outbox")).to_contain_text("Accepté")
    expect(page_a.locator("#outbox")).to_contain_text(reference)
    _check(page_a, screenshots, "transfer-outbox-fr")
    assert cases.get_case(a.instance.ctx, a.instance.coordinator, case_id).close_reason == "transferred"
