"""Two instances of the service on loopback, as two national coordinators would run them: each a uvicorn server
in a thread on a free port, with its own SQLite database and key file, registered with each other; the worker
(`scheduler.run_pass`, as `nrm worker` runs it) delivers over HTTP through a relay in front of each instance
that keeps every byte peers send it (what a network observer would see).

- an adult's case with consent, then a child's with a best-interests determination, accepted at the other end;
  the reflection period carried over; the receipt closing the sender's case;
- the peer down, then up: the worker delivers once;
- a tampered package, a replayed one, one from an unregistered instance, one sealed to another instance, a
  stale one and an oversized one: each refused with its code and an audit entry, changing nothing else;
- the bytes on the wire hold neither the name nor any word of the story.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.clock import FrozenClock
from app.models import OutboxMessage
from app.security.instance_identity import InstanceIdentity
from app.security.keyfile import ensure_key_file
from app.security.transfer_package import seal_json_package
from app.services import scheduler
from app.services.instance import local_identity
from tests.transfers.helpers import (
    BEST_INTERESTS,
    CHILD_NAME,
    CHILD_STORY,
    SECRET_NAME,
    SECRET_STORY,
    adult_in_recovery,
    attach,
    audit_count,
    audit_entries,
    child_referred,
    footprint,
    with_transfer_id,
)
from tests.transfers.live import Side, two_live_instances

pytestmark = pytest.mark.slow


@pytest.fixture
def sides(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    with two_live_instances(sqlite_template, tmp_path) as (a, b):
        a.server.start()  # b starts down: the test brings it up
        yield a, b


def _clock(side: Side) -> FrozenClock:
    clock = side.instance.ctx.clock
    assert isinstance(clock, FrozenClock)
    return clock


def _send(side: Side, case_id: uuid.UUID, body: dict[str, Any]) -> httpx.Response:
    return side.call("POST", f"/api/v1/cases/{case_id}/transfers", json=body)


def _pending_bytes(side: Side) -> bytes:
    """The sealed message waiting in this instance's outbox (read before the worker sends it)."""
    with side.instance.ctx.sessions() as session:
        data = session.scalar(select(OutboxMessage.data).where(OutboxMessage.status == "pending"))
    assert data is not None
    return data


def _reflection_due(case: dict[str, Any]) -> str:
    [row] = [d for d in case["deadlines"] if d["kind"] == "reflection_period" and d["met_at"] is None]
    return str(row["due_at"])


