"""Request bodies of support and evidence: needs, providers, services and interviews.

Responses are the services' views themselves (`app/services/support.py`, `app/services/documents.py`).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.workflow.states import NeedKind
from app.workflow.support import ProviderKind, Urgency


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NeedIn(_In):
    kind: NeedKind
    urgency: Urgency
    note: str | None = Field(default=None, max_length=5000)


class ProviderIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: ProviderKind
    address: str = Field(min_length=1, max_length=1000)
    phone: str | None = Field(default=None, max_length=50)


class ServiceIn(_In):
    need_id: uuid.UUID
    provider_id: uuid.UUID


class ServiceStatusIn(_In):
    # `requested` is where a referral starts, never where one moves to.
    status: Literal["accepted", "refused", "delivered"]
    note: str | None = Field(default=None, max_length=5000)


class InterviewIn(_In):
    purpose: str = Field(min_length=1, max_length=500)
    interviewer_organisation_id: uuid.UUID
    held_at: AwareDatetime
