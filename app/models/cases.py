"""Cases, their deadlines, history, panels, keys and idempotency records.

Clear columns hold only what the workflow and statistics need; the person, the account and every free
text are encrypted blobs (`version | key id | nonce | ciphertext+tag`) opened with the case key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_created", "state", "created_at"),
        # Lists are newest first with a (created_at, id) cursor: this index serves every page in order.
        Index("ix_cases_created_id", "created_at", "id"),
        Index("ix_cases_organisation_created", "referring_organisation_id", "created_at"),
        # The worker's erasures: cases not yet erased by state and end (an index-only scan on PostgreSQL).
        Index(
            "ix_cases_unerased_state_ended",
            "state",
            "ended_at",
            postgresql_include=["id"],
            sqlite_where=text("erased_at IS NULL"),
            postgresql_where=text("erased_at IS NULL"),
        ),
        # The compliance report's reflection periods cut short: formal decisions taken without an early request.
        Index(
            "ix_cases_formal_decided",
            "id",
            postgresql_include=["formal_decided_at"],
            sqlite_where=text("formal_decided_at IS NOT NULL AND early_decision_requested IS FALSE"),
            postgresql_where=text("formal_decided_at IS NOT NULL AND early_decision_requested IS FALSE"),
        ),
        # A case's state by its id without reading the row: the queue's walks along the deadlines filter on it.
        Index("ix_cases_id_state", "id", "state"),
        # The queue's "to close": each final state's cases in the order of the decision that left them there.
        Index(
            "ix_cases_to_close_preliminary",
            "preliminary_decided_at",
            "id",
            postgresql_include=["reference"],
            sqlite_where=text("state = 'preliminary_negative'"),
            postgresql_where=text("state = 'preliminary_negative'"),
        ),
        Index(
            "ix_cases_to_close_formal",
            "formal_decided_at",
            "id",
            postgresql_include=["reference"],
            sqlite_where=text("state = 'not_identified'"),
            postgresql_where=text("state = 'not_identified'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # What people say on the phone (`MNR-2027-00042`): the referral's year and a number from `case_numbers`.
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40))
    state_before_suspension: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The policy governing the case: the one in force at its referral (app/services/case_policy.py).
    policy_name: Mapped[str] = mapped_column(String(40))
    policy_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Who is involved (need-to-know is decided from these).
    referring_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    referrer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    assessor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    previous_assessor_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    caseworker_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    # Classification, in clear for the workflow and for statistics.
    is_child: Mapped[bool] = mapped_column(Boolean)
    age_disputed: Mapped[bool] = mapped_column(Boolean)
    unaccompanied: Mapped[bool] = mapped_column(Boolean)
    age_band: Mapped[str] = mapped_column(String(10))
    gender: Mapped[str] = mapped_column(String(20))
    nationality: Mapped[str] = mapped_column(String(10))
    region: Mapped[str] = mapped_column(String(10))
    exploitation_forms: Mapped[list[str]] = mapped_column(JSON)
    # Whether the exploitation took place within the country or across a border (`ExploitationScope`).
    exploitation_scope: Mapped[str] = mapped_column(String(20), server_default="unknown")
    indicators: Mapped[list[str]] = mapped_column(JSON)
    needs: Mapped[dict[str, Any]] = mapped_column(JSON)
    consent_given: Mapped[bool] = mapped_column(Boolean)
    shelter_needed: Mapped[bool] = mapped_column(Boolean)
    referring_sector: Mapped[str] = mapped_column(String(40))

    # Workflow memory.
    early_decision_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reconsideration_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many reconsiderations were requested; the policy says how many are allowed.
    reconsiderations_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    review_done: Mapped[bool] = mapped_column(Boolean, default=False)
    # A negative reasonable-grounds decision waiting for a second decision maker (uk since December 2022).
    second_check_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    age_assessed: Mapped[str | None] = mapped_column(String(10), nullable=True)
    first_panel_member_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    preliminary_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    preliminary_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    formal_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    formal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The columns above hold the decision that stands; these keep each decision apart, never overwritten, so
    # that statistics count decisions overturned on reconsideration and on review (issue 12, point 2).
    first_preliminary_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    first_preliminary_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_formal_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    first_formal_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    review_decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    close_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # Personal data, encrypted with the case key; NULL after erasure.
    person_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    account_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    deadlines: Mapped[list[Deadline]] = relationship(
        back_populates="case", order_by="Deadline.opened_at", cascade="all, delete-orphan"
    )


class CaseNumber(Base):
    """The counter behind case references: one row per case, numbered by the database (a sequence on
    PostgreSQL), so concurrent referrals never wait on each other for a number. A rolled-back referral leaves a
    gap, which a reference may have."""

    __tablename__ = "case_numbers"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Deadline(Base):
    """One legal deadline of a case. `overdue` is derived from `due_at` and the clock, never stored."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # Open deadlines by due date: the overdue list and the worker read only these.
        Index(
            "ix_deadlines_open_due",
            "due_at",
            postgresql_include=["case_id", "id", "paused_at"],
            sqlite_where=text("met_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("met_at IS NULL AND cancelled_at IS NULL"),
        ),
        Index("ix_deadlines_kind_opened", "kind", "opened_at"),
        # The worker's lapsed windows: open deadlines of one kind by due date (not every deadline of the kind).
        Index(
            "ix_deadlines_open_kind_due",
            "kind",
            "due_at",
            postgresql_include=["case_id"],
            sqlite_where=text("met_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("met_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    is_duty: Mapped[bool] = mapped_column(Boolean)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Time the clock stood still while the case was suspended, and what remained when it stopped.
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    remaining_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)

    case: Mapped[Case] = relationship(back_populates="deadlines")


class CaseStateCount(Base):
    """How many cases stand in each state, as a running sum: `SUM(delta) GROUP BY state`.

    Database triggers on `cases` (migration `perf_queue`) insert +1 for a new case's state and, on a change of
    state, -1 for the old and +1 for the new, in the transaction of the change: no code path can forget them,
    and the rows are only ever inserted, so concurrent state changes never wait for one another on a counter
    row. The worker folds the rows into one per state (`app/services/state_counts.py`), so the sum reads a few
    rows, not every case (a grouped count over a million cases takes longer than the queue page may)."""

    __tablename__ = "case_state_counts"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(40))
    delta: Mapped[int] = mapped_column(Integer)


class CaseHistory(Base):
    """State changes and actions on a case. Free text (reasons, notes) only as an encrypted blob."""

    __tablename__ = "case_history"
    __table_args__ = (Index("ix_case_history_case_at", "case_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_state: Mapped[str] = mapped_column(String(40))
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    text_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Panel(Base):
    __tablename__ = "panels"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    is_review: Mapped[bool] = mapped_column(Boolean)
    convened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dissolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    members: Mapped[list[PanelSeat]] = relationship(
        back_populates="panel", order_by="PanelSeat.user_id", cascade="all, delete-orphan", lazy="selectin"
    )


class PanelSeat(Base):
    """A member's seat on a panel: conflict and vote. The written rationale is encrypted."""

    __tablename__ = "panel_seats"

    panel_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("panels.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    sector: Mapped[str] = mapped_column(String(40))
    conflict_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    vote: Mapped[str | None] = mapped_column(String(20), nullable=True)
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    text_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    panel: Mapped[Panel] = relationship(back_populates="members")


class CaseKey(Base):
    """The case's data key, wrapped by a key-encryption key. Deleting `wrapped_key` erases the case."""

    __tablename__ = "case_keys"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    kek_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class IdempotencyRecord(Base):
    """The first result of a referral sent with an idempotency key, given again to a retry for a day.

    `request_mac` is a keyed MAC of the referral (a subkey of the key file's), never a plain hash: the referral
    holds personal data, and a plain hash would let anyone with a copy of the database confirm a guess."""

    __tablename__ = "idempotency_records"
    __table_args__ = (Index("ix_idempotency_records_created", "created_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_mac: Mapped[str] = mapped_column(String(64))
    # The use-case's first result, given again as it was: a case view as JSON, which holds no personal data.
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    """An anonymous notification: an adult who did not consent is counted, not registered."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_created", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    sector: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(20))
    age_band: Mapped[str] = mapped_column(String(10))
    nationality: Mapped[str] = mapped_column(String(10))
    region: Mapped[str] = mapped_column(String(10))
    exploitation_forms: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEntry(Base):
    """One link of the audit chain. Its MAC covers its content and the previous entry's MAC."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_case", "case_id", "sequence"),)

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(64))
    organisation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_mac: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row every audit append locks, so the chain stays gapless and ordered under concurrency."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sequence: Mapped[int] = mapped_column(Integer)
    mac: Mapped[str] = mapped_column(String(64))


__all__ = [
    "AuditEntry",
    "AuditHead",
    "Case",
    "CaseHistory",
    "CaseKey",
    "CaseNumber",
    "Deadline",
    "IdempotencyRecord",
    "Notification",
    "Panel",
    "PanelSeat",
]
