"""Shared dependencies: the service context and the one permission dependency every route declares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.security.client_address import client_address as resolve_client_address
from app.security.permissions import Permission, Principal
from app.services import accounts
from app.services.context import ServiceContext
from app.services.errors import Forbidden, Unauthenticated
from app.workflow.states import Purpose

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/auth/token")


def get_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


Context = Annotated[ServiceContext, Depends(get_context)]

#: The `?purpose=` of a read of personal data: a code, since it is written to the audit log (never free text).
StatedPurpose = Annotated[
    Purpose, Query(description="why the personal data are read: a code, written to the audit log")
]


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthenticated("a bearer token is required")
    return credentials.credentials


async def current_principal(ctx: Context, token: Annotated[str, Depends(bearer_token)]) -> Principal:
    return await run_in_threadpool(accounts.principal_for_token, ctx, token)


def authorize(permission: Permission) -> Callable[..., object]:
    """The permission dependency: declared on each route, it decides whether the caller's roles allow it."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(permission):
            raise Forbidden("your role does not allow this action")
        return principal

    dependency.__name__ = f"authorize_{permission.value}"
    return dependency


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or from X-Forwarded-For when the peer is one of NRM_TRUSTED_PROXIES."""
    settings = get_context(request).settings
    peer = request.client.host if request.client else None
    return resolve_client_address(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies)
