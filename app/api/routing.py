"""The API router: every route of `/api/v1` is an `ApiRoute`, made with `api_router()`.

FastAPI runs each plain `def` dependency and then a plain `def` route in the thread pool, a hop each: the
caller's token was checked on one worker thread, then the use-case ran on another. On an `ApiRoute`, a plain
`def` route's `authorize(...)` parameters are resolved by the route's own thread, just before its body: one hop
per request. Nothing is cached: the token, the account and the permission are read at that moment, as before.

The order of refusals stays: a request with a bad token or without the permission and with invalid input is
answered 401 or 403, not 422 (its callers are resolved before the 422 is let through).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, get_args, get_origin

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute

from app.api.deps import PENDING_CALLERS, PERMISSION_OF, PendingCaller, pending_caller
from app.security.permissions import Permission


def _permission_of(annotation: Any) -> Permission | None:
    """The permission of an `Annotated[Principal, Depends(authorize(permission))]` parameter, else None."""
    if get_origin(annotation) is not Annotated:
        return None
    for meta in get_args(annotation)[1:]:
        if isinstance(meta, DependsParam) and meta.dependency in PERMISSION_OF:
            return PERMISSION_OF[meta.dependency]
    return None


def resolving_callers_in_its_thread(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` as FastAPI should call it: a plain `def` route with callers declared takes them pending and
    resolves them first, on the worker thread that runs it; any other route unchanged."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint  # its callers are resolved by `authorize` (an async route hops only for them)
    signature = inspect.signature(endpoint, eval_str=True)
    callers: list[str] = []
    parameters = []
    for parameter in signature.parameters.values():
        permission = _permission_of(parameter.annotation)
        if permission is not None:
            callers.append(parameter.name)
            parameter = parameter.replace(annotation=Annotated[PendingCaller, DependsParam(pending_caller(permission))])
        parameters.append(parameter)
    if not callers:
        return endpoint

    @functools.wraps(endpoint)
    def resolving(**arguments: Any) -> Any:
        for name in callers:
            arguments[name] = arguments[name].resolve()
        return endpoint(**arguments)

    resolving.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return resolving


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, resolving_callers_in_its_thread(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def api_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                # Invalid input from a caller not yet resolved: refuse them first (401, 403), as `authorize` does.
                callers: list[PendingCaller] = getattr(request.state, PENDING_CALLERS, [])
                for caller in callers:
                    await run_in_threadpool(caller.resolve)
                raise

        return api_handler


def api_router(*, tags: list[str]) -> APIRouter:
    """A router of `/api/v1`, whose plain `def` routes resolve their caller on their own thread."""
    return APIRouter(prefix="/api/v1", tags=list(tags), route_class=ApiRoute)
