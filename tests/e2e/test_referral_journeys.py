"""The journeys in a real browser: in French an adult and a child are referred, and the adult's case goes through
assessment, a panel and its votes to formal identification; in English consent
is refused and an anonymous notification is filed instead; a referral completed with the keyboard alone.
Every page passes axe-core and does not scroll sideways at 360 px."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.case_steps import create_case_workers, identify
from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.referral_steps import WORDS, checked, continue_, identifying_steps, non_identifying_steps
from tests.e2e.support import assert_focus_visible
from tests.web.helpers import TEST_PASSWORD, create_account


def _sign_in(page: Page, live_server: LiveServer, username: str, language: str = "fr") -> None:
    page.goto(live_server.at("/"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("button[type=submit].button--primary").click()
    expect(page).to_have_url(live_server.at("/my-work"))


def test_in_french_an_adult_and_a_child_are_referred_and_the_adult_is_identified(
    open_page: OpenPage, live_server: LiveServer
) -> None:
    """The referrer refers an adult and a child; then the coordinator assigns, the assessor decides, the
    coordinator convenes a panel (composition check), the members vote, the clock moves past the reflection
    period and the formal decision identifies the person (`tests/e2e/case_steps.py`)."""
    create_account(live_server.ctx, "referente", ["referrer"], "Association Fictive du Nord", "ngo")
    create_case_workers(live_server)
    page = open_page(locale="fr-FR", width=360)
    _sign_in(page, live_server, "referente")
    checked(page, "my-work")

    page.get_by_role("button", name=WORDS["fr"]["start"]).click()
    expect(page.get_by_text("Étape 1 sur 9")).to_be_visible()
    non_identifying_steps(page, "fr", "25 à 34 ans")
    checked(page, "consent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("La personne accepte-t-elle d’être orientée")
    page.get_by_label("Oui, elle a donné son consentement éclairé").check()
    continue_(page, "fr")
    identifying_steps(page, "fr", "Zorabelle Quintavox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez vos réponses avant d’envoyer l’orientation")
    checked(page, "check")
    expect(page.get_by_text("Zorabelle Quintavox")).to_be_visible()
    page.get_by_role("button", name=WORDS["fr"]["send"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Orientation envoyée")
    checked(page, "receipt")
    adult_reference = page.locator(".panel__reference").inner_text()
    adult_case = live_server.at(page.get_by_role("link", name="Ouvrir la situation").get_attribute("href") or "")
    assert re.fullmatch(r"MNR-\d{4}-\d{5}", adult_reference)
    expect(page.get_by_text("Zorabelle")).to_have_count(0)

    # The child: the consent step says why no consent is asked.
    page.goto(live_server.at("/referrals"))
    checked(page, "referrals")
    expect(page.get_by_text(adult_reference)).to_be_visible()
    page.get_by_role("button", name=WORDS["fr"]["start"]).click()
    non_identifying_steps(page, "fr", "15 à 17 ans")
    expect(page.get_by_role("heading", level=1)).to_have_text("Un enfant est protégé sans consentement")
    checked(page, "child-protection")
    expect(page.get_by_text("consentement éclairé")).to_have_count(0)
    page.get_by_label("Oui, aucun parent ni titulaire de l’autorité parentale n’est avec lui").check()
    continue_(page, "fr")
    identifying_steps(page, "fr", "Quillon Fictivo")
    page.get_by_role("button", name=WORDS["fr"]["send"]).click()
    expect(page.get_by_text("La personne étant présumée mineure")).to_be_visible()
    child_reference = page.locator(".panel__reference").inner_text()
    assert child_reference != adult_reference
    page.goto(live_server.at("/referrals"))
    expect(page.get_by_text(child_reference)).to_be_visible()
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0

    identify(page, live_server, adult_case)


def test_in_english_consent_is_refused_and_an_anonymous_notification_is_filed(
    open_page: OpenPage, live_server: LiveServer
) -> None:
    create_account(live_server.ctx, "referrer-uk", ["referrer"], "Fictional Outreach Charity", "ngo")
    page = open_page(locale="en-GB")
    _sign_in(page, live_server, "referrer-uk")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name=WORDS["en"]["start"]).click()
    non_identifying_steps(page, "en", "25 to 34")
    page.get_by_label("No, they do not agree").check()
    continue_(page, "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Count the person with an anonymous notification")
    checked(page, "notification")
    expect(page.get_by_text("Nigeria")).to_be_visible()
    expect(page.get_by_text("Sexual exploitation")).to_be_visible()
    page.get_by_role("button", name="Send the anonymous notification").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anonymous notification sent")
    checked(page, "notification-filed")
    page.goto(live_server.at("/referrals"))
    expect(page.get_by_text("Your organisation has not referred anyone yet.")).to_be_visible()


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    target = page.locator(selector)
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            assert_focus_visible(page)
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_referral_can_be_completed_with_the_keyboard_alone(open_page: OpenPage, live_server: LiveServer) -> None:
    create_account(live_server.ctx, "clavier", ["referrer"], "Association Fictive du Sud", "ngo")
    page = open_page(locale="fr-FR", width=360)
    _sign_in(page, live_server, "clavier")
    _tab_to(page, "button.button--primary")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Étape 1 sur 9")).to_be_visible()

    def step(actions: list[tuple[str, str]]) -> None:
        for selector, keys in actions:
            _tab_to(page, selector)
            for key in keys.split():
                page.keyboard.press(key)
        _tab_to(page, "button.button--primary")
        page.keyboard.press("Enter")

    step([("#age_band", "ArrowDown ArrowDown ArrowDown ArrowDown"), ("#age_disputed", "ArrowRight")])
    expect(page.get_by_text("Étape 2 sur 9")).to_be_visible()
    step([("#gender", "Space"), ("#nationality", "ArrowDown"), ("#region", "ArrowDown")])
    step([("#forms", "Space")])
    expect(page.get_by_text("Étape 4 sur 9")).to_be_visible()
    step([("#consent", "Space")])
    _tab_to(page, "#full_name")
    page.keyboard.type("Zorabelle Quintavox")
    _tab_to(page, "button.button--primary")
    page.keyboard.press("Enter")
    _tab_to(page, "#what_happened")
    page.keyboard.type("Récit fictif tapé au clavier.")
    _tab_to(page, "button.button--primary")
    page.keyboard.press("Enter")
    step([])  # circumstances: all optional
    step([])  # indicators: none ticked
    step([("#shelter_needed", "Space"), ("#support_wanted", "Space")])
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifiez vos réponses avant d’envoyer l’orientation")
    _tab_to(page, "button.button--primary", limit=120)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Orientation envoyée")
