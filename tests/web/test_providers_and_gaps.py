"""The provider directory and the needs-gap report through the web pages, on both databases: the coordinator adds
providers and reads their contacts (audited); a caseworker reads a provider's contacts only while a case of theirs
has a live referral there; the report shows counts by kind and region, a small count as hidden, never as zero."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.clock import FrozenClock
from app.models import AuditEntry
from app.services import assessments, support
from app.services.assessments import AssessedNeed, AssessmentInput
from app.services.context import ServiceContext
from app.workflow.needs import AssessmentScope
from app.workflow.states import NeedKind
from app.workflow.support import Urgency
from tests.support_cases import identify, support_cast
from tests.web.helpers import WebClient

ADDRESS = "12 Quillfeather test lane"


def _audited(ctx: ServiceContext, action: str) -> int:
    with ctx.read_sessions() as session:
        return session.scalar(select(func.count()).where(AuditEntry.action == action)) or 0


def test_the_directory_and_who_reads_a_providers_contacts(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    cast = support_cast(ctx)
    case_id = identify(ctx, clock, cast)
    web.sign_in("coordinator")
    assert 'href="/providers"' in web.get("/my-work").text  # in the menu
    assert "Aucun prestataire dans l’annuaire" in web.get("/providers").text
    refused = web.submit("/providers/new", {"name": "", "kind": "castle", "address": ""}, from_page="/providers/new")
    assert refused.status_code == 422
    assert all(f'href="#{field}"' in refused.text for field in ("name", "kind", "address"))
    added = web.submit(
        "/providers/new",
        {"name": "Foyer Test", "kind": "shelter", "address": ADDRESS, "phone": "0100000000"},
        from_page="/providers/new",
    )
    assert added.status_code == 303
    provider_path = added.headers["location"].split("?")[0]
    page = web.get(added.headers["location"])
    assert "Foyer Test" in page.text and "Hébergement" in page.text and ADDRESS not in page.text
    assert _audited(ctx, "provider.contact_read") == 0  # the summary opens no contact
    contacts = web.get(f"{provider_path}/contacts")
    assert ADDRESS in contacts.text and "0100000000" in contacts.text
    assert contacts.headers["cache-control"] == "no-store"
    assert _audited(ctx, "provider.contact_read") == 1
    web.submit("/providers/new", {"name": "Cabinet Test", "kind": "lawyer", "address": "x"}, from_page="/providers/new")
    only_lawyers = web.get("/providers?kind=lawyer").text
    assert "Cabinet Test" in only_lawyers and "Foyer Test" not in only_lawyers
    web.sign_out()

    # The caseworker sees the directory, not the contacts, until a case of theirs has a live referral there.
    web.sign_in("caseworker")
    assert "Ajouter un prestataire" not in web.get("/providers").text
    assert web.get("/providers/new").status_code == 403
    assert ADDRESS not in web.get(f"{provider_path}/contacts").text
    provider_id = provider_path.rsplit("/", 1)[1]
    need = support.record_need(ctx, cast.caseworker, case_id, "shelter", "immediate", None)
    support.refer_to_service(ctx, cast.caseworker, case_id, need.id, support.list_providers(ctx)[1].id)
    assert str(support.list_providers(ctx)[1].id) == provider_id
    assert ADDRESS in web.get(f"{provider_path}/contacts").text
    web.sign_out()

    web.sign_in("referrer")
    assert 'href="/providers"' not in web.get("/my-work").text
    assert web.get("/providers").status_code == 403


def test_the_gaps_report_counts_with_suppression_shown_as_such(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    cast = support_cast(ctx)
    ctx.policy = ctx.policy.model_copy(update={"statistics_suppression_threshold": 2})
    for n in range(4):  # four persons need housing, three medical care, none referred; one also needs a lawyer
        case_id = identify(ctx, clock, cast)
        needs = [AssessedNeed(NeedKind.housing, Urgency.long_term)]
        if n < 3:
            needs.append(AssessedNeed(NeedKind.medical, Urgency.immediate))
        assessments.record_assessment(
            ctx, cast.caseworker, case_id, AssessmentInput(AssessmentScope.partial, needs=tuple(needs))
        )
    support.record_need(ctx, cast.caseworker, case_id, "legal", "long_term", None)

    web.sign_in("auditor")
    assert 'href="/reports/needs"' in web.get("/my-work").text
    page = web.get("/reports/needs")
    assert page.status_code == 200
    recorded = page.text.split("Besoins enregistrés</h2>")[1].split("</table>")[0]
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", recorded, re.S)]
    # One region: the single legal need is below the threshold, hidden (not zero); the region's total would
    # give it back, so the next smallest count (medical care) is hidden too; housing shows.
    assert cells == ["Soins médicaux", "masqué", "masqué", "Aide juridique", "masqué", "masqué", "Logement", "4", "4"]
    assert _audited(ctx, "statistics.needs_read") == 1

    wrong = web.get("/reports/needs?from-day=31&from-month=2&from-year=2027")
    assert wrong.status_code == 422 and 'href="#from"' in wrong.text
    later = web.get("/reports/needs?from-day=1&from-month=1&from-year=2099")
    assert "Besoins enregistrés depuis le 1 janvier 2099" in later.text
    assert later.text.count("Masqué : trop peu pour être affiché.") == 5  # a total of 0 is below the threshold
    web.sign_out()
    web.sign_in("caseworker")
    assert web.get("/reports/needs").status_code == 403
