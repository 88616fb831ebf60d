"""Case work through the web pages, on both databases: the coordinator's queue and assignment (only eligible
assessors offered), the assessor's file, the identity behind a purpose (audited), the preliminary decision,
the panel convened after a composition check, votes counted but never shown, a formal decision held back by
the reflection period (the reason in words, in French and in English), then taken once the clock has moved;
caseworker assignment and erasure behind a confirmation."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest

from app.clock import FrozenClock
from app.services import audit, cases, demo, documents
from app.services.context import ServiceContext
from app.web.routes import case_lists
from app.workflow import State
from tests.factories import event, refer
from tests.web.helpers import WebClient, create_account, principal_named
from tests.web.referral_helpers import ADULT, fill, start_draft

NAME = ADULT["identity"]["full_name"]


def _world(ctx: ServiceContext) -> None:
    create_account(ctx, "referrer1", ["referrer"], "Association Fictive Test", "ngo")
    create_account(ctx, "coordinator1", ["coordinator"], "Secrétariat Fictif", "coordination")
    create_account(ctx, "assessor1", ["assessor"], "Inspection Fictive", "labour_inspection")
    create_account(ctx, "assessor-police", ["assessor"], "Police Fictive", "police")
    create_account(ctx, "assessor-health", ["assessor"], "Hôpital Fictif", "health")  # not an assessor sector
    create_account(ctx, "member-ngo", ["panel_member"], "Foyer Fictif", "ngo")
    create_account(ctx, "member-police", ["panel_member"], "Police Fictive", "police")
    create_account(ctx, "member-social", ["panel_member"], "Services Sociaux Fictifs", "social_services")
    create_account(ctx, "member-same-org", ["panel_member"], "Association Fictive Test", "ngo")
    create_account(ctx, "caseworker1", ["caseworker"], "Foyer Fictif", "ngo")


def _refer(web: WebClient) -> str:
    web.sign_in("referrer1")
    draft = start_draft(web)
    fill(web, draft, ADULT)
    sent = web.submit(f"{draft}/check", {}, from_page=f"{draft}/check")
    case_id = re.fullmatch(r"/referrals/([0-9a-f-]{36})/receipt", sent.headers["location"])
    assert case_id
    web.sign_out()
    return case_id.group(1)


def _ids(html: str, name: str) -> dict[str, str]:
    """label -> value of the radios or checkboxes called `name` on a page."""
    found = re.findall(
        rf'name="{name}" value="([^"]+)"[^>]*>\s*<label class="choice__label" for="[^"]+">([^<]+)</label>', html
    )
    return {label: value for value, label in found}


def _step(web: WebClient, case_id: str, event: str, data: dict[str, str | list[str]]) -> object:
    path = f"/cases/{case_id}/steps/{event}"
    return web.submit(path, data, from_page=path)


def test_a_case_goes_from_the_queue_to_a_formal_decision(
    ctx: ServiceContext, web: WebClient, clock: FrozenClock
) -> None:
    _world(ctx)
    case_id = _refer(web)
    case_path = f"/cases/{case_id}"
    opinion = documents.upload(
        ctx,
        principal_named(ctx, "referrer1"),
        uuid.UUID(case_id),
        "panel_opinion",
        "text/plain",
        iter([b"Fictional opinion for the panel."]),
    )

    # The coordinator's queue: the case awaits an assessor; the counts per state say so.
    web.sign_in("coordinator1")
    queue = web.get("/queue")
    assert queue.status_code == 200 and case_path in queue.text and "En attente d’un évaluateur" in queue.text
    case = web.get(case_path)
    assert "Désigner un évaluateur" in case.text and NAME not in case.text
    assert 'aria-current="step"' in case.text and "Étape 1 sur 6 : Orientation" in case.text
    form = web.get(f"{case_path}/steps/assign_assessor")
    offered = _ids(form.text, "assessor_id")
    assert set(offered) == {"assessor1", "assessor-police"}  # the health sector is not an assessor sector
    missing = _step(web, case_id, "assign_assessor", {})
    assert missing.status_code == 422 and 'href="#assessor_id"' in missing.text
    assert _step(web, case_id, "assign_assessor", {"assessor_id": offered["assessor1"]}).status_code == 303
    web.sign_out()

    # The assessor: assigned cases, the file, the identity behind a purpose, the decision with reasons.
    web.sign_in("assessor1")
    assert case_path in web.get("/assigned").text
    file = web.get(f"{case_path}/file")
    assert file.status_code == 200 and "Exploitation sexuelle" in file.text and NAME not in file.text
    assert "L’avis de la structure qui a orienté est au dossier de la commission." in file.text
    asked = web.get(f"{case_path}/identity")
    assert NAME not in asked.text and 'name="purpose"' in asked.text
    no_purpose = web.submit(f"{case_path}/identity", {}, from_page=f"{case_path}/identity")
    assert no_purpose.status_code == 422 and 'href="#purpose"' in no_purpose.text
    shown = web.submit(f"{case_path}/identity", {"purpose": "assessment"}, from_page=f"{case_path}/identity")
    assert shown.status_code == 200 and NAME in shown.text and shown.headers["cache-control"] == "no-store"
    assert NAME not in shown.text.split("<title>")[1].split("</title>")[0]
    entries = audit.list_entries(ctx, case_id=case_id, after=None, limit=500)
    reads = [e for e in entries if e.action == "identity.read"]
    assert [e.details["purpose"] for e in reads] == ["assessment"]
    # A document opens only once the reader said why, and the reason is audited.
    opened_from = f"{case_path}/documents/{opinion.id}"
    no_reason = web.submit(opened_from, {}, from_page=f"{case_path}/file")
    assert no_reason.status_code == 422 and f'href="#purpose-{opinion.id}"' in no_reason.text
    document = web.submit(opened_from, {"purpose": "assessment"}, from_page=f"{case_path}/file")
    assert document.content == b"Fictional opinion for the panel." and document.headers["cache-control"] == "no-store"
    no_reasons = _step(web, case_id, "preliminary_decision", {"outcome": "positive"})
    assert no_reasons.status_code == 422 and "Écrivez les motifs de la décision" in no_reasons.text
    decided = _step(
        web, case_id, "preliminary_decision", {"outcome": "positive", "reasons": "Strong indicators of control."}
    )
    assert decided.status_code == 303 and decided.headers["location"] == f"{case_path}?done=preliminary_decision"
    web.sign_out()

    # The coordinator convenes a panel: the composition check shows each rule met or not before sending.
    web.sign_in("coordinator1")
    form = web.get(f"{case_path}/steps/convene_panel")
    members = _ids(form.text, "member_ids")
    assert set(members) == {"member-ngo", "member-police", "member-social"}  # not the referring organisation
    two = [members["member-police"], members["member-social"]]
    checked = _step(web, case_id, "convene_panel", {"member_ids": two, "action": "check"})
    assert checked.status_code == 200 and "Non respectée" in checked.text
    assert "rule-checks__item--unmet" in checked.text and "Association" in checked.text
    refused = _step(web, case_id, "convene_panel", {"member_ids": two, "action": "send"})
    assert refused.status_code == 422 and 'href="#member_ids"' in refused.text
    three = [*two, members["member-ngo"]]
    checked = _step(web, case_id, "convene_panel", {"member_ids": three, "action": "check"})
    assert "rule-checks__item--unmet" not in checked.text
    assert _step(web, case_id, "convene_panel", {"member_ids": three, "action": "send"}).status_code == 303
    web.sign_out()

    # Members vote with a rationale; they see how many have voted, never how.
    for number, member in enumerate(("member-ngo", "member-police", "member-social"), start=1):
        web.sign_in(member)
        assert case_path in web.get("/panels").text
        assert _step(web, case_id, "cast_vote", {"vote": "identify"}).status_code == 422
        voted = _step(web, case_id, "cast_vote", {"vote": "identify", "rationale": "Consistent account."})
        assert voted.status_code == 303
        page = web.get(case_path)
        assert f"{number} ont voté" in page.text or f"{number} a voté" in page.text
        assert "Identifier comme victime" not in page.text
        assert web.get(f"{case_path}/steps/cast_vote").status_code == 409  # already voted
        again = _step(web, case_id, "cast_vote", {"vote": "abstain", "rationale": "A second try."})
        assert again.status_code == 422 and "Vous avez déjà voté." in again.text
        web.sign_out()

    # The formal decision waits for the end of the reflection period: the reason in words, with its date.
    web.sign_in("coordinator1")
    held = web.get(f"{case_path}/steps/formal_decision")
    assert held.status_code == 409
    reflection = re.search(r"Le délai de réflexion court jusqu’au (\d{1,2} \w+ \d{4})", held.text)
    assert reflection, held.text
    case_page = web.get(case_path)
    assert reflection.group(0) in case_page.text
    english = web.client.get(f"{case_path}/steps/formal_decision", headers={"Accept-Language": "en"})
    assert re.search(r"The reflection period runs until \d{1,2} \w+ \d{4}", english.text)

    clock.advance(timedelta(days=31))
    web.sign_in("coordinator1")  # the session ended with the idle timeout
    decided = _step(web, case_id, "formal_decision", {})
    assert decided.status_code == 303
    page = web.get(decided.headers["location"])
    lead = re.search(r"<p class=\"lead\">([^<]*)<", page.text)
    assert lead and lead.group(1) == "Identifiée comme victime", page.text[-6000:]
    assert "Décision formelle enregistrée" in page.text

    # Caseworker assignment, and erasure behind a confirmation step.
    form = web.get(f"{case_path}/caseworkers")
    worker = _ids(form.text, "caseworker_id")["caseworker1"]
    assigned = web.submit(f"{case_path}/caseworkers", {"caseworker_id": worker}, from_page=f"{case_path}/caseworkers")
    assert assigned.status_code == 303
    asked = web.submit(f"{case_path}/erasure", {"reason": "person_request"}, from_page=f"{case_path}/erasure")
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in asked.text
    erased = web.submit(
        f"{case_path}/erasure", {"reason": "person_request", "confirmed": "yes"}, from_page=f"{case_path}/erasure"
    )
    assert erased.status_code == 303
    assert web.submit(f"{case_path}/identity", {"purpose": "correction"}, from_page=case_path).status_code == 410


def test_the_case_page_offers_each_person_only_their_steps(ctx: ServiceContext, web: WebClient) -> None:
    _world(ctx)
    case_id = _refer(web)
    # The referrer sees the case page but no coordinator step, and no assessor may open the case.
    web.sign_in("referrer1")
    page = web.get(f"/cases/{case_id}")
    assert page.status_code == 200 and "Désigner un évaluateur" not in page.text
    assert web.get(f"/cases/{case_id}/steps/assign_assessor").status_code == 409
    assert web.get("/queue").status_code == 403
    web.sign_out()
    web.sign_in("assessor1")
    assert web.get(f"/cases/{case_id}").status_code == 404
    assert web.get(f"/cases/{case_id}/steps/preliminary_decision").status_code == 404
    assert web.get(f"/cases/{case_id}/steps/no_such_step").status_code == 404


def test_the_demo_seed_gives_each_role_work_to_see(ctx: ServiceContext, web: WebClient) -> None:
    passwords = {a.username: a.password for a in demo.seed(ctx, None)}
    counts = cases.count_by_state(ctx, principal_named(ctx, "coordinator"))
    assert counts[State.identified] == 1 and counts[State.formal_assessment] == 1
    assert counts[State.preliminary_negative] == 1 and counts[State.preliminary_assessment] == 1
    assert counts[State.referred] == 2 and counts[State.recovery_period] == 1

    web.sign_in("coordinator", passwords["coordinator"])
    queue = web.get("/queue")
    awaiting = queue.text.split("En attente d’un évaluateur</h2>")[1].split("</ul>")[0]
    assert awaiting.count('class="link work-list__title"') == 2
    assert awaiting.index("en retard") < awaiting.index("dans ")  # overdue first
    web.sign_out()
    web.sign_in("panel-social", passwords["panel-social"])
    panels = web.get("/panels")
    assert "2 membres sur 3 ont voté" in panels.text
    web.sign_out()
    web.sign_in("assessor-labour", passwords["assessor-labour"])
    assert (
        web.get("/assigned").text.count('class="link work-list__title"') == 3
    )  # identified, reflection period, the child


def test_the_queue_lists_the_cases_that_can_no_longer_move(
    ctx: ServiceContext, clock: FrozenClock, web: WebClient
) -> None:
    """Issue 12 point 8: a second negative preliminary decision leaves nothing to do but close the case; the
    queue lists it "to close" with the day the worker closes it, and only the coordinator's queue shows it."""
    _world(ctx)
    coordinator, assessor = principal_named(ctx, "coordinator1"), principal_named(ctx, "assessor1")
    case_id = refer(ctx, principal_named(ctx, "referrer1"))
    event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
    event(ctx, assessor, case_id, "preliminary_decision", outcome="negative", reasons="no grounds yet")
    web.sign_in("coordinator1")
    assert "À clore" not in web.get("/queue").text  # the reconsideration window is the person's right
    event(ctx, principal_named(ctx, "referrer1"), case_id, "request_reconsideration", reasons="new evidence")
    second = principal_named(ctx, "assessor-police")  # a reconsideration needs another assessor
    event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(second.user_id))
    event(ctx, second, case_id, "preliminary_decision", outcome="negative", reasons="still none")
    queue = web.get("/queue").text
    to_close = queue.split("À clore</h2>")[1].split("</ul>")[0]
    reference = cases.get_case(ctx, coordinator, case_id).reference
    assert f'href="/cases/{case_id}">{reference}</a>' in to_close
    closes = clock.now() + timedelta(days=ctx.policy.final_negative_closure_days or 0)
    assert f"Clôturée automatiquement le {closes.day}" in to_close