def test_two_coordinators_transfer_cases_and_refuse_what_is_not_theirs(
    sides: tuple[Side, Side], tmp_path: Path
) -> None:
    a, b = sides
    clock = _clock(a)
    case_id = adult_in_recovery(a.instance)
    document_id = attach(a.instance, case_id, f"account in the person's words: {SECRET_STORY}")
    sender_case = a.call("GET", f"/api/v1/cases/{case_id}").json()
    consent = {"how": "orally", "at": (clock.now() - timedelta(hours=1)).isoformat()}
    body = {"peer": "b", "reason": "person_relocated", "consent": consent, "documents": [str(document_id)]}
    refused_without_consent = _send(a, case_id, {"peer": "b", "reason": "person_relocated"})
    assert refused_without_consent.status_code == 422

    first = _send(a, case_id, body)
    assert first.status_code == 201, first.text
    again = _send(a, case_id, body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    transfer_id = first.json()["transfer_id"]
    package = _pending_bytes(a)

    # b is down: the worker keeps the package and tries again later.
    report = scheduler.run_pass(a.instance.ctx)
    assert (report.delivered, report.retrying) == (0, 1)
    assert footprint(b.instance)["transfers"] == 0
    b.server.start()
    assert scheduler.run_pass(a.instance.ctx).delivered == 0  # the backoff holds
    clock.advance(timedelta(minutes=1))
    assert scheduler.run_pass(a.instance.ctx).delivered == 1
    clock.advance(timedelta(minutes=30))
    assert scheduler.run_pass(a.instance.ctx).delivered == 0
    assert b.relay.captured.count(b"POST /api/v1/transfers/inbox") == 1  # delivered once

    # b's coordinator reviews what came, reads it for a stated purpose, and accepts it.
    incoming = b.call("GET", "/api/v1/transfers", params={"direction": "incoming"}).json()
    assert [t["transfer_id"] for t in incoming] == [transfer_id]
    received = incoming[0]
    assert received["state"] == "received" and received["consent_method"] == "orally"
    assert SECRET_NAME not in str(received)
    url = f"/api/v1/transfers/{received['id']}"
    assert b.call("GET", f"{url}/package", params={"purpose": "curiosity"}).status_code == 422
    content = b.call("GET", f"{url}/package", params={"purpose": "assessment"}).json()
    assert content["person"]["full_name"] == SECRET_NAME and content["account"]["what_happened"] == SECRET_STORY
    assert SECRET_STORY in b.call("GET", f"{url}/package/documents/0", params={"purpose": "assessment"}).text
    accepted = b.call("POST", f"{url}/accept", json={"region": "BE-VLG"})
    assert accepted.status_code == 200, accepted.text
    new_case = accepted.json()["case"]
    assert accepted.json()["reference"] == new_case["reference"] and new_case["state"] == "recovery_period"
    assert _reflection_due(new_case) >= _reflection_due(sender_case)
    assert b.call("POST", f"{url}/accept").status_code == 409

    # b's worker sends the signed receipt back; a's case closes as transferred, naming b and b's reference.
    assert scheduler.run_pass(b.instance.ctx).delivered == 1
    closed = a.call("GET", f"/api/v1/cases/{case_id}").json()
    assert closed["state"] == "closed" and closed["close_reason"] == "transferred"
    sent = a.call("GET", f"/api/v1/transfers/{first.json()['id']}").json()
    assert sent["state"] == "accepted" and sent["peer_reference"] == accepted.json()["reference"]
    assert received["peer_reference"] == sender_case["reference"]
    assert with_transfer_id(a.instance, uuid.UUID(transfer_id))[-1] == "transfer.receipt_received"
    assert with_transfer_id(b.instance, uuid.UUID(transfer_id))[-1] == "transfer.receipt_delivered"

    # A child's case, on a best-interests determination.
    child_id = child_referred(a.instance)
    child = _send(a, child_id, {"peer": "b", "reason": "family_there", "best_interests_determination": BEST_INTERESTS})
    assert child.status_code == 201, child.text
    assert scheduler.run_pass(a.instance.ctx).delivered == 1
    [waiting] = b.call("GET", "/api/v1/transfers", params={"state": "received"}).json()
    taken = b.call("POST", f"/api/v1/transfers/{waiting['id']}/accept").json()["case"]
    assert taken["is_child"] and taken["state"] == "referred"
    assert {"child_protection_referral", "guardian_appointment"} <= {d["kind"] for d in taken["deadlines"]}
    scheduler.run_pass(b.instance.ctx)
    assert a.call("GET", f"/api/v1/cases/{child_id}").json()["close_reason"] == "transferred"

    # What a network observer saw, both ways: sealed messages, never a name or a word of a story.
    wire = bytes(a.relay.captured + b.relay.captured)
    assert wire.count(b"NRMT") >= 4  # two packages and two receipts went through
    story_words = {w for text in (SECRET_STORY, CHILD_STORY, BEST_INTERESTS) for w in re.findall(r"[A-Za-z]{5,}", text)}
    for secret in (SECRET_NAME, CHILD_NAME, *SECRET_NAME.split(), *CHILD_NAME.split(), *story_words):
        assert secret.encode() not in wire, secret

    # --- what b must refuse, each changing nothing but adding its audit entry ---------------------------
    keyring_c = ensure_key_file(tmp_path / "c" / "nrm.keys")
    c_identity = InstanceIdentity(
        "Focal point C (test)",
        "LU",
        "https://nrm-c.test",
        keyring_c.active_instance_keys.signing_public_key,
        keyring_c.active_instance_keys.encryption_public_key,
    )
    b_identity = local_identity(b.instance.ctx.settings, b.instance.ctx.keyring)
    a_keys = a.instance.ctx.keyring.active_instance_keys
    same_transfer = uuid.UUID(transfer_id)
    tampered = bytearray(package)
    tampered[300] ^= 0x01

    def sealed(sender: Any = a_keys, recipient: InstanceIdentity = b_identity, **changes: Any) -> bytes:
        arguments: dict[str, Any] = {"transfer_id": uuid.uuid4(), "now": clock.now(), **changes}
        return seal_json_package({"v": 1}, sender=sender, recipient=recipient, **arguments).data

    forged = [
        ("bad-signature", 403, bytes(tampered)),
        ("duplicate-transfer", 409, sealed(transfer_id=same_transfer)),
        ("unknown-signer", 403, sealed(sender=keyring_c.active_instance_keys)),
        ("wrong-recipient", 403, sealed(recipient=c_identity)),
        ("stale", 422, sealed(now=clock.now() - timedelta(days=8))),
        ("invalid-payload", 422, sealed()),
        ("too-large", 413, b"NRMT" + bytes(70 * 1024)),
        ("malformed", 400, b"not a transfer message"),
    ]
    for code, status, data in forged:
        before, entries = footprint(b.instance), audit_count(b.instance)
        response = b.inbox(data)
        assert response.status_code == status, (code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code
        assert footprint(b.instance) == before, code
        assert audit_count(b.instance) == entries + 1, code
        last = audit_entries(b.instance)[-1]
        assert last.action == "transfer.inbox_refused" and last.details["code"] == code

    # The first package, byte for byte, again: the first answer again, and nothing created twice.
    before, entries = footprint(b.instance), audit_count(b.instance)
    replay = b.inbox(package)
    assert replay.status_code == 202 and replay.json()["transfer_id"] == transfer_id
    assert footprint(b.instance) == before
    assert audit_entries(b.instance)[-1].action == "transfer.inbox_repeated"
    assert audit_count(b.instance) == entries + 1
