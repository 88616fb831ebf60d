"""Transfers between two instances through the services, on both databases (each instance its own database and
key file; a courier carries the sealed bytes between them in-process): an adult's case with consent and a
child's with a best-interests determination, accepted, the reflection period carried over, the sender's case
closed by the receipt and erased after retention; a refusal; sending twice; the peer down then up; giving up;
erasure before delivery; the peer registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import FrozenClock
from app.models import CaseHistory, Document, OutboxMessage, Transfer
from app.security.transfer_package import Receipt, RefusalReason, seal_receipt
from app.services import audit, cases, keys, scheduler, transfers
from app.services.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from app.services.instance import local_identity
from app.services.transfers import AcceptInput, InboxRefusal, TransferDirection, TransferRequest, TransferState, inbox
from app.services.transfers.delivery import GIVE_UP_AFTER
from app.workflow import Purpose
from app.workflow.transfers import TransferReason
from tests.transfers.helpers import (
    BEST_INTERESTS,
    CHILD_NAME,
    CHILD_STORY,
    SECRET_NAME,
    SECRET_STORY,
    InProcessCourier,
    Instance,
    adult_in_recovery,
    adult_request,
    attach,
    audit_entries,
    audit_text,
    child_referred,
    child_request,
    details_of,
    footprint,
    make_instance,
    pair,
    with_transfer_id,
)


@pytest.fixture
def two(
    database_url: str, peer_database_url: str, tmp_path: Path, clock: FrozenClock
) -> Iterator[tuple[Instance, Instance]]:
    """Instance `a` (France, policy fr) and instance `b` (Belgium, policy be: a 45-day reflection period),
    registered with each other."""
    a = make_instance("a", database_url, tmp_path, clock, policy="fr", country="FR", url="https://nrm-a.test")
    b = make_instance("b", peer_database_url, tmp_path, clock, policy="be", country="BE", url="https://nrm-b.test")
    pair(a, b)
    yield a, b
    a.ctx.close()
    b.ctx.close()


def _deliver(instance: Instance, courier: InProcessCourier) -> transfers.DeliveryReport:
    return transfers.deliver_due(instance.ctx, courier)


def _reflection_due(view: cases.CaseView) -> object:
    rows = [d for d in view.deadlines if d.kind.value == "reflection_period" and d.met_at is None]
    assert len(rows) == 1, view.deadlines
    return rows[0].due_at


def test_an_adult_s_case_moves_with_consent_and_the_receipt_closes_the_sender_s(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    case_id = adult_in_recovery(a)
    document_id = attach(a, case_id, f"statement: {SECRET_STORY}")
    sender_due = _reflection_due(cases.get_case(a.ctx, a.coordinator, case_id))
    clock.advance(timedelta(days=3))

    sent = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", document_id, clock=clock))
    assert not sent.replayed and sent.view.state is TransferState.pending
    assert (
        sent.view.summary.classification.is_child is False and sent.view.summary.documents[0].kind.value == "evidence"
    )
    again = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", clock=clock))
    assert again.replayed and again.view.id == sent.view.id  # nothing created twice
    transfer_id = sent.view.transfer_id

    assert _deliver(a, courier).delivered == 1
    assert transfers.get_transfer(a.ctx, sent.view.id).state is TransferState.delivered
    assert _deliver(a, courier).delivered == 0 and len(courier.carried) == 1
    # The sealed bytes hold neither the name nor a word of the story.
    for secret in (SECRET_NAME, SECRET_STORY, "Quillon", "Orrible", "laundry"):
        assert secret.encode() not in courier.carried[0]

    [received] = transfers.list_transfers(b.ctx, direction=TransferDirection.incoming)
    assert received.transfer_id == transfer_id and received.state is TransferState.received
    assert received.peer == "a" and received.peer_reference == cases.get_case(a.ctx, a.coordinator, case_id).reference
    assert received.summary.decisions.preliminary is not None
    assert received.summary.decisions.preliminary.outcome.value == "positive"
    assert SECRET_NAME not in received.summary.model_dump_json()
    with pytest.raises(Forbidden):
        transfers.read_package(b.ctx, b.auditor, received.id, Purpose.assessment)
    content = transfers.read_package(b.ctx, b.coordinator, received.id, Purpose.assessment)
    assert content.person["full_name"] == SECRET_NAME and content.account["what_happened"] == SECRET_STORY
    assert transfers.read_package_document(b.ctx, b.coordinator, received.id, 0, Purpose.assessment).data == (
        f"statement: {SECRET_STORY}".encode()
    )

    accepted = transfers.accept_transfer(b.ctx, b.coordinator, received.id, AcceptInput(region="BE-BRU"))
    new_case = accepted.case
    assert accepted.reference == new_case.reference and accepted.transfer.case_id == new_case.id
    # be recognises the reasonable grounds: the reflection period runs on, 45 days from the sender's decision,
    # so it ends after the sender's 30.
    assert new_case.state.value == "recovery_period" and new_case.region == "BE-BRU"
    assert _reflection_due(new_case) > sender_due  # type: ignore[operator]
    identity = cases.read_identity(b.ctx, b.coordinator, new_case.id, "assessment")
    assert identity.person["full_name"] == SECRET_NAME and identity.account["what_happened"] == SECRET_STORY
    with b.ctx.sessions() as session:
        assert len(list(session.scalars(select(Document).where(Document.case_id == new_case.id)))) == 1
    with pytest.raises(Conflict):
        transfers.read_package(b.ctx, b.coordinator, received.id, Purpose.assessment)  # destroyed once decided
    with pytest.raises(Conflict):
        transfers.accept_transfer(b.ctx, b.coordinator, received.id)

    # Before the receipt arrives the sender's case is still open; then it closes as transferred.
    assert cases.get_case(a.ctx, a.coordinator, case_id).state.value == "recovery_period"
    assert _deliver(b, courier).delivered == 1
    closed = cases.get_case(a.ctx, a.coordinator, case_id)
    assert closed.state.value == "closed" and closed.close_reason is not None
    assert closed.close_reason.value == "transferred"
    outgoing = transfers.get_transfer(a.ctx, sent.view.id)
    assert outgoing.state is TransferState.accepted and outgoing.peer_reference == accepted.reference
    [last] = cases.history(a.ctx, a.coordinator, case_id)[-1:]
    assert last.event == "transfer_completed" and last.facts["peer"] == "b"
    assert last.facts["peer_reference"] == accepted.reference
    assert not any(d.status.value in ("open", "overdue") for d in closed.deadlines)

    # Both sides audited every step with the transfer id, and no personal data in either log.
    assert with_transfer_id(a, transfer_id) == [
        "transfer.requested",
        "transfer.delivered",
        "transfer.receipt_received",
    ]
    assert with_transfer_id(b, transfer_id) == [
        "transfer.received",
        "transfer.package_read",
        "transfer.document_read",
        "transfer.accepted",
        "transfer.receipt_delivered",
    ]
    assert details_of(audit_entries(b), "transfer.package_read")["purpose"] == "assessment"
    for instance in (a, b):
        text = audit_text(instance)
        for secret in (SECRET_NAME, SECRET_STORY, "Quillon"):
            assert secret not in text
        assert audit.verify(instance.ctx).valid

    # The sender's personal data then follow its retention policy.
    clock.advance(timedelta(days=a.ctx.policy.retention_days_after_closure + 1))
    assert scheduler.erase_due(a.ctx) == 1
    with pytest.raises(Gone):
        cases.read_identity(a.ctx, a.coordinator, case_id, "assessment")


def test_a_child_s_case_moves_on_a_best_interests_determination(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    case_id = child_referred(a)
    with pytest.raises(InvalidInput) as missing:
        transfers.send_transfer(
            a.ctx, a.coordinator, case_id, TransferRequest(peer="b", reason=TransferReason.family_there)
        )
    assert missing.value.errors[0].loc == ("best_interests_missing",)
    sent = transfers.send_transfer(a.ctx, a.coordinator, case_id, child_request("b"))
    assert sent.view.is_child and sent.view.consent_method is None
    _deliver(a, courier)
    assert CHILD_NAME.encode() not in courier.carried[0] and b"Glissade" not in courier.carried[0]
    [received] = transfers.list_transfers(b.ctx, direction=TransferDirection.incoming)
    assert received.is_child and received.summary.transfer.best_interests_determination_recorded
    content = transfers.read_package(b.ctx, b.coordinator, received.id, Purpose.safeguarding)
    assert content.best_interests_determination == BEST_INTERESTS and content.person["full_name"] == CHILD_NAME

    accepted = transfers.accept_transfer(b.ctx, b.coordinator, received.id)
    child = accepted.case
    # Not assessed at the sender: it starts at referral here, with the child's protection duties from now.
    assert child.state.value == "referred" and child.is_child
    kinds = {d.kind.value for d in child.deadlines}
    assert {"preliminary_decision", "child_protection_referral", "guardian_appointment"} <= kinds
    assert child.region == "BE"  # the sender's region is in another country
    assert cases.read_identity(b.ctx, b.coordinator, child.id, "safeguarding").account["what_happened"] == CHILD_STORY
    _deliver(b, courier)
    assert cases.get_case(a.ctx, a.coordinator, case_id).close_reason.value == "transferred"  # type: ignore[union-attr]
    for instance in (a, b):
        assert BEST_INTERESTS not in audit_text(instance) and CHILD_NAME not in audit_text(instance)


def test_a_refusal_comes_back_with_its_reason_and_the_case_stays(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    case_id = adult_in_recovery(a)
    with pytest.raises(InvalidInput):
        transfers.send_transfer(a.ctx, a.coordinator, case_id, TransferRequest(peer="b", reason=TransferReason.safety))
    with pytest.raises(InvalidInput):
        transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("nobody", clock=clock))
    with pytest.raises(InvalidInput):
        transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", uuid.uuid4(), clock=clock))
    first = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", clock=clock))
    _deliver(a, courier)
    [received] = transfers.list_transfers(b.ctx, direction=TransferDirection.incoming)
    refused = transfers.refuse_transfer(b.ctx, b.coordinator, received.id, RefusalReason.NO_JURISDICTION)
    assert refused.state is TransferState.refused and refused.case_id is None
    _deliver(b, courier)
    back = transfers.get_transfer(a.ctx, first.view.id)
    assert back.state is TransferState.refused and back.refusal_reason is RefusalReason.NO_JURISDICTION
    assert cases.get_case(a.ctx, a.coordinator, case_id).state.value == "recovery_period"
    assert details_of(audit_entries(a), "transfer.receipt_received")["case_closed"] is False
    # Answered: the case may be sent again, a new transfer.
    second = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", clock=clock))
    assert not second.replayed and second.view.transfer_id != first.view.transfer_id


def test_the_peer_down_then_up_gets_the_package_once_and_a_long_outage_gives_up(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    courier.down = True
    case_id = adult_in_recovery(a)
    sent = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", clock=clock))
    report = scheduler.run_pass(a.ctx, courier)
    assert (report.delivered, report.retrying) == (0, 1)
    view = transfers.get_transfer(a.ctx, sent.view.id)
    assert view.delivery is not None and view.delivery.last_error == "unreachable" and view.delivery.attempts == 1
    first_wait = view.delivery.next_attempt_at - clock.now()  # type: ignore[operator]
    assert scheduler.run_pass(a.ctx, courier).retrying == 0  # not due yet: the backoff holds
    clock.advance(first_wait)
    assert scheduler.run_pass(a.ctx, courier).retrying == 1
    retried = transfers.get_transfer(a.ctx, sent.view.id).delivery
    assert retried is not None and retried.next_attempt_at is not None
    second_wait = retried.next_attempt_at - clock.now()
    assert second_wait == 2 * first_wait  # exponential

    courier.down = False
    clock.advance(second_wait)
    assert scheduler.run_pass(a.ctx, courier).delivered == 1
    clock.advance(timedelta(hours=2))
    assert scheduler.run_pass(a.ctx, courier).delivered == 0
    assert len(courier.carried) == 1 and len(transfers.list_transfers(b.ctx)) == 1
    assert transfers.get_transfer(a.ctx, sent.view.id).delivery.attempts == 3  # type: ignore[union-attr]

    # Another case while the peer stays down: given up after half the freshness window, and audited.
    courier.down = True
    other = adult_in_recovery(a)
    lost = transfers.send_transfer(a.ctx, a.coordinator, other, adult_request("b", clock=clock))
    for _ in range(23):
        clock.advance(timedelta(hours=4))
        scheduler.run_pass(a.ctx, courier)
    assert clock.now() - lost.view.created_at > GIVE_UP_AFTER
    failed = transfers.get_transfer(a.ctx, lost.view.id)
    assert failed.state is TransferState.failed and failed.delivery is not None
    assert failed.delivery.last_error == "undeliverable"
    assert details_of(audit_entries(a), "transfer.delivery_failed")["code"] == "undeliverable"
    assert not transfers.send_transfer(a.ctx, a.coordinator, other, adult_request("b", clock=clock)).replayed


def test_erasure_before_delivery_sends_nothing_and_removing_a_peer_stops_delivery(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    case_id = adult_in_recovery(a)
    sent = transfers.send_transfer(a.ctx, a.coordinator, case_id, adult_request("b", clock=clock))
    cases.erase(a.ctx, a.coordinator, case_id, "person_request")
    assert _deliver(a, courier).delivered == 0 and courier.carried == []
    assert transfers.get_transfer(a.ctx, sent.view.id).state is TransferState.failed

    other = adult_in_recovery(a)
    pending = transfers.send_transfer(a.ctx, a.coordinator, other, adult_request("b", clock=clock))
    transfers.remove_peer(a.ctx, "b")
    assert _deliver(a, courier).failed == 1 and courier.carried == []
    view = transfers.get_transfer(a.ctx, pending.view.id)
    assert view.state is TransferState.failed and view.delivery.last_error == "peer-removed"  # type: ignore[union-attr]
    actions = [e.action for e in audit_entries(a)]
    assert "peer.removed" in actions and "peer.registered" in actions


def test_the_peer_registry(two: tuple[Instance, Instance], tmp_path: Path, clock: FrozenClock) -> None:
    a, b = two
    assert [p.name for p in transfers.list_peers(a.ctx)] == ["b"]
    with pytest.raises(Conflict):
        transfers.add_peer(a.ctx, "b", b.line)  # the name is taken
    with pytest.raises(Conflict, match="registered already, as 'b'"):
        transfers.add_peer(a.ctx, "b-again", b.line)  # signing keys are unique across peers
    with pytest.raises(InvalidInput):
        transfers.add_peer(a.ctx, "self", a.line)
    with pytest.raises(InvalidInput):
        transfers.add_peer(a.ctx, "Bad Name", b.line)
    broken = b.line[:-1] + ("1" if b.line[-1] != "1" else "2")
    with pytest.raises(InvalidInput, match="fingerprint"):
        transfers.add_peer(a.ctx, "c", broken)
    with pytest.raises(NotFound):
        transfers.remove_peer(a.ctx, "nobody")
    registered = details_of(audit_entries(a), "peer.registered")
    assert registered == {
        "peer": "b",
        "country": "BE",
        "url": "https://nrm-b.test",
        "fingerprint": registered["fingerprint"],
    }


def test_a_received_package_s_key_follows_a_kek_rotation(two: tuple[Instance, Instance], clock: FrozenClock) -> None:
    a, b = two
    courier = InProcessCourier(a, b)
    transfers.send_transfer(a.ctx, a.coordinator, adult_in_recovery(a), adult_request("b", clock=clock))
    _deliver(a, courier)
    old_kek = b.ctx.keyring.active_kek_id
    report = keys.rotate(b.ctx)
    assert report.rewrapped >= 1
    keys.retire(b.ctx, old_kek)  # nothing left under it: the waiting package was re-wrapped too
    [received] = transfers.list_transfers(b.ctx, direction=TransferDirection.incoming)
    assert (
        transfers.read_package(b.ctx, b.coordinator, received.id, Purpose.assessment).person["full_name"] == SECRET_NAME
    )
    with b.ctx.sessions() as session:
        assert session.scalar(select(CaseHistory.id).limit(1)) is None  # no case here until accepted


def _outbox_bytes(instance: Instance) -> bytes:
    with instance.ctx.sessions() as session:
        data = session.scalar(select(OutboxMessage.data).where(OutboxMessage.status == "pending"))
    assert data is not None
    return data


def test_concurrent_deliveries_and_receipts_that_answer_nothing_we_sent(
    two: tuple[Instance, Instance], clock: FrozenClock
) -> None:
    a, b = two
    transfers.send_transfer(a.ctx, a.coordinator, adult_in_recovery(a), adult_request("b", clock=clock))
    package = _outbox_bytes(a)
    # Two workers (or a retry racing the first attempt) deliver the same bytes at once: taken once.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: transfers.receive(b.ctx, package), range(4)))
    assert len({(x.transfer_id, x.message_id, x.status) for x in answers}) == 1
    [received] = transfers.list_transfers(b.ctx)
    transfers.accept_transfer(b.ctx, b.coordinator, received.id)
    receipt = _outbox_bytes(b)
    a_identity = local_identity(a.ctx.settings, a.ctx.keyring)
    b_keys = b.ctx.keyring.active_instance_keys

    def refused(data: bytes, code: str) -> None:
        before = footprint(a)
        with pytest.raises(InboxRefusal) as error:
            transfers.receive(a.ctx, data)
        assert error.value.code == code and footprint(a) == before

    stray = Receipt.accepted(uuid.uuid4(), "B-REF")
    refused(
        seal_receipt(stray, transfer_id=uuid.uuid4(), sender=b_keys, recipient=a_identity, now=clock.now()).data,
        "unknown-transfer",
    )
    first = transfers.receive(a.ctx, receipt)
    assert transfers.receive(a.ctx, receipt) == first  # the same bytes again: the same answer
    answered = transfers.list_transfers(a.ctx)[0]
    again = Receipt.refused(_package_message(a), RefusalReason.OTHER)
    refused(
        seal_receipt(
            again, transfer_id=received.transfer_id, sender=b_keys, recipient=a_identity, now=clock.now()
        ).data,
        "duplicate-receipt",
    )
    assert transfers.get_transfer(a.ctx, answered.id).state is TransferState.accepted


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_same_package_taken_by_another_request_meanwhile_gets_the_first_answer(
    two: tuple[Instance, Instance], clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving the concurrent test above meets only sometimes, made certain: another request takes
    the same bytes and commits while this one is inside its transaction. PostgreSQL only: on SQLite, BEGIN
    IMMEDIATE makes the other request wait for this whole transaction, so they cannot interleave."""
    a, b = two
    transfers.send_transfer(a.ctx, a.coordinator, adult_in_recovery(a), adult_request("b", clock=clock))
    package = _outbox_bytes(a)
    real_held = inbox.held_transfer
    first: list[transfers.InboxAnswer] = []

    def held_after_another_request(session: Session, direction: TransferDirection, opened: Any) -> Any:
        if not first:
            first.append(transfers.InboxAnswer("", "", uuid.uuid4(), uuid.uuid4()))  # the other one runs once
            with ThreadPoolExecutor(1) as pool:
                first[0] = pool.submit(transfers.receive, b.ctx, package).result()
        return real_held(session, direction, opened)

    monkeypatch.setattr(inbox, "held_transfer", held_after_another_request)
    assert transfers.receive(b.ctx, package) == first[0]
    assert len(transfers.list_transfers(b.ctx)) == 1


def _package_message(instance: Instance) -> uuid.UUID:
    with instance.ctx.sessions() as session:
        return session.scalars(select(Transfer.package_message_id)).one()
