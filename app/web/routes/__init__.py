"""The web application's pages, one module per area; `ROUTERS` lists them in the order they are included."""

from __future__ import annotations

from fastapi import APIRouter

from app.web.routes import access, account, administration, auditing, case_requests, my_work, referrals

ROUTERS: tuple[APIRouter, ...] = (
    access.router,
    my_work.router,
    referrals.router,
    case_requests.router,
    auditing.router,
    administration.router,
    account.router,
)
