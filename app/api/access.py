"""Log in and out; organisations and users (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.api.deps import Context, authorize, bearer_token, client_address
from app.api.routing import api_router
from app.api.schemas.accounts import ContactIn, OrganisationIn, RolesIn, TokenOut, UserIn
from app.security.permissions import Permission, Principal
from app.services import accounts
from app.services.accounts import OrganisationView, UserView

router = api_router(tags=["access"])

Admin = Annotated[Principal, Depends(authorize(Permission.manage_accounts))]
Reader = Annotated[Principal, Depends(authorize(Permission.read_organisations))]


@router.post("/auth/token", response_model=TokenOut, summary="Exchange a username and password for a token")
async def log_in(
    ctx: Context,
    request: Request,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=256)],
) -> TokenOut:
    # argon2 is slow on purpose: hash in a worker thread so the event loop keeps serving others.
    issued = await run_in_threadpool(accounts.log_in, ctx, username, password, client_address(request))
    return TokenOut(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/auth/logout", status_code=204, summary="Revoke the token this request carries")
async def log_out(
    ctx: Context,
    _principal: Annotated[Principal, Depends(authorize(Permission.read_policy))],
    token: Annotated[str, Depends(bearer_token)],
) -> Response:
    await run_in_threadpool(accounts.log_out, ctx, token)
    return Response(status_code=204)


@router.post("/organisations", status_code=201, response_model=OrganisationView)
def create_organisation(ctx: Context, admin: Admin, body: OrganisationIn) -> OrganisationView:
    return accounts.create_organisation(ctx, body.name, body.sector.value, by=admin)


@router.get("/organisations", response_model=list[OrganisationView])
def list_organisations(ctx: Context, _reader: Reader) -> list[OrganisationView]:
    return accounts.list_organisations(ctx)


@router.post(
    "/organisations/{organisation_id}/disable",
    response_model=OrganisationView,
    summary="Disable an organisation; its members' tokens are revoked and they cannot log in",
)
def disable_organisation(ctx: Context, admin: Admin, organisation_id: uuid.UUID) -> OrganisationView:
    return accounts.set_organisation_active(ctx, organisation_id, False, by=admin)


@router.post("/organisations/{organisation_id}/enable", response_model=OrganisationView)
def enable_organisation(ctx: Context, admin: Admin, organisation_id: uuid.UUID) -> OrganisationView:
    return accounts.set_organisation_active(ctx, organisation_id, True, by=admin)


@router.post(
    "/users",
    status_code=201,
    response_model=UserView,
    summary="Create an account (an admin account holds no role that reads personal data)",
)
def create_user(ctx: Context, admin: Admin, body: UserIn) -> UserView:
    roles = [r.value for r in body.roles]
    return accounts.create_user(
        ctx,
        body.username,
        body.password,
        body.organisation_id,
        roles,
        by=admin,
        email=body.email,
        language=body.language,
    )


@router.put("/users/{user_id}/roles", response_model=UserView, summary="Replace an account's roles (audited)")
def set_user_roles(ctx: Context, admin: Admin, user_id: uuid.UUID, body: RolesIn) -> UserView:
    return accounts.set_user_roles(ctx, user_id, [r.value for r in body.roles], by=admin)


@router.get("/users", response_model=list[UserView])
def list_users(ctx: Context, _admin: Admin) -> list[UserView]:
    return accounts.list_users(ctx)


@router.post(
    "/users/{user_id}/disable", response_model=UserView, summary="Disable an account; its tokens are revoked for good"
)
def disable_user(ctx: Context, admin: Admin, user_id: uuid.UUID) -> UserView:
    return accounts.set_user_active(ctx, user_id, active=False, by=admin)


@router.post("/users/{user_id}/enable", response_model=UserView, summary="Re-enable an account (it logs in again)")
def enable_user(ctx: Context, admin: Admin, user_id: uuid.UUID) -> UserView:
    return accounts.set_user_active(ctx, user_id, active=True, by=admin)


@router.put(
    "/users/{user_id}/contact",
    response_model=UserView,
    summary="Change where an account's deadline alerts go (the account itself, or an admin)",
)
def set_contact(
    ctx: Context,
    caller: Annotated[Principal, Depends(authorize(Permission.read_policy))],
    user_id: uuid.UUID,
    body: ContactIn,
) -> UserView:
    return accounts.set_contact(ctx, user_id, body.email, body.language, by=caller)
