"""Cross-border transfers: the registered peers, the transfers sent and received, the outbox the worker
delivers from, and the message ids seen (replay refusal). `docs/transfers.md` describes the protocol.

Nothing here is personal data in clear: a received package is kept encrypted under a key of its own (wrapped
by the key-encryption key) until a coordinator accepts or refuses it; a sent package waits in the outbox as
the sealed message, which only the peer can open; free texts of the sender (a best-interests determination,
a note) are encrypted with the case key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class Peer(Base):
    """Another instance this one exchanges cases with, registered under a local name once its operator read
    the fingerprint out of band. Signing keys are unique: a message is from exactly one peer."""

    __tablename__ = "peers"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    identity_line: Mapped[str] = mapped_column(Text)
    display_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    url: Mapped[str] = mapped_column(String(200))
    signing_key: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    encryption_key: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(47))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Transfer(Base):
    """One transfer as this instance knows it: `outgoing` (a case of ours sent to `peer`) or `incoming` (a
    package `peer` sent us). `transfer_id` is the sender's id, the same on both sides and in every audit entry
    about it; `id` is ours. `peer_reference` is the peer's case reference (theirs once they accepted ours; the
    sender's for one we received)."""

    __tablename__ = "transfers"
    __table_args__ = (
        UniqueConstraint("direction", "peer", "transfer_id", name="uq_transfers_direction_peer_transfer"),
        Index("ix_transfers_direction_created", "direction", "created_at"),
        Index("ix_transfers_case", "case_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    direction: Mapped[str] = mapped_column(String(10))
    peer: Mapped[str] = mapped_column(String(40))
    peer_fingerprint: Mapped[str] = mapped_column(String(47))
    state: Mapped[str] = mapped_column(String(20))
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(40))
    refusal_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    peer_reference: Mapped[str | None] = mapped_column(String(64), nullable=True)
    package_message_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    is_child: Mapped[bool] = mapped_column(Boolean)
    consent_method: Mapped[str | None] = mapped_column(String(30), nullable=True)
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consent_recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    document_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    # What the package holds, without personal data: what a coordinator sees before reading or deciding.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Outgoing: the sender's free texts (best-interests determination, note), sealed with the case key.
    text_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # Incoming, until decided: the opened package, encrypted under its own key wrapped by the KEK.
    payload_kek_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload_wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    payload_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A sealed message waiting for the worker: written in the transaction of the use-case that made it (so a
    rollback sends nothing), delivered with retries (so a crash loses nothing), the same bytes every time (so
    the peer answers a redelivery as it answered the first)."""

    __tablename__ = "transfer_outbox"
    __table_args__ = (
        Index(
            "ix_transfer_outbox_due",
            "next_attempt_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    transfer_row_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    peer: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    # Dropped once delivered (or given up): the peer holds it, and we could not open it anyway.
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(60), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SeenMessage(Base):
    """A message id accepted from a peer, kept while a replay of it could still be fresh. `digest` (SHA-256 of
    the bytes) tells a worker's byte-identical redelivery, answered as the first delivery was, from anything
    else reusing the id, which is refused."""

    __tablename__ = "transfer_seen_messages"

    message_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    peer: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    transfer_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


__all__ = ["OutboxMessage", "Peer", "SeenMessage", "Transfer"]
