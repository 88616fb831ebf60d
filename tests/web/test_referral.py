"""The guided referral through the web pages, on both databases: each step and its checks, the child branch,
consent refused → anonymous notification, the receipt, drafts (encrypted at rest, resumed, purged after 7
days, nobody else's), and the organisation's list with its search."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import create_engine, select, text

from app.clock import FrozenClock
from app.models import Case
from app.services import referral_drafts, scheduler
from app.services.context import ServiceContext
from tests.web.helpers import WebClient, create_account
from tests.web.referral_helpers import ADULT, CHILD, answer, fill, start_draft

NAME = ADULT["identity"]["full_name"]


def _referrer(ctx: ServiceContext, web: WebClient, username: str = "referrer1") -> None:
    create_account(ctx, username, ["referrer"])
    assert web.sign_in(username).status_code == 303


def test_each_step_refuses_what_is_missing_with_an_error_summary(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    expected = {
        "age": ("age_band", "Choisissez l’âge de la personne, ou Je ne sais pas"),
        "person": ("gender", "Choisissez le genre de la personne, ou Je ne sais pas"),
        "exploitation": ("forms", "Choisissez au moins une forme d’exploitation"),
        "consent": ("consent", "Dites si la personne consent à l’orientation"),
        "identity": ("full_name", "Saisissez le nom que la personne a donné"),
        "account": ("what_happened", "Dites en quelques mots ce qui s’est passé"),
        "needs": ("shelter_needed", "Dites si la personne a besoin d’une mise à l’abri"),
    }
    for step, (field, message) in expected.items():
        response = answer(web, draft, step, {})
        assert response.status_code == 422, step
        assert "Il y a un problème" in response.text and f'href="#{field}"' in response.text, step
        assert message in response.text, (step, message)
        assert "<title>Erreur" in response.text
    bad = answer(web, draft, "person", {"gender": "female", "nationality": "ZZ", "region": "FR-99"})
    assert bad.status_code == 422 and 'href="#nationality"' in bad.text and 'href="#region"' in bad.text


def test_an_adult_is_referred_through_every_step_and_gets_a_receipt(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    page = web.get(f"{draft}/age")
    assert "Étape 1 sur 9" in page.text
    fill(web, draft, ADULT)
    check = web.get(f"{draft}/check")
    assert check.status_code == 200
    assert NAME in check.text and "Exploitation sexuelle" in check.text and "Seine-Saint-Denis" in check.text
    assert "Lieu de l’exploitation" in check.text or "Lieu de l'exploitation" in check.text
    assert "Sur le territoire national" in check.text
    assert f'href="{draft}/identity?change=check"' in check.text
    # A change from the check page comes back to it.
    changed = web.submit(
        f"{draft}/identity", {**ADULT["identity"], "return_to": "check"}, from_page=f"{draft}/identity?change=check"
    )
    assert changed.headers["location"] == f"{draft}/check"

    sent = web.submit(f"{draft}/check", {}, from_page=f"{draft}/check")
    assert sent.status_code == 303
    receipt_path = sent.headers["location"]
    assert re.fullmatch(r"/referrals/[0-9a-f-]{36}/receipt", receipt_path)
    receipt = web.get(receipt_path)
    reference = re.search(r"MNR-\d{4}-\d{5}", receipt.text)
    assert reference and "Orientation envoyée" in receipt.text
    with ctx.read_sessions() as session:
        scope = session.scalar(select(Case.exploitation_scope).where(Case.reference == reference.group(0)))
    assert scope == "internal"  # counted in the statistics' exploitation_scope table
    assert NAME not in receipt.text and "identification préliminaire" in receipt.text
    # The draft is gone; a second click on "send" finds nothing and makes no second case.
    assert web.get(draft).status_code == 404
    assert web.submit(f"{draft}/check", {}, from_page="/referrals").status_code == 404
    listed = web.get("/referrals")
    assert listed.text.count(reference.group(0)) == 1
    assert "En attente d’un évaluateur" in listed.text or "Orientée" in listed.text
    found = web.get(f"/referrals?reference={reference.group(0).lower().replace('-', ' ')}")
    assert reference.group(0) in found.text
    assert "A reference looks like" not in web.get("/referrals?reference=MNR-2027-99999").text
    wrong = web.get("/referrals?reference=hello")
    assert wrong.status_code == 422 and "MNR-2027-00042" in wrong.text


def test_a_child_is_never_asked_for_consent_and_the_page_says_why(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    for age in (
        {"age_band": "15-17", "age_disputed": "no"},
        {"age_band": "unknown", "age_disputed": "no"},
        {"age_band": "25-34", "age_disputed": "yes"},
    ):
        draft = start_draft(web)
        fill(web, draft, {"age": age, "person": ADULT["person"], "exploitation": ADULT["exploitation"]})
        page = web.get(f"{draft}/consent")
        assert "Un enfant est protégé sans consentement" in page.text, age
        assert 'name="consent"' not in page.text and 'name="unaccompanied"' in page.text
    fill(web, draft, {k: v for k, v in CHILD.items() if k not in ("age",)})
    sent = web.submit(f"{draft}/check", {}, from_page=f"{draft}/check")
    receipt = web.get(sent.headers["location"])
    assert "protection de l’enfance" in receipt.text


def test_consent_refused_offers_the_anonymous_notification_in_one_step(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    fill(web, draft, {k: ADULT[k] for k in ("age", "person", "exploitation")})
    refused = answer(web, draft, "consent", {"consent": "no"})
    assert refused.headers["location"] == f"{draft}/notification"
    offer = web.get(f"{draft}/notification")
    assert "notification anonyme" in offer.text and "Nigeria" in offer.text and "Femme ou fille" in offer.text
    assert web.get(f"{draft}/check").headers["location"] == f"{draft}/notification"
    filed = web.submit(f"{draft}/notification", {}, from_page=f"{draft}/notification")
    assert filed.headers["location"] == "/referrals/notification-filed"
    assert "Notification anonyme envoyée" in web.get("/referrals/notification-filed").text
    assert web.get(draft).status_code == 404  # the draft went with it
    engine = create_engine(ctx.settings.database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT gender, age_band, nationality, region FROM notifications")).all()
        cases = connection.execute(text("SELECT count(*) FROM cases")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("female", "25-34", "NG", "FR-93")] and cases == 0


def test_a_draft_is_encrypted_at_rest_resumed_and_nobody_elses(
    ctx: ServiceContext, web: WebClient, clock: FrozenClock
) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    fill(web, draft, {k: ADULT[k] for k in ("age", "person", "exploitation", "consent", "identity")})
    engine = create_engine(ctx.settings.database_url)
    with engine.connect() as connection:
        blobs = [bytes(b) for (b,) in connection.execute(text("SELECT answers_blob FROM referral_drafts"))]
    engine.dispose()
    assert len(blobs) == 1
    assert NAME.encode() not in blobs[0] and b"Zorabelle" not in blobs[0] and b"FR-93" not in blobs[0]
    # Resumed where it was left, after a new sign-in, days later.
    web.sign_out()
    clock.advance(timedelta(days=6))
    web.sign_in("referrer1")
    assert web.get(draft).headers["location"] == f"{draft}/account"
    assert NAME in web.get(f"{draft}/identity").text
    assert "Orientation commencée le" in web.get("/my-work").text
    # Another referrer of the same organisation cannot open it.
    web.sign_out()
    _referrer(ctx, web, "referrer2")
    assert web.get(draft).status_code == 404
    assert web.get(f"{draft}/identity").status_code == 404
    assert answer(web, draft, "account", ADULT["account"]).status_code == 404


def test_a_draft_is_purged_seven_days_after_its_last_change(
    ctx: ServiceContext, web: WebClient, clock: FrozenClock
) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    fill(web, draft, {"age": ADULT["age"]})
    clock.advance(timedelta(days=6, hours=23))
    assert scheduler.run_pass(ctx).drafts_purged == 0
    web.sign_in("referrer1")  # the session ended long ago; the draft did not
    fill(web, draft, {"person": ADULT["person"]})  # a change keeps it 7 more days
    clock.advance(timedelta(days=7))
    web.sign_in("referrer1")
    assert web.get(draft).status_code == 404  # expired: closed even before the worker runs
    assert scheduler.run_pass(ctx).drafts_purged == 1
    assert scheduler.run_pass(ctx).drafts_purged == 0


def test_the_draft_key_is_rewrapped_by_rotation(ctx: ServiceContext, web: WebClient) -> None:
    from app.services import keys

    _referrer(ctx, web)
    draft = start_draft(web)
    fill(web, draft, {"age": ADULT["age"]})
    old = ctx.keyring.active_kek_id
    report = keys.rotate(ctx)
    assert report.rewrapped == 1
    keys.retire(ctx, old)
    assert "25 à 34 ans" in web.get(f"{draft}/check").text


def test_every_referral_form_refuses_a_post_without_its_token(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    forms = [
        "/referrals/new",
        f"{draft}/age",
        f"{draft}/check",
        f"{draft}/notification",
        f"{draft}/discard",
        f"/referrals/{draft.rsplit('/', 1)[1]}/reconsideration",
        f"/referrals/{draft.rsplit('/', 1)[1]}/documents",
    ]
    for path in forms:
        assert web.submit(path, {"age_band": "25-34"}, token="forged").status_code == 403, path
        assert web.submit(path, {}, from_page="/referrals", origin="https://elsewhere.example").status_code == 403
    assert referral_drafts.list_mine(ctx, _principal(ctx, "referrer1"))  # the draft is still there


def test_a_draft_can_be_discarded(ctx: ServiceContext, web: WebClient) -> None:
    _referrer(ctx, web)
    draft = start_draft(web)
    assert "Supprimer ce brouillon" in web.get(f"{draft}/discard").text
    gone = web.submit(f"{draft}/discard", {}, from_page=f"{draft}/discard")
    assert gone.headers["location"] == "/referrals?status=discarded"
    assert web.get(draft).status_code == 404


def test_pages_are_for_referrers_only(ctx: ServiceContext, web: WebClient) -> None:
    create_account(ctx, "auditor1", ["auditor"], "Inspection fictive", "coordination")
    web.sign_in("auditor1")
    assert web.get("/referrals").status_code == 403
    assert web.submit("/referrals/new", {}, from_page="/my-work").status_code == 403


def _principal(ctx: ServiceContext, username: str):  # type: ignore[no-untyped-def]
    from app.services import accounts

    user = next(u for u in accounts.list_users(ctx) if u.username == username)
    org = next(o for o in accounts.list_organisations(ctx) if o.id == user.organisation_id)
    from app.security.permissions import Principal

    return Principal.of(user.id, user.organisation_id, org.sector, user.roles)
