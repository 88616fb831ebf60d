"""HTTP is decided in one place: each kind of workflow refusal and each service error has its status, and an
invalid domain field is located in the request (body, query or header) by the route that parsed it."""

from __future__ import annotations

import typing

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.api.problems import STATUS_OF_ERROR, fields_from, install_problem_handlers, status_of
from app.services import errors
from app.services.errors import FieldProblem, InvalidInput, ServiceError, refused
from app.workflow import EventName, State
from app.workflow.model import Refusal, RefusalKind

# What the API contract says each refusal is (api-contract "Errors"): role or relation 403, a state that does not
# accept the event 409, a case or a time that holds it back 409, the event's own fields 422.
STATUS_OF_KIND = {"forbidden": 403, "not_allowed_in_state": 409, "held_back": 409, "invalid": 422}


def test_every_refusal_kind_has_the_contracts_status() -> None:
    assert set(typing.get_args(RefusalKind)) == set(STATUS_OF_KIND)
    for kind, status in STATUS_OF_KIND.items():
        refusal = Refusal(kind, "code", "message", State.referred, (EventName.assign_assessor,))
        assert status_of(refused(refusal))[0] == status, kind


def test_a_refusal_in_a_state_names_the_state_and_the_allowed_events() -> None:
    error = refused(Refusal("held_back", "window_closed", "closed", State.not_identified, (EventName.close,)))
    assert error.extra() == {"state": "not_identified", "allowed_events": ["close"]}
    invalid = refused(Refusal("invalid", "reasons_missing", "say why", State.preliminary_assessment))
    assert invalid.extra() == {"errors": [{"loc": ["reasons_missing"], "msg": "say why"}]}


def test_every_service_error_has_a_status() -> None:
    classes = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ServiceError) and value is not ServiceError
    }
    assert classes and classes <= set(STATUS_OF_ERROR)
    # A status names one kind of error: two classes share it only when one refines the other (a key still in
    # use is a conflict, duties not separated an invalid input), with a title of its own.
    for one in classes:
        for other in classes - {one}:
            if issubclass(one, other):
                assert STATUS_OF_ERROR[one][0] == STATUS_OF_ERROR[other][0], (one, other)
                assert STATUS_OF_ERROR[one][1] != STATUS_OF_ERROR[other][1], (one, other)
            elif not issubclass(other, one):
                assert STATUS_OF_ERROR[one][0] != STATUS_OF_ERROR[other][0], (one, other)


@pytest.fixture
def located() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/page", dependencies=[fields_from(query=["cursor"], headers={"idempotency_key": "Idempotency-Key"})])
    def page() -> None:
        raise InvalidInput(
            "wrong",
            [
                FieldProblem(("cursor",), "not a cursor"),
                FieldProblem(("idempotency_key",), "reused"),
                FieldProblem(("member_ids", 2), "no such user"),
            ],
        )

    return TestClient(app)


def test_a_domain_field_is_located_where_the_route_took_it(located: TestClient) -> None:
    body = located.get("/page").json()
    assert body["status"] == 422
    assert [e["loc"] for e in body["errors"]] == [
        ["query", "cursor"],
        ["header", "Idempotency-Key"],
        ["body", "member_ids", 2],
    ]
