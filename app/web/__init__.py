"""The web application: server-rendered pages on the same services as the API (see docs/web.md).

`install(app, ctx)` adds it to the FastAPI app that serves the API: the pages' routers, the static files under
`/static`, error pages in the person's language and the page security headers.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.services.context import ServiceContext
from app.web.errors import install_error_pages
from app.web.headers import PageSecurityHeaders
from app.web.rendering import STATIC_DIR, STATIC_PREFIX, Renderer
from app.web.routes import ROUTERS


def install(app: FastAPI, ctx: ServiceContext) -> None:
    app.state.web_renderer = Renderer(ctx)
    install_error_pages(app)
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(PageSecurityHeaders)
