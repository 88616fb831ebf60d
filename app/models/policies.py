"""The archive of policy versions: the values of every policy version a case was referred under.

A case records the policy name and version in force at its referral (`Case.policy_name`, `Case.policy_version`);
this table keeps that version's values, so the case follows them after `NRM_POLICY` changes or the policy file
is edited (`app/services/case_policy.py`). Rows are written once and never changed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime


class PolicyVersion(Base):
    __tablename__ = "policy_versions"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date)
    # sha256 of the values (`Policy.digest`): a file changed under the same version no longer matches.
    digest: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
