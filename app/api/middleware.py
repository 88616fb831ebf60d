"""Plain ASGI middleware (Starlette's BaseHTTPMiddleware costs about a millisecond a request on this machine).

- `RequestContext`: a request id on every response and log line, one access-log line per request, and a
  problem document without a trace for any error nothing else handled.
- `BodyLimit`: every request body is bounded while it streams, chunked or not (413 problem).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
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


# The routes whose body is a document (multipart, streamed into the encryptor): they get the document limit plus
# the multipart framing around the file (boundaries, part headers, the `kind` field); every other body gets the
# JSON limit. A new upload route (a web form, say) adds its path here.
DOCUMENT_UPLOAD_PATHS = (re.compile(r"/api/v1/cases/[^/]+/documents/?"),)
TRANSFER_INBOX_PATH = "/api/v1/transfers/inbox"


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body passes its limit: whoever is reading it stops, and the answer is 413."""

    def __init__(self, detail: str) -> None:
        super().__init__(413, detail)


def body_limit(scope: Scope) -> tuple[int, str] | None:
    """The largest body this request may send, and how to say so; None for the one route that bounds its own
    body while it streams (the transfer inbox, which also audits a refusal)."""
    settings = scope["app"].state.context.settings  # per request: the limit in force
    if scope.get("method") == "POST" and any(p.fullmatch(scope.get("path", "")) for p in DOCUMENT_UPLOAD_PATHS):
        maximum: int = settings.max_document_bytes
        return maximum + MULTIPART_OVERHEAD_BYTES, f"a document may hold at most {maximum} bytes"
    if scope.get("method") == "POST" and scope.get("path", "") == TRANSFER_INBOX_PATH:
        # A peer's sealed package may carry the case's documents: app/api/transfers.inbox counts it against
        # NRM_MAX_TRANSFER_BYTES as it streams and audits a refusal, which a 413 from here would not.
        return None
    json_maximum: int = settings.max_json_bytes
    return json_maximum, f"a request body may hold at most {json_maximum} bytes"


class BodyLimit:
    """Bounds every request body while it streams, whether or not it declares its length.

    A declared length over the limit is refused before anything is read. Otherwise `receive` counts the bytes as
    the app pulls them and raises `BodyTooLarge` past the limit; whatever the app then answers (FastAPI turns an
    unreadable body into a 400, a handler may catch errors), the client gets the 413 problem. Nothing here reads a
    body itself: a request refused before its body is needed (401, 403, 404) is never read at all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bound = body_limit(scope)
        if bound is None:
            await self.app(scope, receive, send)
            return
        limit, rule = bound
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            await problem(413, f"the request declares {declared} bytes; {rule}")(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(f"the request body is too large; {rule}")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, replaced
            if replaced or (exceeded and not started):
                if not replaced and message["type"] == "http.response.start":
                    started = replaced = True
                    await problem(413, f"the request body is too large; {rule}")(scope, receive, send)
                return  # the app's own answer to a body it could not read is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge as error:
            if not started:
                await problem(413, str(error.detail))(scope, receive, send)
