"""The caseworker's pages through the web application, on both databases: a needs assessment (immediate and
long-term, with urgencies), referrals to providers and their statuses, interviews; the provider's contacts only
with need-to-know; what someone without need-to-know gets."""

from __future__ import annotations

import re
import uuid

from app.clock import FrozenClock
from app.services import support
from app.services.context import ServiceContext
from tests.support_cases import Cast, identify, support_cast
from tests.web.helpers import WebClient

NOTE = "prefers afternoon appointments (test note)"


def _answers(**overrides: str | list[str]) -> dict[str, str | list[str]]:
    """A full assessment: every area 'no need' unless overridden."""
    areas = {
        "immediate": ["safety", "shelter", "subsistence", "health", "interpreter", "dependants", "debt", "documents"],
        "long_term": ["health", "legal", "work_training", "housing", "education"],
    }
    data: dict[str, str | list[str]] = {"scope": "full"}
    data.update({f"{u}.{a}": "no_need" for u, names in areas.items() for a in names})
    data.update(overrides)
    return data


def _identified(ctx: ServiceContext, clock: FrozenClock) -> tuple[Cast, uuid.UUID]:
    cast = support_cast(ctx)
    return cast, identify(ctx, clock, cast)


def test_a_caseworker_records_needs_refers_to_a_provider_and_marks_statuses(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    cast, case_id = _identified(ctx, clock)
    shelter = support.create_provider(ctx, cast.coordinator, "Foyer Test", "shelter", "1 test way", "0100000000")
    support.create_provider(ctx, cast.coordinator, "Cabinet Test", "lawyer", "2 test way", None)
    medical = support.create_provider(ctx, cast.coordinator, "Centre de soins Test", "medical", "3 test way", None)
    assert web.sign_in("caseworker").status_code == 303
    base = f"/cases/{case_id}"

    empty = web.get(f"{base}/needs")
    assert empty.status_code == 200 and f'href="{base}"' in empty.text  # the back link to the case page
    assert "Aucun besoin enregistré" in empty.text

    # An incomplete full assessment is refused field by field, with the summary at the top.
    form = f"{base}/needs/assessment"
    incomplete = web.submit(form, {"scope": "full", "immediate.shelter": "need"}, from_page=form)
    assert incomplete.status_code == 422 and "Il y a un problème" in incomplete.text
    assert 'href="#immediate.safety"' in incomplete.text and 'href="#long_term.housing"' in incomplete.text
    # Health asks which help: a need without a kind is refused.
    which = web.submit(form, _answers(**{"immediate.health": "need"}), from_page=form)
    assert which.status_code == 422 and "Dites quelle aide est nécessaire" in which.text

    done = web.submit(
        form,
        _answers(
            **{
                "immediate.shelter": "need",
                "immediate.health": "need",
                "immediate.health.kinds": ["medical", "psychological"],
                "long_term.legal": "declined",
                "long_term.housing": "need",
                "note": NOTE,
            }
        ),
        from_page=form,
    )
    assert done.status_code == 303 and done.headers["location"] == f"{base}/needs?done=assessed"
    page = web.get(done.headers["location"])
    assert "L’évaluation a été enregistrée." in page.text
    titles = re.findall(r'<h3 class="heading-m need__title"[^>]*>\s*([^<]+?)\s*<', page.text)
    assert titles == ["Mise à l’abri", "Soins médicaux", "Soutien psychologique", "Logement"]
    assert NOTE in page.text  # the caseworker has need-to-know: the note is read back
    assert "La personne ne souhaite pas d’aide ici" in page.text  # the declined area, in the assessment's summary

    # Only providers that serve the need are offered.
    needs = {n.kind.value: n for n in support.list_needs(ctx, cast.caseworker, case_id)}
    shelter_need = needs["shelter"].id
    block = page.text.split(f'id="provider-{shelter_need}"')[1].split("</select>")[0]
    assert "Foyer Test" in block and "Cabinet Test" not in block and "Centre de soins" not in block

    missing = web.submit(f"{base}/needs/{shelter_need}/referral", {"provider": ""}, from_page=f"{base}/needs")
    assert missing.status_code == 422 and f'href="#provider-{shelter_need}"' in missing.text
    wrong = web.submit(
        f"{base}/needs/{shelter_need}/referral", {"provider": str(medical.id)}, from_page=f"{base}/needs"
    )
    assert wrong.status_code == 422 and "Choisissez un prestataire qui offre ce type d’aide" in wrong.text
    referred = web.submit(
        f"{base}/needs/{shelter_need}/referral", {"provider": str(shelter.id)}, from_page=f"{base}/needs"
    )
    assert referred.status_code == 303
    page = web.get(referred.headers["location"])
    assert "Demandé" in page.text and "Réponse attendue" in page.text

    (service,) = support.list_services(ctx, cast.caseworker, case_id)
    status_path = f"{base}/services/{service.id}/status"
    assert web.submit(status_path, {"status": "accepted"}, from_page=f"{base}/needs").status_code == 303
    # Accepted cannot go back to requested: the page says so next to the field.
    back = web.submit(status_path, {"status": "requested"}, from_page=f"{base}/needs")
    assert back.status_code == 422 and "Ce statut ne peut pas suivre le statut actuel." in back.text
    assert web.submit(status_path, {"status": "delivered"}, from_page=f"{base}/needs").status_code == 303
    (service,) = support.list_services(ctx, cast.caseworker, case_id)
    assert service.status.value == "delivered"
    final = web.get(f"{base}/needs")
    assert "Fourni" in final.text and f'action="{status_path}"' not in final.text  # delivered is final

    # The provider's address reaches the caseworker only through the services' need-to-know, never these pages.
    assert "1 test way" not in final.text


def test_interviews_are_listed_before_anyone_asks_again(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    _, case_id = _identified(ctx, clock)
    web.sign_in("caseworker")
    path = f"/cases/{case_id}/interviews"
    assert "Aucun entretien enregistré" in web.get(path).text
    future = web.submit(
        path, {"purpose": "asylum claim", "held-day": "1", "held-month": "1", "held-year": "2099"}, from_page=path
    )
    assert future.status_code == 422 and "La date ne peut pas être dans le futur" in future.text
    today = clock.now()
    done = web.submit(
        path,
        {
            "purpose": "preparing the asylum claim",
            "held-day": str(today.day),
            "held-month": str(today.month),
            "held-year": str(today.year),
        },
        from_page=path,
    )
    assert done.status_code == 303
    page = web.get(done.headers["location"])
    assert "preparing the asylum claim" in page.text and "L’entretien a été enregistré." in page.text
    # The case's documents are on the referral pages' documents page, open to the assigned caseworker too.
    assert web.get(f"/referrals/{case_id}/documents").status_code == 200
    # The referrer knows of the case but has no need-to-know of the support: no needs page.
    web.sign_out()
    web.sign_in("referrer")
    assert web.get(f"/cases/{case_id}/needs").status_code == 403
