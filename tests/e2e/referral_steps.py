"""Filling the guided referral in a real browser, by labels as a person reads them (shared by the journeys and
the screenshots)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page

from tests.e2e.support import assert_accessible, assert_no_horizontal_scroll

WORDS = {
    "fr": {
        "start": "Commencer une orientation",
        "continue": "Enregistrer et continuer",
        "send": "Envoyer l’orientation",
        "no": "Non",
        "yes": "Oui",
    },
    "en": {
        "start": "Start a referral",
        "continue": "Save and continue",
        "send": "Send the referral",
        "no": "No",
        "yes": "Yes",
    },
}
Check = Callable[[Page, str], None]


def checked(page: Page, name: str) -> None:
    """Every page of a journey: no axe-core violation, nothing sideways at 360 px, nothing personal in the
    title or the address."""
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    assert "Zorabelle" not in page.title() and "Zorabelle" not in page.url


def continue_(page: Page, language: str) -> None:
    page.get_by_role("button", name=WORDS[language]["continue"]).click()


def non_identifying_steps(page: Page, language: str, age: str, check: Check = checked) -> None:
    """Steps 1 to 3: age, the person, the forms of exploitation."""
    fr = language == "fr"
    check(page, "age")
    page.get_by_label(age, exact=True).check()
    page.locator("#age_disputed-2").check()  # no doubt about the age
    continue_(page, language)
    check(page, "person")
    page.get_by_label("Femme ou fille" if fr else "Woman or girl").check()
    page.get_by_label("Nationalité" if fr else "Nationality").select_option("NG")
    page.get_by_label("Où avez-vous rencontré la personne ?" if fr else "Where did you meet the person?").select_option(
        "FR-93"
    )
    continue_(page, language)
    check(page, "exploitation")
    page.get_by_label("Exploitation sexuelle" if fr else "Sexual exploitation").check()
    page.get_by_label("Sur le territoire national" if fr else "Within the country").check()
    continue_(page, language)


def identifying_steps(page: Page, language: str, name: str, check: Check = checked) -> None:
    """Steps 5 to 9: identity, account, circumstances, indicators, needs."""
    fr = language == "fr"
    check(page, "identity")
    page.get_by_label("Nom donné par la personne" if fr else "Name the person gave").fill(name)
    continue_(page, language)
    check(page, "account")
    page.get_by_label("Ce qui s’est passé" if fr else "What happened", exact=True).fill(
        "Récit fictif : promesse d’emploi, travail sans salaire." if fr else "Fictional account: a promised job."
    )
    continue_(page, language)
    check(page, "circumstances")
    continue_(page, language)
    check(page, "indicators")
    page.locator("input[name=indicators]").first.check()
    continue_(page, language)
    check(page, "needs")
    page.locator("#shelter_needed").check()
    page.locator("#support_wanted").check()
    continue_(page, language)
