"""What the database knows of the keys it was written with: a check value per key, never a key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class KeyCheck(Base):
    """A key-check value (a MAC of a fixed label under the key) of a KEK or of the audit key.

    Written by the first command on an empty database and at each rotation; compared with the key file at every
    start, so that a missing or foreign key file is refused instead of silently replaced."""

    __tablename__ = "key_checks"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)  # "kek" or "audit"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    check_value: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


__all__ = ["KeyCheck"]
