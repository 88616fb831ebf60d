"""Justice and redress: the milestones of the person's criminal proceedings, compensation, residence permit
and non-punishment. Codes and days for anyone who may know of the case; notes with need-to-know."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.api.deps import Context, authorize
from app.api.routing import api_router
from app.security.permissions import Permission, Principal
from app.services import justice
from app.services.justice import MilestoneInput, MilestoneView

router = api_router(tags=["justice"])

Supporter = Annotated[Principal, Depends(authorize(Permission.record_support))]
CaseReader = Annotated[Principal, Depends(authorize(Permission.read_cases))]


@router.post(
    "/cases/{case_id}/milestones",
    status_code=201,
    response_model=MilestoneView,
    summary="Record a milestone of justice and redress (protection never depends on it)",
)
def record_milestone(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: MilestoneInput) -> MilestoneView:
    return justice.record_milestone(ctx, principal, case_id, body)


@router.get("/cases/{case_id}/milestones", response_model=list[MilestoneView], summary="Milestones, oldest first")
def list_milestones(ctx: Context, principal: CaseReader, case_id: uuid.UUID) -> list[MilestoneView]:
    return justice.list_milestones(ctx, principal, case_id)
