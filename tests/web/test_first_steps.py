"""First steps for anyone, without signing in: a first responder finds what to do for a child found begging and
whom to call, in French and in English; the sign-in page and the referral form lead there; nothing of a place of
safety is published."""

from __future__ import annotations

import re

from app.services.context import ServiceContext
from tests.web.helpers import WebClient, create_account
from tests.web.referral_helpers import start_draft


def _headings(html: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", html, re.S)]


def test_a_school_worker_finds_what_to_do_for_a_child_found_begging_and_whom_to_call(web: WebClient) -> None:
    sign_in = web.get("/")
    assert 'href="/first-steps"' in sign_in.text
    general = web.get("/first-steps")
    assert general.status_code == 200 and "Se connecter" in general.text  # public: a sign-in link, no redirect
    # No sector chosen: the public's section; no age known: a child's steps (presumed a child).
    assert "Si la personne a ou pourrait avoir moins de 18 ans" in _headings(general.text)
    assert "Mendicité forcée" not in _headings(general.text)

    page = web.get("/first-steps?audience=school&person=child&form=forced_begging")
    assert page.status_code == 200
    headings = _headings(page.text)
    begging = headings.index("Mendicité forcée")
    assert begging < headings.index("Qui contacter")
    # What to do now, for this form, and the numbers to call: 119 for a child, 17 and 112 in danger.
    assert "Pour un enfant : appelez le 119" in page.text
    assert 'href="tel:119"' in page.text and 'href="tel:17"' in page.text and 'href="tel:112"' in page.text
    assert "Cellule de recueil des informations préoccupantes (CRIP) du département" in page.text
    # The choices come back checked, so the reader can change one.
    assert re.search(r'value="forced_begging"\s+checked', page.text)
    assert re.search(r'<option value="school" selected', page.text)
    # Never an address, never a number that is not in the routing table.
    assert "rue " not in page.text.lower()

    english = web.get("/first-steps?audience=school&person=child&form=forced_begging", {"Accept-Language": "en"})
    assert '<html lang="en">' in english.text
    assert "Forced begging" in _headings(english.text) and "Whom to contact" in _headings(english.text)
    assert "For a child: call 119" in english.text


def test_an_adult_gets_the_adults_steps_and_an_unknown_code_is_ignored(web: WebClient) -> None:
    page = web.get("/first-steps?audience=nowhere&person=adult&form=not_a_form&region=XX-00")
    assert page.status_code == 200
    assert re.search(r'value="adult"\s+checked', page.text)
    assert not re.search(r'value="child"\s+checked', page.text)
    assert re.search(r'<option value="public" selected', page.text)


def test_the_referral_form_links_to_the_first_steps(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "referrer1", ["referrer"], sector="education")
    web.sign_in("referrer1")
    draft = start_draft(web)
    assert 'href="/first-steps"' in web.get(f"{draft}/age").text
    # Signed in, the reader's own sector comes first, and the page offers to start a referral.
    page = web.get("/first-steps")
    assert re.search(r'<option value="school" selected', page.text)
    assert 'href="/referrals"' in page.text
