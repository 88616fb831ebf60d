"""The web application's pages, one module per area; `ROUTERS` lists them in the order they are included."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.routes import (
    access,
    account,
    administration,
    auditing,
    case_lists,
    case_parts,
    case_plan,
    case_requests,
    case_support,
    cases,
    first_steps,
    my_work,
    providers,
    referrals,
    reports,
    transfers,
)

ROUTERS: tuple[APIRouter, ...] = (
    access.router,
    my_work.router,
    referrals.router,
    case_requests.router,
    case_lists.router,
    cases.router,
    case_parts.router,
    first_steps.router,
    case_support.router,
    case_plan.router,
    providers.router,
    reports.router,
    transfers.router,
    auditing.router,
    administration.router,
    account.router,
)
