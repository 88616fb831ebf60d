"""The coordinators' transfer pages, on both databases, between two instances (each its own database, key file
and web application; a courier carries the sealed bytes in-process): a case sent from A's pages (errors in the
person's language, check your answers, confirmation, the outbox while B is down), read on B's pages for a
stated purpose, accepted with the new reference shown, the receipt closing A's case; a child's case refused
with a reason; who sees the pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.clock import FrozenClock
from app.main import create_app
from app.services import cases, transfers
from tests.factories import event
from tests.transfers.helpers import (
    BEST_INTERESTS,
    SECRET_NAME,
    SECRET_STORY,
    InProcessCourier,
    Instance,
    adult_in_recovery,
    attach,
    audit_entries,
    child_referred,
    make_instance,
    pair,
)
from tests.web.helpers import WebClient, create_account

ENGLISH = {"Accept-Language": "en-GB"}


@pytest.fixture
def two(
    database_url: str, peer_database_url: str, tmp_path: Path, clock: FrozenClock
) -> Iterator[tuple[Instance, Instance]]:
    a = make_instance("a", database_url, tmp_path, clock, policy="fr", country="FR", url="https://nrm-a.test")
    b = make_instance("b", peer_database_url, tmp_path, clock, policy="be", country="BE", url="https://nrm-b.test")
    pair(a, b)
    yield a, b
    a.ctx.close()
    b.ctx.close()


@pytest.fixture
def browsers(two: tuple[Instance, Instance]) -> Iterator[tuple[WebClient, WebClient]]:
    """A's and B's web applications, each with its coordinator signed in."""
    a, b = two
    with (
        TestClient(create_app(context=a.ctx), base_url=a.url, raise_server_exceptions=False) as client_a,
        TestClient(create_app(context=b.ctx), base_url=b.url, raise_server_exceptions=False) as client_b,
    ):
        web_a, web_b = WebClient(client_a, a.url), WebClient(client_b, b.url)
        assert web_a.sign_in("coordinator-a").status_code == 303
        assert web_b.sign_in("coordinator-b").status_code == 303
        yield web_a, web_b


def _consent_fields(clock: FrozenClock, **changes: str) -> dict[str, str]:
    given = clock.now() - timedelta(days=1)
    return {
        "peer": "b",
        "reason": "person_relocated",
        "consent_how": "in_writing",
        "consent_date-day": str(given.day),
        "consent_date-month": str(given.month),
        "consent_date-year": str(given.year),
        "consent_time": "14h30",
        **changes,
    }


def _received_id(instance: Instance) -> uuid.UUID:
    [waiting] = transfers.list_transfers(instance.ctx, direction=transfers.TransferDirection.incoming)
    return waiting.id


def test_a_case_sent_from_a_s_pages_is_accepted_on_b_s_and_the_receipt_closes_it(
    two: tuple[Instance, Instance], browsers: tuple[WebClient, WebClient], clock: FrozenClock
) -> None:
    a, b = two
    web_a, web_b = browsers
    case_id = adult_in_recovery(a)
    document_id = attach(a, case_id, f"statement: {SECRET_STORY}")
    path = f"/cases/{case_id}/transfer"

    form = web_a.get(path)
    assert form.status_code == 200
    assert "Envoyer la situation au mécanisme d’un autre pays" in form.text
    assert b.line.split("fingerprint=")[1] in form.text  # the fingerprint to check by telephone
    assert f'value="{document_id}"' in form.text

    # Nothing answered: every question says what is missing, in French, then in English.
    empty = web_a.submit(path, {"action": "check"}, from_page=path)
    assert empty.status_code == 422 and "<title>Erreur" in empty.text
    for field in ("peer", "reason", "consent_how", "consent_date"):
        assert f'href="#{field}"' in empty.text, field
    assert "Choisissez le mécanisme qui reçoit la situation" in empty.text
    english = web_a.submit(path, {"action": "check"}, from_page=path, headers=ENGLISH)
    assert "Choose the mechanism to send the case to" in english.text
    future = web_a.submit(
        path, _consent_fields(clock, **{"consent_date-year": str(clock.now().year + 1)}), from_page=path
    )
    assert future.status_code == 422 and "Le consentement ne peut pas avoir été donné après maintenant" in future.text
    bad_time = web_a.submit(path, _consent_fields(clock, consent_time="25h99"), from_page=path)
    assert bad_time.status_code == 422 and 'href="#consent_time"' in bad_time.text

    # Check your answers, change them, check again, send.
    fields = {**_consent_fields(clock), "documents": str(document_id), "action": "check"}
    check = web_a.submit(path, fields, from_page=path)
    assert check.status_code == 200 and "Vérifiez le transfert avant de l’envoyer" in check.text
    assert "Par écrit" in check.text and "14:30" in check.text
    assert transfers.list_transfers(a.ctx) == []  # nothing is sent before "Send"
    change = web_a.submit(path, {**fields, "action": "change"}, from_page=path)
    assert change.status_code == 200 and 'value="in_writing" checked' in change.text
    sent = web_a.submit(path, {**fields, "action": "send"}, from_page=path)
    assert sent.status_code == 303
    confirmation = web_a.get(sent.headers["location"])
    [outgoing] = transfers.list_transfers(a.ctx)
    assert str(outgoing.transfer_id) in confirmation.text and "Transfert demandé" in confirmation.text
    assert outgoing.consent_method is not None and outgoing.consent_method.value == "in_writing"
    assert SECRET_NAME not in confirmation.text
    again = web_a.get(path)
    assert "Un transfert de cette situation est en cours" in again.text and 'name="action"' not in again.text

    # B is down: the outbox says so on the case's transfer page, then B is up and the next pass delivers.
    courier = InProcessCourier(a, b)
    courier.down = True
    assert transfers.deliver_due(a.ctx, courier).retrying == 1
    assert "n’a pas pu être joint (1 tentative)" in web_a.get(path).text
    courier.down = False
    assert transfers.deliver_due(a.ctx, courier).delivered == 0  # the backoff holds
    clock.advance(timedelta(minutes=1))
    assert transfers.deliver_due(a.ctx, courier).delivered == 1
    assert "Livré, en attente d’une réponse" in web_a.get(path).text

    # B's coordinator: the inbox, the package without personal data, the purpose step, then its content.
    inbox = web_b.get("/transfers")
    received_id = _received_id(b)
    assert f'href="/transfers/{received_id}"' in inbox.text and SECRET_NAME not in inbox.text
    summary = web_b.get(f"/transfers/{received_id}")
    assert summary.status_code == 200 and SECRET_NAME not in summary.text and SECRET_STORY not in summary.text
    assert "Délai de réflexion accordé là-bas" in summary.text
    no_purpose = web_b.submit(f"/transfers/{received_id}/package", {}, from_page=f"/transfers/{received_id}")
    assert no_purpose.status_code == 422 and "Dites pourquoi vous ouvrez le dossier transmis" in no_purpose.text
    opened = web_b.submit(
        f"/transfers/{received_id}/package", {"purpose": "assessment"}, from_page=f"/transfers/{received_id}"
    )
    assert opened.status_code == 200 and SECRET_NAME in opened.text and SECRET_STORY in opened.text
    document = re.search(rf'href="(/transfers/{received_id}/documents/0\?purpose=assessment)"', opened.text)
    assert document is not None
    assert SECRET_STORY in web_b.get(document.group(1)).text
    assert web_b.get(f"/transfers/{received_id}/documents/0").status_code == 404  # no purpose, no document
    read = [e for e in audit_entries(b) if e.action in ("transfer.package_read", "transfer.document_read")]
    assert [e.details["purpose"] for e in read] == ["assessment", "assessment"]

    # Accept: the confirmation shows the new case's reference; the receipt closes A's case.
    accepted = web_b.submit(f"/transfers/{received_id}/accept", {}, from_page=f"/transfers/{received_id}")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/transfers/{received_id}/accepted"
    new_case_id = transfers.get_transfer(b.ctx, received_id).case_id
    assert new_case_id is not None
    reference = cases.get_case(b.ctx, b.coordinator, new_case_id).reference
    done = web_b.get(accepted.headers["location"])
    assert "Situation acceptée" in done.text and reference in done.text and f'href="/cases/{new_case_id}"' in done.text
    twice = web_b.submit(f"/transfers/{received_id}/accept", {}, from_page=f"/transfers/{received_id}/accepted")
    assert twice.status_code == 409 and "Une décision a déjà été prise sur ce dossier transmis." in twice.text
    assert transfers.deliver_due(b.ctx, InProcessCourier(a, b)).delivered == 1
    closed = web_a.get(path)
    assert "Accepté" in closed.text and reference in closed.text
    assert "La situation a été transférée\u00a0: elle est clôturée ici." in closed.text
    assert cases.get_case(a.ctx, a.coordinator, case_id).close_reason == "transferred"


def test_a_child_s_case_needs_a_best_interests_determination_and_b_refuses_it_with_a_reason(
    two: tuple[Instance, Instance], browsers: tuple[WebClient, WebClient], clock: FrozenClock
) -> None:
    a, b = two
    web_a, web_b = browsers
    child_id = child_referred(a)
    path = f"/cases/{child_id}/transfer"
    form = web_a.get(path, headers=ENGLISH)
    assert "best-interests determination" in form.text and 'name="consent_how"' not in form.text
    missing = web_a.submit(path, {"peer": "b", "reason": "family_there"}, from_page=path, headers=ENGLISH)
    assert missing.status_code == 422 and "Write the best-interests determination" in missing.text
    fields = {"peer": "b", "reason": "family_there", "best_interests": BEST_INTERESTS}
    assert web_a.submit(path, {**fields, "action": "send"}, from_page=path).status_code == 303
    assert transfers.deliver_due(a.ctx, InProcessCourier(a, b)).delivered == 1

    received_id = _received_id(b)
    refuse_path = f"/transfers/{received_id}/refuse"
    no_reason = web_b.submit(refuse_path, {}, from_page=refuse_path, headers=ENGLISH)
    assert no_reason.status_code == 422 and "Choose why you refuse the package" in no_reason.text
    refused = web_b.submit(refuse_path, {"reason": "duplicate"}, from_page=refuse_path)
    assert refused.status_code == 303 and refused.headers["location"] == "/transfers?status=refused"
    assert "Le dossier transmis a été refusé" in web_b.get(refused.headers["location"]).text
    assert transfers.get_transfer(b.ctx, received_id).state.value == "refused"
    assert transfers.deliver_due(b.ctx, InProcessCourier(a, b)).delivered == 1
    answered = web_a.get(path, headers=ENGLISH)
    assert "Refused" in answered.text and "We already hold this person" in answered.text
    assert cases.get_case(a.ctx, a.coordinator, child_id).state.value == "referred"  # the case stays here


def test_only_coordinators_see_the_transfer_pages(
    two: tuple[Instance, Instance], browsers: tuple[WebClient, WebClient]
) -> None:
    a, _ = two
    web_a, _ = browsers
    assert 'href="/transfers"' in web_a.get("/my-work").text
    case_id = adult_in_recovery(a)
    create_account(a.ctx, "referrer-web", ["referrer"])
    assert web_a.sign_out().status_code == 303
    assert web_a.sign_in("referrer-web").status_code == 303
    assert 'href="/transfers"' not in web_a.get("/my-work").text
    assert web_a.get("/transfers").status_code == 403
    assert web_a.get(f"/cases/{case_id}/transfer").status_code == 403


def test_a_case_ended_between_the_check_and_send_is_refused_in_words(
    two: tuple[Instance, Instance], browsers: tuple[WebClient, WebClient], clock: FrozenClock
) -> None:
    a, _ = two
    web_a, _ = browsers
    case_id = adult_in_recovery(a)
    path = f"/cases/{case_id}/transfer"
    fields = _consent_fields(clock)
    assert web_a.submit(path, {**fields, "action": "check"}, from_page=path).status_code == 200
    event(a.ctx, a.coordinator, case_id, "withdraw_consent", request={"how": "orally", "at": clock.now().isoformat()})
    refused = web_a.submit(path, {**fields, "action": "send"}, from_page="/transfers")
    assert refused.status_code == 422 and 'href="#peer"' in refused.text
    assert "Une situation clôturée n’est pas transférée." in refused.text
    assert transfers.list_transfers(a.ctx) == []
