"""The web router: every route of the web application is a `WebRoute`.

A `WebRoute` refuses any unsafe request (POST, PUT, PATCH, DELETE) that does not come from the service's own
origin with the form token of the page it was served with (`app/security/web_sessions.py`), and turns an
unexpected error into the 500 page in the person's language. Make page routers with `web_router()` so that no
form can forget either.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from app.security.web_sessions import FORM_TOKEN_FIELD, form_token_matches, same_origin
from app.web.errors import EXPECTED_ERRORS, unexpected_error_page
from app.web.pages import FormRefused, cookie_policy, service_context

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def check_form_origin_and_token(request: Request) -> None:
    """Refuse (`FormRefused`) an unsafe request from another origin or without this browser's form token."""
    ctx = service_context(request)
    own_origin = ctx.settings.public_origin or f"{request.url.scheme}://{request.url.netloc}"
    if not same_origin(request.headers.get("origin"), request.headers.get("sec-fetch-site"), own_origin):
        raise FormRefused()
    token = (await request.form()).get(FORM_TOKEN_FIELD)
    policy = cookie_policy(ctx)
    cookies = (request.cookies.get(policy.session, ""), request.cookies.get(policy.visitor, ""))
    if not isinstance(token, str) or not form_token_matches(ctx.web_form_key, token, cookies):
        raise FormRefused()


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            if request.method not in SAFE_METHODS:
                await check_form_origin_and_token(request)
            try:
                return await handler(request)
            except EXPECTED_ERRORS:
                raise
            except Exception as error:
                page: HTMLResponse = await run_in_threadpool(unexpected_error_page, request, error)
                return page

        return web_handler


def web_router() -> APIRouter:
    """A router for pages: CSRF-checked routes, HTML responses, left out of the API's OpenAPI document."""
    return APIRouter(route_class=WebRoute, include_in_schema=False, default_response_class=HTMLResponse)