def _listed(web: WebClient, path: str) -> list[str]:
    """The cases of a list, following its "next page" links to the end."""
    found: list[str] = []
    next_path: str | None = path
    while next_path is not None:
        page = web.get(next_path)
        assert page.status_code == 200
        found += re.findall(r'href="/cases/([0-9a-f-]+)">MNR', page.text)
        link = re.search(r'<a class="link" href="([^"]+)">Page suivante</a>', page.text)
        next_path = html.unescape(link.group(1)) if link else None
    return found


def test_each_list_of_the_queue_links_to_all_of_it_a_page_at_a_time(
    ctx: ServiceContext, web: WebClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: the queue shows the first 25 of each list and links to all of it, 50 a page; one and one
    here, to see the links with the demo's few cases."""
    monkeypatch.setattr(case_lists, "OVERVIEW", 1)
    monkeypatch.setattr(case_lists, "PAGE", 1)
    passwords = {a.username: a.password for a in demo.seed(ctx, None)}
    coordinator = principal_named(ctx, "coordinator")
    web.sign_in("coordinator", passwords["coordinator"])
    queue = web.get("/queue").text
    awaiting = queue.split("En attente d’un évaluateur</h2>")[1].split("</ul>")[0]
    assert awaiting.count('class="link work-list__title"') == 1
    assert '<a class="link" href="/queue?state=referred">Les 2 dossiers en attente d’un évaluateur</a>' in queue
    referred = _listed(web, "/queue?state=referred")
    assert sorted(referred) == sorted(str(c.id) for c in cases.list_cases(ctx, coordinator, state=State.referred).items)
    overdue = _listed(web, "/queue/overdue")
    expected = cases.list_cases(ctx, coordinator, overdue=True).items
    assert len(expected) >= 2 and sorted(overdue) == sorted(str(c.id) for c in expected)
    assert ('href="/queue/overdue">Tous les dossiers en retard</a>' in queue) is (len(expected) > 1)
    for path in ("/queue/overdue?", "/queue/to-close?", "/queue?state=referred&"):
        tampered = web.get(path + "cursor=not-a-cursor")  # a cursor typed or cut short: an error page, not a 500
        assert tampered.status_code == 422 and "Traceback" not in tampered.text


def test_the_cases_to_close_are_listed_a_page_at_a_time(
    ctx: ServiceContext, web: WebClient, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(case_lists, "OVERVIEW", 1)
    monkeypatch.setattr(case_lists, "PAGE", 1)
    _world(ctx)
    coordinator, referrer = principal_named(ctx, "coordinator1"), principal_named(ctx, "referrer1")
    assessors = [principal_named(ctx, "assessor1"), principal_named(ctx, "assessor-police")]
    stuck = []
    for _ in range(2):
        case_id = refer(ctx, referrer)
        for n, assessor in enumerate(assessors):
            if n:
                event(ctx, referrer, case_id, "request_reconsideration", reasons="new evidence")
            event(ctx, coordinator, case_id, "assign_assessor", assessor_id=str(assessor.user_id))
            event(ctx, assessor, case_id, "preliminary_decision", outcome="negative", reasons="no grounds")
        stuck.append(str(case_id))
        clock.advance(timedelta(hours=1))
    web.sign_in("coordinator1")
    queue = web.get("/queue").text
    assert '<a class="link" href="/queue/to-close">Tous les dossiers à clore</a>' in queue
    assert _listed(web, "/queue/to-close") == stuck  # the oldest decision first
