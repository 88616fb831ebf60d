"""Shared dependencies: the service context and the one permission dependency every route declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


def service_context(request: Request) -> ServiceContext:
    context: ServiceContext = request.app.state.context
    return context


async def get_context(request: Request) -> ServiceContext:
    # async although it does no I/O: FastAPI runs a plain `def` dependency in the thread pool, a hop per request.
    return service_context(request)


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


def permitted(principal: Principal, permission: Permission) -> Principal:
    """The caller, if their roles allow `permission` (else 403)."""
    if not principal.can(permission):
        raise Forbidden("your role does not allow this action")
    return principal


#: The permission of each dependency `authorize` made: `app/api/routing.py` finds a route's caller by it.
PERMISSION_OF: dict[Callable[..., object], Permission] = {}


def authorize(permission: Permission) -> Callable[..., object]:
    """The permission dependency: declared on each route, it decides whether the caller's roles allow it.

    On a plain `def` route of an `app/api/routing.py` router, the caller is resolved in the route's own worker
    thread instead (`PendingCaller`); this dependency resolves it wherever else it is used."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        return permitted(principal, permission)

    dependency.__name__ = f"authorize_{permission.value}"
    PERMISSION_OF[dependency] = permission
    return dependency


#: Where a request keeps its callers not yet resolved (`request.state`).
PENDING_CALLERS = "pending_callers"


@dataclass(frozen=True)
class PendingCaller:
    """The bearer of a token, to be resolved to a permitted `Principal` by the thread that serves the route: the
    same checks as `authorize` (signature, expiry, revocation, a disabled account or organisation, a forced
    password change, the permission), read from the database at that moment, with no thread-pool hop of its
    own. Never kept beyond the request."""

    ctx: ServiceContext
    token: str
    permission: Permission

    def resolve(self) -> Principal:
        return permitted(accounts.principal_for_token(self.ctx, self.token), self.permission)


def pending_caller(permission: Permission) -> Callable[..., object]:
    """The dependency that stands for `authorize(permission)` on a plain `def` route of an API router."""

    async def dependency(request: Request, ctx: Context, token: Annotated[str, Depends(bearer_token)]) -> PendingCaller:
        caller = PendingCaller(ctx, token, permission)
        setattr(request.state, PENDING_CALLERS, [*getattr(request.state, PENDING_CALLERS, []), caller])
        return caller

    dependency.__name__ = f"authorize_{permission.value}"
    return dependency


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or from X-Forwarded-For when the peer is one of NRM_TRUSTED_PROXIES."""
    settings = service_context(request).settings
    peer = request.client.host if request.client else None
    return resolve_client_address(peer, request.headers.getlist("x-forwarded-for"), settings.trusted_proxies)
