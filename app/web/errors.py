"""Error pages in the person's language for web routes; the API keeps its problem+json.

`install_error_pages` wraps the API's exception handlers: a request under an API path (`/api/`, `/docs`,
`/openapi.json`, `/health`) still gets its problem document, any other gets a page (403, 404, 410, 429, 500...).
A page that needs a signed-in person redirects to the sign-in page instead.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.problems import status_of
from app.logging_setup import request_id_var
from app.services.errors import ServiceError, TooManyRequests, Unauthenticated
from app.web.pages import (
    PASSWORD_PATH,
    SIGN_IN_PATH,
    FormRefused,
    PasswordChangeRequired,
    SignInRequired,
    build_page,
    cookie_policy,
    current_signed_in,
    service_context,
)

API_PREFIXES = ("/api/", "/docs", "/redoc", "/openapi.json", "/health")
logger = logging.getLogger("app.web")
# Raised on purpose by pages and dependencies; an exception handler turns each into its page.
EXPECTED_ERRORS = (
    StarletteHTTPException,
    RequestValidationError,
    ServiceError,
    SignInRequired,
    PasswordChangeRequired,
    FormRefused,
)
Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page_path(path: str) -> bool:
    """Whether a path belongs to the web application (anything the API does not own)."""
    return not path.startswith(API_PREFIXES)


def error_page(
    request: Request, status: int, *, reason: str | None = None, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The error page for `status`, with the person's navigation when they are signed in. Blocking."""
    try:
        signed_in = current_signed_in(request)
    except Exception:  # the error may be the database itself: show the page without the person's menu
        signed_in = None
    page = build_page(request, signed_in)
    return page.render(
        "errors/error.html",
        status_code=status,
        headers=headers,
        status=status,
        reason=reason,
        request_id=request_id_var.get(),
    )


def unexpected_error_page(request: Request, error: Exception) -> HTMLResponse:
    """The 500 page; the log keeps the exception's type and the request id, never its message."""
    logger.error("unhandled error", exc_info=error)
    return error_page(request, 500)


def sign_in_redirect(request: Request, session_ended: bool) -> RedirectResponse:
    if not session_ended:
        return RedirectResponse(SIGN_IN_PATH, status_code=303)
    response = RedirectResponse(f"{SIGN_IN_PATH}?status=session-ended", status_code=303)
    response.delete_cookie(cookie_policy(service_context(request)).session, path="/")
    return response


def _page_for(request: Request, error: Exception) -> Response:
    if isinstance(error, SignInRequired):
        return sign_in_redirect(request, error.session_ended)
    if isinstance(error, PasswordChangeRequired):
        return RedirectResponse(PASSWORD_PATH, status_code=303)
    if isinstance(error, Unauthenticated):
        return sign_in_redirect(request, session_ended=True)
    if isinstance(error, FormRefused):
        return error_page(request, 403, reason="form")
    if isinstance(error, TooManyRequests):
        return error_page(request, 429, headers={"Retry-After": str(error.retry_after_seconds)})
    if isinstance(error, ServiceError):
        return error_page(request, status_of(error)[0])
    if isinstance(error, RequestValidationError):
        return error_page(request, 400)
    if isinstance(error, StarletteHTTPException):
        status = error.status_code if 400 <= error.status_code < 600 else 500
        return error_page(request, status, headers=dict(error.headers) if error.headers else None)
    return unexpected_error_page(request, error)


def install_error_pages(app: FastAPI) -> None:
    """Serve error pages on web paths; API paths keep the handlers installed before (problem+json)."""
    originals: dict[type[Exception], Handler] = {
        kind: handler  # type: ignore[misc]
        for kind, handler in app.exception_handlers.items()
        if isinstance(kind, type)
    }

    def dispatch(kind: type[Exception]) -> Handler:
        original = originals.get(kind)

        async def handler(request: Request, error: Exception) -> Response:
            if original is not None and not is_page_path(request.url.path):
                return await original(request, error)
            return await run_in_threadpool(_page_for, request, error)

        return handler

    for kind in EXPECTED_ERRORS:
        app.add_exception_handler(kind, dispatch(kind))
