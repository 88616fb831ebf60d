"""Pictures of the referrer's pages, in French and English, at 360 px (every step) and on a desktop (the main
ones). Run in every `make test` into a temporary folder; `make screenshots` writes them to docs/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.referral_steps import WORDS, continue_, identifying_steps, non_identifying_steps
from tests.e2e.support import DESKTOP, NARROW, Screenshots
from tests.web.helpers import TEST_PASSWORD, create_account

LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pictures_of_the_referral_pages(
    open_page: OpenPage, live_server: LiveServer, screenshots: Screenshots, language: str
) -> None:
    create_account(live_server.ctx, "referrer", ["referrer"], "Association Fictive Exemple", "ngo")
    page = open_page(locale=LOCALES[language], width=NARROW)
    page.goto(live_server.at("/"))
    page.locator("#username").fill("referrer")
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("button[type=submit].button--primary").click()
    page.get_by_role("button", name=WORDS[language]["start"]).click()

    def shot(page: Page, name: str) -> None:
        screenshots.take(page, f"referral-{name}-{language}-360", width=NARROW)
        if name in ("age", "consent", "indicators", "check"):
            screenshots.take(page, f"referral-{name}-{language}-desktop", width=DESKTOP)

    # An empty submit first: the error summary.
    continue_(page, language)
    screenshots.take(page, f"referral-errors-{language}-360", width=NARROW)
    non_identifying_steps(page, language, "25 à 34 ans" if language == "fr" else "25 to 34", check=shot)
    shot(page, "consent")
    page.locator("#consent").check()
    continue_(page, language)
    identifying_steps(page, language, "Zorabelle Quintavox", check=shot)
    shot(page, "check")
    page.get_by_role("button", name=WORDS[language]["send"]).click()
    expect(page.locator(".panel__reference")).to_be_visible()
    shot(page, "receipt")
    page.goto(live_server.at("/referrals"))
    screenshots.take(page, f"referrals-{language}-360", width=NARROW)
    screenshots.take(page, f"referrals-{language}-desktop", width=DESKTOP)
    page.goto(live_server.at("/my-work"))
    screenshots.take(page, f"my-work-referrer-{language}-360", width=NARROW)

    # A child's step 4, and the anonymous notification of an adult who does not consent.
    page.get_by_role("button", name=WORDS[language]["start"]).click()
    non_identifying_steps(page, language, "15 à 17 ans" if language == "fr" else "15 to 17", check=lambda p, n: None)
    screenshots.take(page, f"referral-child-{language}-360", width=NARROW)
    page.goto(live_server.at("/referrals"))
    page.get_by_role("button", name=WORDS[language]["start"]).click()
    non_identifying_steps(page, language, "25 à 34 ans" if language == "fr" else "25 to 34", check=lambda p, n: None)
    page.locator("#consent-2").check()
    continue_(page, language)
    screenshots.take(page, f"referral-notification-{language}-360", width=NARROW)
    assert len(list(screenshots.directory.glob(f"referral*-{language}-*.png"))) >= 17
