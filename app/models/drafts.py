"""Referral drafts: a referral being written, kept on the server and encrypted like a case.

Each draft has its own data key, wrapped by the key-encryption key (associated data `draft:<id>`), and every
answer (the person's identity and account, but also the classification, which together can point at one
person) sits in one encrypted blob. Only the owner, the times and the step reached are in clear.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class ReferralDraft(Base):
    __tablename__ = "referral_drafts"
    __table_args__ = (Index("ix_referral_drafts_expires", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Only the person who started a draft opens it: a draft is not yet a case the organisation shares.
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    kek_id: Mapped[str] = mapped_column(String(64), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    answers_blob: Mapped[bytes] = mapped_column(LargeBinary)
    # How many steps have been answered (for "step 4 of 9" on a list of drafts); no answer is in clear.
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
