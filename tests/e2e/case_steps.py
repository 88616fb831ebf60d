"""The case work in a real browser, in French, as each role does it from the case page (shared by the journey):
assign an assessor, decide, convene a panel after the composition check, vote, record the formal decision."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.referral_steps import checked
from tests.web.helpers import TEST_PASSWORD, create_account

PANEL = ("membre-asso", "membre-police", "membre-social")


def create_case_workers(live_server: LiveServer) -> None:
    ctx = live_server.ctx
    create_account(ctx, "coordinatrice", ["coordinator"], "Secrétariat Fictif du MNR", "coordination")
    create_account(ctx, "evaluateur", ["assessor"], "Inspection Fictive du Travail", "labour_inspection")
    create_account(ctx, "membre-asso", ["panel_member"], "Foyer Fictif", "ngo")
    create_account(ctx, "membre-police", ["panel_member"], "Police Fictive", "police")
    create_account(ctx, "membre-social", ["panel_member"], "Services Sociaux Fictifs", "social_services")


def sign_in_as(page: Page, live_server: LiveServer, username: str) -> None:
    """Sign out whoever is signed in, then sign in as `username`."""
    sign_out = page.locator(".site-nav__sign-out")
    if sign_out.count():
        sign_out.click()
    page.goto(live_server.at("/"))
    page.locator("#username").fill(username)
    page.locator("#password").fill(TEST_PASSWORD)
    page.locator("button[type=submit].button--primary").click()
    expect(page).to_have_url(live_server.at("/my-work"))


def take_step(page: Page, case_path: str, button: str) -> None:
    """From the case page, the step's button, then its form page (checked)."""
    page.goto(case_path)
    checked(page, "case")
    page.get_by_role("link", name=button).click()
    checked(page, "step")


def identify(page: Page, live_server: LiveServer, case_path: str) -> None:
    """The adult's case from the queue to the formal decision that identifies the person."""
    sign_in_as(page, live_server, "coordinatrice")
    page.get_by_role("link", name="File d’attente").click()
    checked(page, "queue")
    expect(page.locator(f'a[href="{case_path.removeprefix(live_server.at(""))}"]').first).to_be_visible()
    take_step(page, case_path, "Désigner un évaluateur")
    page.get_by_label("evaluateur").check()
    page.get_by_role("button", name="Désigner un évaluateur").click()
    expect(page.get_by_role("alert")).to_contain_text("C’est fait")

    sign_in_as(page, live_server, "evaluateur")
    page.get_by_role("link", name="Situations assignées").click()
    checked(page, "assigned")
    page.goto(case_path + "/file")
    checked(page, "file")
    expect(page.get_by_text("Exploitation sexuelle", exact=True)).to_be_visible()
    page.goto(case_path + "/identity")
    checked(page, "identity-purpose")
    page.get_by_label("Pour évaluer la situation").check()
    page.get_by_role("button", name="Afficher l’identité").click()
    checked(page, "identity")
    expect(page.get_by_text("Zorabelle Quintavox")).to_be_visible()
    take_step(page, case_path, "Prendre la décision d’identification préliminaire")
    page.get_by_role("button", name="Prendre la décision d’identification préliminaire").click()
    expect(page.locator(".error-summary")).to_be_visible()
    checked(page, "step-errors")
    page.get_by_label("Motifs raisonnables : la personne est présumée victime").check()
    page.get_by_label("Motifs de la décision").fill("Indicateurs forts de contrainte (récit fictif).")
    page.get_by_role("button", name="Prendre la décision d’identification préliminaire").click()
    expect(page.locator(".lead")).to_have_text("Motifs raisonnables : délai de réflexion en cours")

    sign_in_as(page, live_server, "coordinatrice")
    take_step(page, case_path, "Réunir la commission")
    page.get_by_label("membre-police").check()
    page.get_by_label("membre-social").check()
    page.get_by_role("button", name="Vérifier la composition").click()
    checked(page, "composition")
    unmet = page.locator(".rule-checks__item--unmet")
    expect(unmet).to_have_count(3)  # three members, three sectors, an association among them
    expect(unmet.last).to_contain_text("Association")
    page.get_by_label("membre-asso").check()
    page.get_by_role("button", name="Vérifier la composition").click()
    expect(page.locator(".rule-checks__item--unmet")).to_have_count(0)
    page.get_by_role("button", name="Réunir la commission").click()
    expect(page.locator(".lead")).to_have_text("Identification formelle : la commission délibère")

    for voted, member in enumerate(PANEL, start=1):
        sign_in_as(page, live_server, member)
        page.get_by_role("link", name="Mes commissions").click()
        checked(page, "panels")
        take_step(page, case_path, "Voter")
        page.get_by_label("Identifier comme victime").check()
        page.get_by_label("Votre justification").fill("Récit cohérent et indicateurs concordants.")
        page.get_by_role("button", name="Voter").click()
        expect(page.get_by_text(f"{voted} ont voté" if voted > 1 else "1 a voté")).to_be_visible()
        expect(page.get_by_text("Identifier comme victime")).to_have_count(0)

    sign_in_as(page, live_server, "coordinatrice")
    page.goto(case_path)
    expect(page.get_by_text("Le délai de réflexion court jusqu’au")).to_be_visible()
    live_server.clock.advance(timedelta(days=31))
    sign_in_as(page, live_server, "coordinatrice")  # the session ended while a month went by
    take_step(page, case_path, "Enregistrer la décision formelle")
    page.get_by_role("button", name="Enregistrer la décision formelle").click()
    expect(page.locator(".lead")).to_have_text("Identifiée comme victime")
    expect(page.get_by_text("Décision formelle enregistrée")).to_be_visible()
    checked(page, "identified")
