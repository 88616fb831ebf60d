"""Every error as an RFC 9457 problem document (application/problem+json); never a trace or personal data."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.services.errors import ServiceError, TooManyRequests

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


async def _on_service_error(_request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ServiceError)
    headers: dict[str, str] = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after_seconds)
    return problem(error.status, error.detail, title=error.title, headers=headers or None, **error.extra())


async def _on_unexpected(_request: Request, error: Exception) -> ProblemResponse:
    logger.error("unhandled error", exc_info=error)
    return problem(500, "an internal error occurred; it has been logged with this request's id")


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(ServiceError, _on_service_error)
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


__all__ = ["PROBLEM_MEDIA_TYPE", "ProblemResponse", "install_problem_handlers", "problem", "problem_schema"]
