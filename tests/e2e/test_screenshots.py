"""Pictures of the main pages, in French and English, at 360 px and on a desktop.

Run in every `make test` (into a temporary folder, so the pages keep rendering as pictured); `make screenshots`
writes them to docs/screenshots/ for the README. Page authors add their pages here.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.support import DESKTOP, NARROW, Screenshots
from tests.web.helpers import TEST_PASSWORD, create_account

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
    assert len(list(screenshots.directory.glob(f"*-{language}-*.png"))) == 6
