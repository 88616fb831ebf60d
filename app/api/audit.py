"""The audit trail (auditors and coordinators) and the policy in force."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from app.api.deps import Context, authorize
from app.api.schemas.accounts import GrantOut
from app.security.permissions import Permission, Principal
from app.services import accounts, audit

router = APIRouter(prefix="/api/v1", tags=["audit"])

AuditReader = Annotated[Principal, Depends(authorize(Permission.read_audit))]
PolicyReader = Annotated[Principal, Depends(authorize(Permission.read_policy))]


class AuditEntryOut(BaseModel):
    sequence: int
    time: datetime
    actor_id: str
    organisation_id: str | None
    action: str
    case_id: str | None
    details: dict[str, Any]
    mac: str


class AuditVerifyOut(BaseModel):
    valid: bool
    entries: int
    head: str | None
    first_bad_sequence: int | None
    problem: str | None


@router.get("/audit/log", response_model=list[AuditEntryOut])
def audit_log(
    ctx: Context,
    principal: AuditReader,
    case_id: uuid.UUID | None = None,
    after: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryOut]:
    entries = audit.list_entries(ctx, case_id=str(case_id) if case_id else None, after=after, limit=limit)
    return [AuditEntryOut(**vars(e)) for e in entries]


@router.get("/audit/verify", response_model=AuditVerifyOut)
def audit_verify(ctx: Context, principal: AuditReader) -> AuditVerifyOut:
    result = audit.verify(ctx)
    return AuditVerifyOut(
        valid=result.valid,
        entries=result.entries,
        head=result.head,
        first_bad_sequence=result.first_bad_sequence,
        problem=result.problem,
    )


@router.get(
    "/audit/grants",
    response_model=list[GrantOut],
    summary="Every grant of a role that reads personal data (who could read identities)",
)
def personal_data_grants(ctx: Context, principal: AuditReader) -> list[GrantOut]:
    return [GrantOut.model_validate(grant) for grant in accounts.list_personal_data_grants(ctx)]


@router.get("/policy", tags=["policy"])
def policy_in_force(ctx: Context, principal: PolicyReader) -> dict[str, Any]:
    return ctx.policy.model_dump(mode="json")
