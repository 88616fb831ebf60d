"""The application factory: routers, problem+json errors, request ids and JSON logs."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from app.api import access, audit, cases, reports, support
from app.api.problems import install_problem_handlers, problem, problem_schema
from app.api.schemas.accounts import Health
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.logging_setup import configure_logging, request_id_var
from app.services.context import ServiceContext

REQUEST_ID_HEADER = "X-Request-ID"
logger = logging.getLogger("app.http")


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, context: ServiceContext | None = None
) -> FastAPI:
    """Build the app. Tests pass their own context (database, frozen clock); production builds one."""
    if context is None:
        settings = settings or get_settings()
        context = ServiceContext.build(settings, clock or SystemClock())
    configure_logging(context.settings.log_level)
    owned_context = context

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        owned_context.close()

    app = FastAPI(
        title="National referral mechanism",
        version="1",
        description="Case workflow for presumed victims of human trafficking. Errors are RFC 9457 problems.",
        lifespan=lifespan,
        responses={
            401: {"description": "no or bad token", **problem_schema()},
            403: {"description": "role or need-to-know missing", **problem_schema()},
            422: {"description": "invalid input", **problem_schema()},
        },
    )
    app.state.context = context
    install_problem_handlers(app)
    app.middleware("http")(support.refuse_oversized_uploads)
    # Added last, so it runs first: even an early refusal carries a request id and an access-log line.
    app.middleware("http")(_request_id_and_access_log)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(status="ok")

    app.include_router(access.router)
    app.include_router(cases.router)
    app.include_router(audit.router)
    app.include_router(reports.router)
    app.include_router(support.router)
    return app


async def _request_id_and_access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    # Accept a caller's id only if it looks like one; never echo arbitrary text into logs.
    request_id = incoming if _looks_like_request_id(incoming) else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    try:
        try:
            response: Response = await call_next(request)
        except Exception as error:
            # Answer a problem without a trace; the log keeps the exception type and the request id.
            logger.error("unhandled error", exc_info=error)
            response = problem(500, "an internal error occurred; it has been logged with this request's id")
        response.headers[REQUEST_ID_HEADER] = request_id
        route = request.scope.get("route")
        logger.info(
            "request",
            extra={
                "method": request.method,
                # The route template, never the concrete URL: query strings can hold a stated purpose.
                "route": getattr(route, "path", "unmatched"),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        return response
    finally:
        request_id_var.reset(token)


def _looks_like_request_id(value: str) -> bool:
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)
