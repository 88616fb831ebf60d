"""Request and response bodies of support and evidence: needs, providers, services, documents, interviews."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.workflow.states import NeedKind


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class NeedIn(_In):
    kind: NeedKind
    urgency: Literal["immediate", "long_term"]
    note: str | None = Field(default=None, max_length=5000)


class NeedOut(_Out):
    id: uuid.UUID
    kind: NeedKind
    urgency: str
    note: str | None
    created_at: datetime


ProviderKind = Literal["shelter", "psychologist", "lawyer", "interpreter", "medical", "other"]


class ProviderIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: ProviderKind
    address: str = Field(min_length=1, max_length=1000)
    phone: str | None = Field(default=None, max_length=50)


class ProviderSummaryOut(_Out):
    id: uuid.UUID
    name: str
    kind: str


class ProviderOut(ProviderSummaryOut):
    """`address` and `phone` are null unless the caller is the coordinator or a caseworker of a case referred
    to this provider."""

    address: str | None
    phone: str | None


class ServiceIn(_In):
    need_id: uuid.UUID
    provider_id: uuid.UUID


class ServiceStatusIn(_In):
    status: Literal["accepted", "refused", "delivered"]
    note: str | None = Field(default=None, max_length=5000)


class ServiceOut(_Out):
    id: uuid.UUID
    need_id: uuid.UUID
    need_kind: str
    provider_id: uuid.UUID
    status: str
    deadline_kind: str
    opened_at: datetime
    due_at: datetime
    met_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DocumentOut(_Out):
    id: uuid.UUID
    kind: str
    size: int
    content_type: str
    uploaded_at: datetime


class InterviewIn(_In):
    purpose: str = Field(min_length=1, max_length=500)
    interviewer_organisation_id: uuid.UUID
    held_at: AwareDatetime


class InterviewOut(_Out):
    id: uuid.UUID
    interviewer_organisation_id: uuid.UUID
    held_at: datetime
    purpose: str | None
    created_at: datetime
