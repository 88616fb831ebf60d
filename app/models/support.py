"""Support and evidence: needs, providers, service referrals, documents and interviews.

Free texts (notes, interview purposes), provider addresses and phones, and document contents are encrypted
blobs; only kinds, statuses, dates and ids are in clear, for the workflow and for statistics.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class NeedsAssessment(Base):
    """A structured assessment of the person's needs (`app/workflow/needs.py`): every slot's answer in clear
    (codes, for the gaps report), the needs it found as `support_needs` rows, the note encrypted."""

    __tablename__ = "needs_assessments"
    __table_args__ = (Index("ix_needs_assessments_case_assessed", "case_id", "assessed_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    note_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SupportNeed(Base):
    """A need of the person (shelter, medical, legal...), immediate or long-term; the note is encrypted.
    `assessment_id` names the assessment that found it (none for a need recorded on its own)."""

    __tablename__ = "support_needs"
    __table_args__ = (Index("ix_support_needs_created", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("needs_assessments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    urgency: Mapped[str] = mapped_column(String(20))
    note_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Provider(Base):
    """A support provider. Its address and phone are encrypted with a key of its own, wrapped by the KEK
    (associated data `provider:<id>`), so a shelter's location never sits in clear."""

    __tablename__ = "providers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    kek_id: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    address_blob: Mapped[bytes] = mapped_column(LargeBinary)
    phone_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceReferral(Base):
    """A need referred to a provider. Its deadline is a row of `deadlines` (kind `service_<need kind>`)."""

    __tablename__ = "service_referrals"
    __table_args__ = (Index("ix_service_referrals_provider", "provider_id", "case_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("support_needs.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("providers.id"))
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))
    note_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    requested_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Document(Base):
    """An uploaded document. `content` is the whole chunked ciphertext (STREAM, `ChunkedEncryptor`) in a
    LargeBinary column: simple, transactional with the row, erased with it; NULL after erasure."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_case_uploaded", "case_id", "uploaded_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Interview(Base):
    """One interview of the person: who (organisation), when, and why (encrypted: a free text)."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_case_held", "case_id", "held_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    interviewer_organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    held_at: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["Document", "Interview", "NeedsAssessment", "Provider", "ServiceReferral", "SupportNeed"]
