"""Deadline alerts: who was told about which deadline, at which threshold (`app/services/alerts.py`)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class DeadlineAlert(Base):
    """One alert raised for one person: a reminder before `due_at`, the overdue alert, or the escalation to a
    coordinator. The unique constraint is what keeps an alert from being raised twice for the same deadline,
    due time and threshold, whichever worker gets there first and however often it restarts. `mailed_at` is set
    once the e-mail carrying it was accepted by the mail server; every alert shows on the person's "my work"
    page either way."""

    __tablename__ = "deadline_alerts"
    __table_args__ = (
        UniqueConstraint("deadline_id", "user_id", "threshold", "due_at", name="uq_deadline_alerts_once"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    deadline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    threshold: Mapped[str] = mapped_column(String(20))
    deadline_kind: Mapped[str] = mapped_column(String(40))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
