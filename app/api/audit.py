"""The audit trail (auditors and coordinators) and the policy in force."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query

from app.api.deps import Context, authorize
from app.api.routing import api_router
from app.security.audit_chain import VerifyResult
from app.security.permissions import Permission, Principal
from app.services import accounts, audit
from app.services.accounts import GrantView
from app.services.audit import AuditEntryView

router = api_router(tags=["audit"])

AuditReader = Annotated[Principal, Depends(authorize(Permission.read_audit))]
PolicyReader = Annotated[Principal, Depends(authorize(Permission.read_policy))]


@router.get("/audit/log", response_model=list[AuditEntryView])
def audit_log(
    ctx: Context,
    principal: AuditReader,
    case_id: uuid.UUID | None = None,
    # A sequence number is a 64-bit integer in both databases: a larger one names no entry and fits no column.
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntryView]:
    return audit.list_entries(ctx, case_id=str(case_id) if case_id else None, after=after, limit=limit)


@router.get("/audit/verify", response_model=VerifyResult)
def audit_verify(ctx: Context, principal: AuditReader) -> VerifyResult:
    return audit.verify(ctx)


@router.get(
    "/audit/grants",
    response_model=list[GrantView],
    summary="Every grant of a role that reads personal data (who could read identities)",
)
def personal_data_grants(ctx: Context, principal: AuditReader) -> list[GrantView]:
    return accounts.list_personal_data_grants(ctx)


@router.get("/policy", tags=["policy"])
def policy_in_force(ctx: Context, principal: PolicyReader) -> dict[str, Any]:
    return ctx.policy.model_dump(mode="json")
