"""The outbox and its delivery by `nrm worker`: a sealed message is written in the transaction of the use-case
that made it (`enqueue`: a rollback sends nothing) and delivered to the peer's inbox over HTTP(S) by
`deliver_due` (a crash loses nothing), with retries and exponential backoff while the peer is unreachable.

Every attempt sends the same bytes, so the peer answers a redelivery as it answered the first delivery and
nothing is created twice. A message is claimed for `LEASE` in a short transaction before it is sent (no
transaction stays open across the network call, and two workers never send it at once); the answer is
recorded in another. A message still undelivered `GIVE_UP_AFTER` after it was sealed is given up: by then the
peer would refuse it as stale before long (docs/transfers.md, "Opening: checks"), and the coordinator sends
the case again, sealed afresh.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import OutboxMessage, Transfer
from app.security.transfer_package import DEFAULT_MAX_AGE, SealedMessage
from app.services import audit
from app.services.context import ServiceContext
from app.services.transfers.peers import find_peer
from app.services.transfers.views import MessageType, OutboxStatus, TransferState

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger("app.worker")

INBOX_PATH = "/api/v1/transfers/inbox"
#: How long a claimed message is left to the worker sending it before another may try.
LEASE = timedelta(minutes=2)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
#: Half the freshness window: a message older than that would soon be refused as stale anyway.
GIVE_UP_AFTER = DEFAULT_MAX_AGE / 2
BATCH = 100

#: Refusals that time or the peer's operator may lift: the peer has not registered this instance's identity
#: line yet (`unknown-signer`), or the two clocks disagree for now.
RETRYABLE_CODES = frozenset({"unknown-signer", "future-dated"})
#: The peer holds this transfer already (the first delivery arrived but its answer was lost).
ALREADY_HELD_CODES = frozenset({"duplicate-transfer", "duplicate-receipt"})
_CODE = re.compile(r"[a-z0-9-]{1,60}")


def enqueue(session: Session, row: Transfer, kind: MessageType, sealed: SealedMessage, now: datetime) -> None:
    """Record a sealed message for the worker, in the caller's transaction."""
    session.add(
        OutboxMessage(
            id=uuid.uuid4(),
            transfer_row_id=row.id,
            kind=kind.value,
            peer=row.peer,
            message_id=sealed.header.message_id,
            data=sealed.data,
            status=OutboxStatus.pending.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


# --- the transport -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a peer's inbox said: its HTTP status (None when it could not be reached) and, when it refused,
    the `code` of its problem document."""

    status: int | None
    code: str | None = None


class Courier(Protocol):
    """Carries a sealed message to a peer's inbox (the worker's port to the network)."""

    def deliver(self, url: str, data: bytes) -> Answer: ...


class HttpCourier:
    """Delivery over HTTP(S) with httpx: certificates verified, no redirect followed (a peer's inbox is where
    its identity line says), a timeout so an unresponsive peer holds the worker no longer than that."""

    def __init__(self, timeout: float = 60.0, transport: httpx.BaseTransport | None = None) -> None:
        # Imported here, by the worker only: httpx brings its command line (rich, click, pygments) when they are
        # installed, some 20 MB that every server process would otherwise carry (issue 16's memory target).
        import httpx

        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def deliver(self, url: str, data: bytes) -> Answer:
        import httpx

        try:
            response = self._client.post(url, content=data, headers={"content-type": "application/octet-stream"})
        except httpx.HTTPError as error:
            logger.info("peer unreachable", extra={"error": type(error).__name__})
            return Answer(None, "unreachable")
        code = None
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            found = body.get("code") if isinstance(body, dict) else None
            code = found if isinstance(found, str) and _CODE.fullmatch(found) else None
        return Answer(response.status_code, code)

    def close(self) -> None:
        self._client.close()


# --- delivery ----------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Claim:
    url: str
    data: bytes


def _wait_after(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, ... up to an hour between attempts."""
    wait: timedelta = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 20)
    return min(wait, LONGEST_WAIT)


