"""Signing in and out in a real browser, in French and in English, with the keyboard alone, and at 360 px."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.support import assert_accessible, assert_focus_visible, assert_no_horizontal_scroll
from tests.web.helpers import TEST_PASSWORD, create_account


def test_sign_in_and_out_in_french(page: Page, live_server: LiveServer) -> None:
    create_account(live_server.ctx, "referrer1", ["referrer"])
    page.goto(live_server.at("/"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_title("Se connecter – Mécanisme national de référence")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    page.get_by_label("Identifiant").fill("referrer1")
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(live_server.at("/my-work"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon travail")
    expect(page.get_by_text("Bonjour, referrer1.")).to_be_visible()
    expect(page.get_by_role("link", name="Mon travail")).to_have_attribute("aria-current", "page")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    assert "referrer1" not in page.url and "referrer1" not in page.title()
    assert page.evaluate("() => localStorage.length + sessionStorage.length + document.cookie.length") == 0
    page.emulate_media(media="print")  # printed: the content, without menus, switches or buttons
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_hidden()
    expect(page.get_by_role("button", name="EN – English")).to_be_hidden()
    page.emulate_media(media="screen")

    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(live_server.at("/?status=signed-out"))
    expect(page.get_by_text("Votre session est fermée.")).to_be_visible()
    assert_accessible(page)
    page.goto(live_server.at("/my-work"))
    expect(page).to_have_url(live_server.at("/"))


def test_sign_in_and_out_in_english_after_the_switch(page: Page, live_server: LiveServer) -> None:
    create_account(live_server.ctx, "assessor1", ["assessor"])
    page.goto(live_server.at("/"))
    page.get_by_role("button", name="EN – English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title("Sign in – National referral mechanism")
    assert_accessible(page)

    page.get_by_label("Username").fill("assessor1")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My work")
    expect(page.get_by_text("Hello, assessor1.")).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.get_by_role("button", name="FR – Français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(live_server.at("/"))


def test_an_idle_session_ends_on_the_moved_clock(page: Page, live_server: LiveServer) -> None:
    create_account(live_server.ctx, "caseworker1", ["caseworker"])
    page.goto(live_server.at("/"))
    page.get_by_label("Identifiant").fill("caseworker1")
    page.get_by_label("Mot de passe").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon travail")
    live_server.clock.advance(timedelta(minutes=31))
    page.reload()
    expect(page).to_have_url(live_server.at("/?status=session-ended"))
    expect(page.get_by_text("Votre session a pris fin. Connectez-vous de nouveau pour continuer.")).to_be_visible()


def test_sign_in_errors_are_announced_and_lead_to_their_field(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.at("/"))
    page.get_by_role("button", name="Se connecter").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Il y a un problème")
    expect(summary).to_be_focused()
    expect(page).to_have_title("Erreur\u00a0: Se connecter – Mécanisme national de référence")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)
    summary.get_by_role("link", name="Saisissez votre mot de passe").click()
    expect(page.get_by_label("Mot de passe")).to_be_focused()


def test_sign_in_and_out_with_the_keyboard_alone(open_page: OpenPage, live_server: LiveServer) -> None:
    create_account(live_server.ctx, "panel1", ["panel_member"])
    page = open_page(width=360)
    page.goto(live_server.at("/"))
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu principal")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Identifiant")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.type("panel1")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Mot de passe")).to_be_focused()
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Se connecter")).to_be_focused()
    assert_focus_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon travail")

    sign_out = page.get_by_role("button", name="Se déconnecter")
    for _ in range(10):
        page.keyboard.press("Tab")
        assert_focus_visible(page)
        if sign_out.evaluate("element => element === document.activeElement"):
            break
    expect(sign_out).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Votre session est fermée.")).to_be_visible()
