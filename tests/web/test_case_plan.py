"""Support over years, justice and entitlements through the web pages, on both databases: a person identified in
2027, closed as supported in 2029 and reopened in 2031 (by the coordinator, on its page) reads as one continuous
history; the emergency shelter duty before the preliminary decision; milestones without personal data in clear;
entitlements on the case with no proceedings at all."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from babel.dates import format_date
from sqlalchemy import select

from app.clock import FrozenClock
from app.models import AuditEntry
from app.services import cases
from app.services.context import ServiceContext
from tests.factories import event, refer
from tests.support_cases import identify, move_to, support_cast
from tests.web.helpers import WebClient

NOTE = "hearing at the Quillfeather court (test note)"


def _cells(html: str, caption: str) -> list[list[str]]:
    table = html.split(f">{caption}</caption>")[1].split("</table>")[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def _entitlements(html: str) -> dict[str, str]:
    """Entitlement title → status, as the support plan lists them."""
    listed = html.split('class="work-list entitlements"')[1].split("</ul>")[0]
    return dict(
        re.findall(r'<p class="work-list__title">(.*?)</p>\s*<p><strong class="tag[^"]*">(.*?)</strong>', listed, re.S)
    )


def _french_day(ctx: ServiceContext, at: datetime) -> str:
    return format_date(at.astimezone(ctx.policy.calendar.tz), "long", locale="fr_FR")


def test_identified_2027_closed_2029_reopened_2031_reads_as_one_history(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    cast = support_cast(ctx)
    case_id = identify(ctx, clock, cast)
    identified_at = clock.now()
    assert identified_at.year == 2027
    plan = f"/cases/{case_id}/support-plan"
    web.sign_in("caseworker")
    work = web.get("/my-work").text  # the first review is the caseworker's duty, and leads to the plan
    assert f'href="{plan}">Faire le point sur le projet d’accompagnement' in work
    page = web.get(plan)
    assert page.status_code == 200 and f'href="/cases/{case_id}"' in page.text
    assert "Prochain point :" in page.text and "dans 30 jours" in page.text  # fr: first review within a month
    assert "Rouvrir la situation" not in page.text  # the caseworker may not reopen, and the case is open

    clock.advance(timedelta(days=20))
    web.sign_in("caseworker")  # a session lasts 30 idle minutes: days later, one signs in again
    stale = re.search(r'name="version" value="(\d+)"', web.get(plan).text)
    assert stale is not None
    # Meanwhile the coordinator records a review: the caseworker's form is now out of date, and says so.
    event(ctx, cast.coordinator, case_id, "support_plan_reviewed")
    reviewed = web.submit(f"{plan}/review", {"note": "reviewed with the person", "version": stale[1]}, from_page=plan)
    assert (
        reviewed.status_code == 422 and "La situation a changé pendant que vous étiez sur cette page" in reviewed.text
    )
    version = re.search(r'name="version" value="(\d+)"', web.get(plan).text)
    assert version is not None and version[1] != stale[1]
    reviewed = web.submit(f"{plan}/review", {"note": "reviewed with the person", "version": version[1]}, from_page=plan)
    assert reviewed.status_code == 303
    page = web.get(reviewed.headers["location"])
    assert "Le point a été enregistré." in page.text
    assert re.search(r"Prochain point : <strong[^>]*>dans 9\d jours<", page.text)  # three months on
    assert "Une note a été enregistrée (chiffrée)." in page.text and "reviewed with the person" not in page.text

    move_to(clock, datetime(2029, 6, 15, 9, tzinfo=UTC))
    event(ctx, cast.coordinator, case_id, "close", reason="support_completed")
    web.sign_in("caseworker")
    closed = web.get(plan)
    assert "Accompagnement terminé" in closed.text and "Aucun point n’est dû" in closed.text

    # Two years later, the coordinator reopens it from the page: a reason is needed.
    move_to(clock, datetime(2031, 3, 3, 9, tzinfo=UTC))
    web.sign_in("coordinator")
    assert f'href="/cases/{case_id}/reopen"' in web.get(plan).text
    reopen = f"/cases/{case_id}/reopen"
    no_reason = web.submit(reopen, {"reason": ""}, from_page=reopen)
    assert no_reason.status_code == 422 and 'href="#reason"' in no_reason.text
    reopened = web.submit(reopen, {"reason": "support_needed_again", "note": "back at the NGO"}, from_page=reopen)
    assert reopened.status_code == 303
    page = web.get(reopened.headers["location"])
    assert "La situation a été rouverte" in page.text
    assert _cells(page.text, "Périodes d’accompagnement") == [
        [_french_day(ctx, identified_at), "Identification", "15 juin 2029", "Accompagnement terminé"],
        ["3 mars 2031", "Réouverture", "en cours", ""],
    ]
    assert "dans 30 jours" in page.text  # the support plan starts again with a first review
    # Once open again, a second reopening is not offered, and if posted it is refused in words.
    again = web.submit(reopen, {"reason": "other"}, from_page=reopen)
    assert again.status_code == 422 and "Cette situation ne peut pas être rouverte maintenant" in again.text
    with ctx.read_sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.case_id == str(case_id))).all()
    assert "case.reopen" in actions and "case.support_plan_reviewed" in actions
    # One history: each state change starts where the previous one ended.
    moves = [h for h in cases.history(ctx, cast.coordinator, case_id) if h.from_state != h.to_state]
    assert all(b.from_state == a.to_state for a, b in itertools.pairwise(moves))


def test_emergency_shelter_justice_and_entitlements_on_the_pages(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    cast = support_cast(ctx)
    # An adult with nowhere safe to stay: the duty shows before the preliminary decision, and is met on the page.
    waiting = refer(ctx, cast.referrer, needs={"shelter_needed": True})
    web.sign_in("coordinator")
    plan = f"/cases/{waiting}/support-plan"
    assert f'href="{plan}"' in web.get("/my-work").text  # my work leads to the page where the duty is met
    page = web.get(plan)
    assert "Mise à l’abri d’urgence" in page.text and "dans 12 heures" in page.text
    assert 'class="support-box support-box--urgent"' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version is not None
    done = web.submit(
        f"/cases/{waiting}/emergency-shelter", {"note": "a room tonight", "version": version[1]}, from_page=plan
    )
    assert done.status_code == 303
    page = web.get(done.headers["location"])
    assert "Mise à l’abri d’urgence enregistrée" in page.text and "support-box--urgent" not in page.text
    web.sign_out()

    # Identified with no proceedings at all: the entitlements are open; the residence card waits on the person.
    case_id = identify(ctx, clock, cast)
    web.sign_in("caseworker")
    page = web.get(f"/cases/{case_id}/support-plan")
    entitlements = _entitlements(page.text)
    assert len(entitlements) == 9  # the fr policy's list
    card = next(title for title in entitlements if title.startswith("Carte de séjour temporaire"))
    assert entitlements[card] == "Ouvert si la personne le choisit"  # the person may choose; nothing waits
    assert sum(1 for status in entitlements.values() if status == "Ouvert") >= 5

    justice = f"/cases/{case_id}/justice"
    assert "Rien d’enregistré." in web.get(justice).text
    future = web.submit(
        justice,
        {"step": "testimony_given", "occurred-day": "1", "occurred-month": "1", "occurred-year": "2099"},
        from_page=justice,
    )
    assert future.status_code == 422 and 'href="#occurred"' in future.text
    recorded = web.submit(
        justice,
        {"step": "testimony_given", "occurred-day": "1", "occurred-month": "4", "occurred-year": "2027", "note": NOTE},
        from_page=justice,
    )
    assert recorded.status_code == 303
    page = web.get(recorded.headers["location"])
    assert "Témoignage" in page.text and "1 avril 2027" in page.text and NOTE in page.text
    # The testimony opens the temporary residence card; the auditor sees codes and days, never the note.
    assert _entitlements(web.get(f"/cases/{case_id}/support-plan").text)[card] == "Ouvert"
    web.sign_out()
    web.sign_in("auditor")
    seen = web.get(justice)
    assert seen.status_code == 200 and "Témoignage" in seen.text and NOTE not in seen.text
    assert "Enregistrer une étape" not in seen.text
    with ctx.read_sessions() as session:
        details = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "milestone.recorded")).one()
    assert NOTE not in str(details)
