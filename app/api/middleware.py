"""Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs about a millisecond a request on this machine).

- `RequestContext`: a request id on every response and log line, one access-log line per request, and a
  problem document without a trace for any error nothing else handled.
- `UploadLimit`: refuses a document upload whose declared length is over the limit before its body is read.
"""

from __future__ import annotations

import logging
import time
import uuid

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import problem
from app.logging_setup import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# Multipart framing around the file (boundaries, headers, the `kind` field) stays well under this.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
logger = logging.getLogger("app.http")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _route_template(scope: Scope) -> str:
    """The matched route's template (`/api/v1/cases/{case_id}`): read back from the scope when the router left
    it there, else looked up again (some server and middleware stacks hand the router a copy of the scope)."""
    matched = scope.get("route")
    if matched is not None:
        return str(getattr(matched, "path", "unmatched"))
    for route in getattr(scope.get("app"), "routes", ()):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return str(getattr(route, "path", "unmatched"))
    return "unmatched"


def _looks_like_request_id(value: str) -> bool:
    return 8 <= len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value)


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        # Accept a caller's id only if it looks like one; never echo arbitrary text into logs.
        request_id = incoming if _looks_like_request_id(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status, response_started = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            # Answer a problem without a trace; the log keeps the exception type and the request id.
            logger.error("unhandled error", exc_info=error)
            if not response_started:
                await problem(
                    500,
                    "an internal error occurred; it has been logged with this request's id",
                    headers={REQUEST_ID_HEADER: request_id},
                )(scope, receive, send)
            status = 500
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    # The route template, never the concrete URL: query strings can hold a stated purpose.
                    "route": _route_template(scope),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)


class UploadLimit:
    """FastAPI reads a multipart body before the route runs, so without this a client could make the server
    receive (and spool to disk) any amount before the service's own streaming check says 413. A body sent
    without a declared length is still caught by that check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path", "").endswith("/documents"):
            declared = _header(scope, b"content-length")
            # Read per request from the service context, so the limit is the one in force.
            maximum: int = scope["app"].state.context.settings.max_document_bytes
            if declared.isdigit() and int(declared) > maximum + MULTIPART_OVERHEAD_BYTES:
                detail = f"the upload declares {declared} bytes; a document may hold at most {maximum} bytes"
                await problem(413, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)
