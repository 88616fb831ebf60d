"""The application factory: routers, problem+json errors, request ids and JSON logs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import web
from app.api import access, assessments, audit, cases, justice, reports, support, transfers
from app.api.middleware import BodyLimit, RequestContext
from app.api.problems import install_problem_handlers, problem_schema
from app.api.schemas.accounts import Health
from app.clock import Clock, SystemClock
from app.config import Settings, get_settings
from app.logging_setup import configure_logging
from app.services.context import ServiceContext
from app.workflow.communication import language_codes
from app.workflow.indicators import indicator_codes


def create_app(
    settings: Settings | None = None, clock: Clock | None = None, context: ServiceContext | None = None
) -> FastAPI:
    """Build the app. Tests pass their own context (database, frozen clock); production builds one."""
    if context is None:
        settings = settings or get_settings()
        context = ServiceContext.build(settings, clock or SystemClock())
    configure_logging(context.settings.log_level)
    # The catalogues a referral is validated against, read now rather than by the first referral: loading them
    # holds the interpreter for a moment, and every request in flight with it.
    language_codes()
    indicator_codes()
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
    # After the problem handlers, which the web's error pages wrap; its header middleware sits inside the others.
    web.install(app, context)
    app.add_middleware(BodyLimit)
    # Added last, so it runs first: even an early refusal carries a request id and an access-log line.
    app.add_middleware(RequestContext)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(status="ok")

    app.include_router(access.router)
    app.include_router(cases.router)
    app.include_router(audit.router)
    app.include_router(reports.router)
    app.include_router(support.router)
    app.include_router(assessments.router)
    app.include_router(justice.router)
    app.include_router(transfers.router)
    return app
