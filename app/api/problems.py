"""Every error as an RFC 9457 problem document (application/problem+json); never a trace or personal data.

The HTTP statuses and problem types of the service's errors are decided here and nowhere else: services name
what went wrong in the domain's terms (`app/services/errors.py`, a workflow refusal's kind), this module says
it in HTTP. Services name the domain field of an invalid input; `fields_from` (declared on a route) says
which came from the query or a header, and everything else came from the body.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.case_keys import KEY_ERRORS, key_unavailable
from app.services.errors import (
    Conflict,
    DutiesNotSeparated,
    FieldProblem,
    Forbidden,
    Gone,
    InvalidInput,
    KeyStillInUse,
    KeyUnavailable,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceError,
    TooManyRequests,
    Unauthenticated,
    UnsupportedMediaType,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://nrm.example/problems/"
logger = logging.getLogger("app.api")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def problem(
    status: int, detail: str, *, title: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> ProblemResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-").replace("'", ""),
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    # Only the location and pydantic's message: `input` would echo what the client sent, which may be
    # personal data, so it is dropped.
    return [{"loc": list(item.get("loc", ())), "msg": str(item.get("msg", ""))} for item in error.errors()]


async def _on_validation_error(_request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    errors = _validation_errors(error)
    if any(item["msg"].startswith("JSON decode error") for item in errors):
        return problem(422, "the request body is not valid JSON", title="Unparseable JSON", errors=errors)
    return problem(422, "the request is not valid", title="Invalid input", errors=errors)


async def _on_http_exception(_request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and detail == "Not Found":
        detail = "no such resource"
    if error.status_code == 405:
        detail = "this method is not allowed on this resource"
    headers = dict(error.headers) if error.headers else None
    return problem(error.status_code, detail, headers=headers)


#: The status and title of each error of the service (a subclass takes its nearest listed ancestor's).
STATUS_OF_ERROR: Mapping[type[ServiceError], tuple[int, str]] = {
    ServiceError: (400, "Bad request"),
    Unauthenticated: (401, "Not authenticated"),
    Forbidden: (403, "Forbidden"),
    NotFound: (404, "Not found"),
    Conflict: (409, "Conflict"),
    KeyStillInUse: (409, "Key still in use"),
    Gone: (410, "Personal data erased"),
    PreconditionFailed: (412, "Precondition failed"),
    PayloadTooLarge: (413, "Payload too large"),
    UnsupportedMediaType: (415, "Unsupported media type"),
    InvalidInput: (422, "Invalid input"),
    DutiesNotSeparated: (422, "Separation of duties"),
    TooManyRequests: (429, "Too many requests"),
    # The service cannot open the data until the operator restores the right key file: unavailable, not broken.
    KeyUnavailable: (503, "Key unavailable"),
}


def status_of(error: ServiceError) -> tuple[int, str]:
    """The HTTP status and title that say this error."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[cls]
    raise AssertionError("every ServiceError has a status")


_SOURCES = "field_sources"


def fields_from(*, query: Iterable[str] = (), headers: Mapping[str, str] | None = None) -> Any:
    """A route dependency: which domain fields of the route's use-case come from the query or from a header
    (by the header's name), so that an invalid one is located there. The rest came from the body."""
    sources: dict[str, list[str | int]] = {name: ["query", name] for name in query}
    sources |= {name: ["header", header] for name, header in (headers or {}).items()}

    async def declare(request: Request) -> None:  # async: a plain `def` would cost a thread-pool hop
        setattr(request.state, _SOURCES, sources)

    return Depends(declare)


def locate(request: Request, problem: FieldProblem) -> list[str | int]:
    """Where in the request the domain field of this problem came from: `["body", ...]` unless declared."""
    sources: dict[str, list[str | int]] = getattr(request.state, _SOURCES, {})
    field = problem.loc[0] if problem.loc else None
    if isinstance(field, str) and field in sources:
        return [*sources[field], *problem.loc[1:]]
    return ["body", *problem.loc]


async def _on_service_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ServiceError)
    status, title = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_seconds)
    extra = error.extra()
    if isinstance(error, InvalidInput):
        extra["errors"] = [{"loc": locate(request, e), "msg": e.msg} for e in error.errors]
    return problem(status, error.detail, title=title, headers=headers or None, **extra)


async def _on_key_error(request: Request, error: Exception) -> ProblemResponse:
    # A use-case turns the key errors it meets into `KeyUnavailable`; this catches any it did not.
    return await _on_service_error(request, key_unavailable(error, "data of this request"))


async def _on_unexpected(_request: Request, error: Exception) -> ProblemResponse:
    logger.error("unhandled error", exc_info=error)
    return problem(500, "an internal error occurred; it has been logged with this request's id")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(ServiceError, _on_service_error)
    for key_error in KEY_ERRORS:
        app.add_exception_handler(key_error, _on_key_error)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_schema() -> dict[str, Any]:
    """The OpenAPI description of a problem document, shared by every route's error responses."""
    return {
        "content": {
            PROBLEM_MEDIA_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                    },
                    "additionalProperties": True,
                }
            }
        }
    }


__all__ = [
    "PROBLEM_MEDIA_TYPE",
    "STATUS_OF_ERROR",
    "ProblemResponse",
    "fields_from",
    "install_problem_handlers",
    "problem",
    "problem_schema",
    "status_of",
]
