"""Errors a use-case can end with, in the domain's terms. Each entrance says them its own way: the API maps each
class to one problem+json status (`app/api/problems.py`), the command line to a message, the web application
to a page.

Messages are written for the person calling and never contain personal data. `FieldProblem.loc` names the
domain field (`("reasons_missing",)`, `("idempotency_key",)`); where that field came from in a request (its
body, its query, a header) is the entrance's to say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from app.workflow.model import Refusal, RefusalKind

_Choice = TypeVar("_Choice", bound=StrEnum)


class ServiceError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extra(self) -> dict[str, object]:
        return {}


class Unauthenticated(ServiceError):
    """No caller, or not one we recognise."""


class Forbidden(ServiceError):
    """The caller's role, or their relation to the case, does not allow this."""


class NotFound(ServiceError):
    """No such thing, or one the caller may not know of."""


class Conflict(ServiceError):
    """The request clashes with the current state (an event not allowed now, a duplicate name...)."""

    def __init__(
        self, detail: str, *, state: str | None = None, allowed_events: Sequence[str] = (), code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.state = state
        self.allowed_events = list(allowed_events)
        self.code = code  # the workflow refusal's code (`window_closed`...), for an entrance to say it its way

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
    """The personal data asked for were erased."""


class PreconditionFailed(ServiceError):
    """The caller's expected version of the case is not the current one."""

    def __init__(self, detail: str, *, current_version: int) -> None:
        super().__init__(detail)
        self.current_version = current_version

    def extra(self) -> dict[str, object]:
        return {"current_version": self.current_version}


class KeyUnavailable(ServiceError):
    """A key the data need is not in the key file, or does not open them: the operator's to mend (the key file
    this database was written with), never the caller's; `case_keys.key_unavailable` logs it for them."""


class PayloadTooLarge(ServiceError):
    """More bytes than the service keeps."""


class UnsupportedMediaType(ServiceError):
    """Content of a type the service does not keep, or not of the type it claims."""


@dataclass(frozen=True)
class FieldProblem:
    loc: tuple[str | int, ...]
    msg: str


class InvalidInput(ServiceError):
    """The input itself is wrong; `errors` say where, by domain field."""

    def __init__(self, detail: str, errors: Sequence[FieldProblem] = ()) -> None:
        super().__init__(detail)
        self.errors = list(errors)

    def extra(self) -> dict[str, object]:
        return {"errors": [{"loc": list(e.loc), "msg": e.msg} for e in self.errors]}


class DutiesNotSeparated(InvalidInput):
    """Roles that may not go together on one account (who manages accounts and a role that reads personal data)."""


class TooManyRequests(ServiceError):
    """Too many attempts in a while (failed logins)."""

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


def choice(kind: type[_Choice], value: str, field: str) -> _Choice:
    """`value` as a member of the enum `kind`, or invalid input naming `field`."""
    try:
        return kind(value)
    except ValueError:
        raise InvalidInput(f"unknown {field}", [FieldProblem((field,), "unknown value")]) from None


#: The error each kind of workflow refusal ends a use-case with.
REFUSAL_ERRORS: Mapping[RefusalKind, type[ServiceError]] = {
    "forbidden": Forbidden,
    "not_allowed_in_state": Conflict,
    "held_back": Conflict,
    "invalid": InvalidInput,
}


def refused(refusal: Refusal) -> ServiceError:
    """The error that says this workflow refusal: its kind decides the class, the API the status."""
    error_class = REFUSAL_ERRORS[refusal.kind]
    if error_class is Conflict:
        return Conflict(
            refusal.message,
            state=refusal.state.value if refusal.state is not None else None,
            allowed_events=[e.value for e in refusal.allowed_events],
            code=refusal.code,
        )
    if error_class is InvalidInput:
        return InvalidInput(refusal.message, [FieldProblem((refusal.code,), refusal.message)])
    return error_class(refusal.message)