def _finish(
    session: Session,
    ctx: ServiceContext,
    message: OutboxMessage,
    status: OutboxStatus,
    now: datetime,
    code: str | None = None,
) -> None:
    """A message delivered or given up: its bytes dropped, its transfer moved on, the step audited."""
    row = session.get(Transfer, message.transfer_row_id)
    assert row is not None
    message.status, message.data, message.last_error = status.value, None, code or message.last_error
    details: dict[str, object] = {
        "transfer_id": str(row.transfer_id),
        "peer": message.peer,
        "kind": message.kind,
        "message_id": str(message.message_id),
        "attempts": message.attempts,
    }
    if status is OutboxStatus.delivered:
        message.delivered_at = now
        action = "transfer.delivered" if message.kind == MessageType.package.value else "transfer.receipt_delivered"
        if message.kind == MessageType.package.value and row.state == TransferState.pending.value:
            row.state, row.updated_at = TransferState.delivered.value, now
    else:
        action = "transfer.delivery_failed"
        details["code"] = code
        if message.kind == MessageType.package.value and row.state == TransferState.pending.value:
            row.state, row.updated_at = TransferState.failed.value, now
    audit.append(
        session,
        ctx.keyring,
        time=now,
        actor=audit.SYSTEM_ACTOR,
        action=action,
        case_id=str(row.case_id) if row.case_id else None,
        details=details,
    )


def _locked(session: Session, message_id: uuid.UUID) -> OutboxMessage | None:
    return session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id).with_for_update(skip_locked=True))


def _claim(ctx: ServiceContext, message_id: uuid.UUID, report: DeliveryReport) -> _Claim | None:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        message = _locked(session, message_id)
        if message is None or message.status != OutboxStatus.pending.value or message.next_attempt_at > now:
            return None  # another worker has it, or it moved on since we looked
        peer = find_peer(session, message.peer)
        if peer is None:
            _finish(session, ctx, message, OutboxStatus.failed, now, "peer-removed")
            report.failed += 1
            return None
        if now - message.created_at > GIVE_UP_AFTER:
            _finish(session, ctx, message, OutboxStatus.failed, now, "undeliverable")
            report.failed += 1
            return None
        assert message.data is not None
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        return _Claim(peer.url + INBOX_PATH, message.data)


def _record(ctx: ServiceContext, message_id: uuid.UUID, answer: Answer, report: DeliveryReport) -> None:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        message = _locked(session, message_id)
        if message is None or message.status != OutboxStatus.pending.value:
            return
        status = answer.status
        if status is not None and (200 <= status < 300 or (status == 409 and answer.code in ALREADY_HELD_CODES)):
            _finish(session, ctx, message, OutboxStatus.delivered, now)
            report.delivered += 1
            return
        retry = status is None or status >= 500 or status in (408, 429) or answer.code in RETRYABLE_CODES
        code = answer.code or (f"http-{status}" if status is not None else "unreachable")
        if not retry:
            _finish(session, ctx, message, OutboxStatus.failed, now, code)
            report.failed += 1
            return
        message.last_error = code
        message.next_attempt_at = now + _wait_after(message.attempts)
        report.retrying += 1


def deliver_due(ctx: ServiceContext, courier: Courier) -> DeliveryReport:
    """One delivery pass: every message due is tried once (a pass run twice sends nothing more than the
    backoff allows)."""
    now = ctx.clock.now()
    with read_only(ctx.read_sessions) as session:
        due = list(
            session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == OutboxStatus.pending.value, OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at)
                .limit(BATCH)
            )
        )
    report = DeliveryReport()
    for message_id in due:
        claim = _claim(ctx, message_id, report)
        if claim is not None:
            _record(ctx, message_id, courier.deliver(claim.url, claim.data), report)
    return report
