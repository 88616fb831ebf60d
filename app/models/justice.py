"""Justice and redress: milestones of the person's proceedings, compensation, residence permit and non-punishment.

Codes and dates in clear (statistics and the entitlements shown on the case read them); any free text about a
milestone is an encrypted blob, opened with the case key.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class JusticeMilestone(Base):
    """One step (`app/workflow/justice.py` `Milestone`) of one track, on the day it happened."""

    __tablename__ = "justice_milestones"
    __table_args__ = (
        Index("ix_justice_milestones_case_occurred", "case_id", "occurred_on"),
        Index("ix_justice_milestones_step", "step"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    track: Mapped[str] = mapped_column(String(30))
    step: Mapped[str] = mapped_column(String(40))
    occurred_on: Mapped[date] = mapped_column(Date)
    note_blob: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    recorded_by: Mapped[uuid.UUID] = mapped_column(Uuid)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["JusticeMilestone"]
