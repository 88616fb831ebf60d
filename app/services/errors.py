"""Errors a use-case can end with. The API turns each into one problem+json status; the CLI into a message.

Messages are written for the person calling and never contain personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, object]:
        return {}


class Unauthenticated(ServiceError):
    status = 401
    title = "Not authenticated"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    """The request clashes with the current state (an event not allowed now, a duplicate name...)."""

    status = 409
    title = "Conflict"

    def __init__(self, detail: str, *, state: str | None = None, allowed_events: Sequence[str] = ()) -> None:
        super().__init__(detail)
        self.state = state
        self.allowed_events = list(allowed_events)

    def extra(self) -> dict[str, object]:
        if self.state is None:
            return {}
        return {"state": self.state, "allowed_events": self.allowed_events}


class KeyStillInUse(Conflict):
    """A key-encryption key cannot be retired: keys are still wrapped by it (`still_wrapped`: what, how many)."""

    def __init__(self, detail: str, *, still_wrapped: dict[str, int]) -> None:
        super().__init__(detail)
        self.still_wrapped = dict(still_wrapped)


class Gone(ServiceError):
    status = 410
    title = "Personal data erased"


class PreconditionFailed(ServiceError):
    status = 412
    title = "Precondition failed"

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version

    def extra(self) -> dict[str, object]:
        return {"current_version": self.current_version}


class PayloadTooLarge(ServiceError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(ServiceError):
    status = 415
    title = "Unsupported media type"


@dataclass(frozen=True)
class FieldProblem:
    loc: list[str | int]
    msg: str


class InvalidInput(ServiceError):
    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: Sequence[FieldProblem] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    def extra(self) -> dict[str, object]:
        return {"errors": [{"loc": e.loc, "msg": e.msg} for e in self.errors]}


class DutiesNotSeparated(InvalidInput):
    """Roles that may not go together on one account (the operator's `admin` and a personal-data role)."""

    title = "Separation of duties"


class TooManyRequests(ServiceError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
