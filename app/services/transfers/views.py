"""What a transfer looks like to a coordinator, without personal data: the views the transfer use-cases return
(also the API's response schemas), the states a transfer goes through, and the read-only queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only
from app.models import OutboxMessage, Transfer
from app.security.transfer_package import RefusalReason
from app.services.context import ServiceContext
from app.services.errors import NotFound
from app.services.transfers.package import PackageSummary
from app.workflow.transfers import ConsentMethod, TransferReason


class TransferDirection(StrEnum):
    outgoing = "outgoing"  # a case of ours, sent to a peer
    incoming = "incoming"  # a package a peer sent us


class TransferState(StrEnum):
    """Where a transfer stands. Outgoing: `pending` (in our outbox), `delivered` (in the peer's inbox), then
    `accepted` or `refused` by the peer's signed receipt, or `failed` (undeliverable, the peer removed or the
    case erased before delivery). Incoming: `received`, then `accepted` or `refused` by our coordinator."""

    pending = "pending"
    delivered = "delivered"
    received = "received"
    accepted = "accepted"
    refused = "refused"
    failed = "failed"


#: An outgoing transfer still under way: the case may not be sent elsewhere meanwhile, and sending it to the
#: same peer again answers with this one.
UNDER_WAY = (TransferState.pending.value, TransferState.delivered.value)


class MessageType(StrEnum):
    package = "package"
    receipt = "receipt"


class OutboxStatus(StrEnum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


@dataclass(frozen=True)
class DeliveryView:
    """How our message about this transfer (the package we sent, or our receipt) is being delivered."""

    kind: MessageType
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class TransferView:
    """A transfer without personal data. `transfer_id` is the sender's id, the same on both sides and in the
    audit entries of both; `peer_reference` the peer's case reference."""

    id: uuid.UUID
    transfer_id: uuid.UUID
    direction: TransferDirection
    peer: str
    peer_fingerprint: str
    state: TransferState
    case_id: uuid.UUID | None
    reason: TransferReason
    refusal_reason: RefusalReason | None
    peer_reference: str | None
    is_child: bool
    consent_method: ConsentMethod | None
    consent_given_at: datetime | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    summary: PackageSummary
    delivery: DeliveryView | None


def _delivery(message: OutboxMessage | None) -> DeliveryView | None:
    if message is None:
        return None
    pending = message.status == OutboxStatus.pending.value
    return DeliveryView(
        kind=MessageType(message.kind),
        status=OutboxStatus(message.status),
        attempts=message.attempts,
        next_attempt_at=message.next_attempt_at if pending else None,
        last_error=message.last_error,
        delivered_at=message.delivered_at,
    )


def transfer_view(row: Transfer, message: OutboxMessage | None) -> TransferView:
    return TransferView(
        id=row.id,
        transfer_id=row.transfer_id,
        direction=TransferDirection(row.direction),
        peer=row.peer,
        peer_fingerprint=row.peer_fingerprint,
        state=TransferState(row.state),
        case_id=row.case_id,
        reason=TransferReason(row.reason),
        refusal_reason=RefusalReason(row.refusal_reason) if row.refusal_reason else None,
        peer_reference=row.peer_reference,
        is_child=row.is_child,
        consent_method=ConsentMethod(row.consent_method) if row.consent_method else None,
        consent_given_at=row.consent_given_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_at=row.decided_at,
        summary=PackageSummary.model_validate(row.summary),
        delivery=_delivery(message),
    )


def _messages(session: Session, rows: list[Transfer]) -> dict[uuid.UUID, OutboxMessage]:
    """Each transfer's own message (its package, or our receipt for one received), in one statement."""
    if not rows:
        return {}
    found = session.scalars(select(OutboxMessage).where(OutboxMessage.transfer_row_id.in_([r.id for r in rows])))
    return {m.transfer_row_id: m for m in found}


def view_of(session: Session, row: Transfer) -> TransferView:
    return transfer_view(row, _messages(session, [row]).get(row.id))


def list_transfers(
    ctx: ServiceContext,
    *,
    direction: TransferDirection | None = None,
    state: TransferState | None = None,
    case_id: uuid.UUID | None = None,
    limit: int = 100,
) -> list[TransferView]:
    """Transfers, newest first (coordinators: the route's permission decides who calls it)."""
    query = select(Transfer).order_by(Transfer.created_at.desc(), Transfer.id).limit(limit)
    conditions: list[Any] = []
    if direction is not None:
        conditions.append(Transfer.direction == direction.value)
    if state is not None:
        conditions.append(Transfer.state == state.value)
    if case_id is not None:
        conditions.append(Transfer.case_id == case_id)
    with read_only(ctx.read_sessions) as session:
        rows = list(session.scalars(query.where(*conditions)))
        messages = _messages(session, rows)
        return [transfer_view(row, messages.get(row.id)) for row in rows]


def get_transfer(ctx: ServiceContext, transfer_row_id: uuid.UUID) -> TransferView:
    with read_only(ctx.read_sessions) as session:
        row = session.get(Transfer, transfer_row_id)
        if row is None:
            raise NotFound("no such transfer")
        return view_of(session, row)
