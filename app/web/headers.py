"""Security headers on every page, as plain ASGI middleware (see `app/api/middleware.py` for why not
Starlette's BaseHTTPMiddleware).

Pages and static files get a strict Content-Security-Policy (no inline script or style, nothing from another
origin, no framing), `nosniff` and `no-referrer`. Pages also get `Cache-Control: no-store`, so that no page
(signed in or not) stays in a shared computer's cache; static files are revalidated (`no-cache`), their URLs
carry a content hash. API paths are left as they were (their JSON is not rendered by browsers; `/docs` needs
Swagger UI's scripts).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.errors import is_page_path
from app.web.rendering import STATIC_PREFIX

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


class PageSecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not is_page_path(path):
            await self.app(scope, receive, send)
            return
        cache_control = "no-cache" if path.startswith(STATIC_PREFIX + "/") else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["Cache-Control"] = cache_control
            await send(message)

        await self.app(scope, receive, send_with_headers)
