"""Needs assessments and the support plan: the structured first assessment, its updates, the template a form
renders, and the support plan of one person. Bodies are the services' own inputs (`AssessmentInput`)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.api.deps import Context, authorize
from app.api.routing import api_router
from app.security.permissions import Permission, Principal
from app.services import assessments, support_plan
from app.services.assessments import AssessmentInput, AssessmentTemplate, AssessmentView
from app.services.support_plan import SupportPlanView

router = api_router(tags=["support"])

Supporter = Annotated[Principal, Depends(authorize(Permission.record_support))]
AnyAccount = Annotated[Principal, Depends(authorize(Permission.read_policy))]


@router.get(
    "/needs/assessment-template",
    response_model=AssessmentTemplate,
    summary="What a first needs assessment asks, by urgency and area",
)
def assessment_template(principal: AnyAccount) -> AssessmentTemplate:
    return assessments.assessment_template()


@router.post(
    "/cases/{case_id}/assessments",
    status_code=201,
    response_model=AssessmentView,
    summary="Record a needs assessment (a full one answers every area)",
)
def record_assessment(ctx: Context, principal: Supporter, case_id: uuid.UUID, body: AssessmentInput) -> AssessmentView:
    return assessments.record_assessment(ctx, principal, case_id, body)


@router.get("/cases/{case_id}/assessments", response_model=list[AssessmentView], summary="Needs assessments")
def list_assessments(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> list[AssessmentView]:
    return assessments.list_assessments(ctx, principal, case_id)


@router.get(
    "/cases/{case_id}/support-plan",
    response_model=SupportPlanView,
    summary="The support plan: periods, reviews, needs, services, milestones and entitlements",
)
def get_support_plan(ctx: Context, principal: Supporter, case_id: uuid.UUID) -> SupportPlanView:
    return support_plan.support_plan(ctx, principal, case_id)
