"""Issue 10 point 13: `needs.interpreter_language` and `needs.communication_aid` took free text that was shown
to auditors (a test put a name and a phone number there). The language is a language code (the primary
language subtag of BCP 47: ISO 639-1, or ISO 639-3 where a language has no two-letter code), the aid a code from
a list; anything descriptive goes into `needs.note`, encrypted with the case key. Existing rows: the migration
`hardening2_needs_codes` keeps what is already a code and clears the rest from the clear column.
Through the API and the migration, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    create_engine,
    select,
)

from app.clock import FrozenClock
from app.migrate import alembic_config, upgrade
from app.models import Base, Case
from app.services.context import ServiceContext
from app.workflow.communication import CommunicationAid, language_code
from tests.api.case_helpers import Cast
from tests.api.conftest import World, assert_problem
from tests.factories import referral_body

LEAK = "Ana's cousin Zorblat, call +33 6 12 34 56 78"


def _refer(client: TestClient, account: Any, **needs: Any) -> Any:
    body = referral_body()
    body["needs"].update(needs)
    return client.post("/api/v1/referrals", json=body, headers=account.headers)


def test_language_codes() -> None:
    assert language_code("ti") == "ti"
    assert language_code("TI") == "ti"
    assert language_code("fra") == "fr"  # BCP 47 takes the two-letter code where there is one
    assert language_code("prs") == "prs"  # Dari has no two-letter code
    assert language_code("fsl") == "fsl"  # French Sign Language
    for bad in ("Tigrinya", "fr-CA", "xx", "zzz", "und", "", "f r", "en;", LEAK):
        try:
            language_code(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was taken as a language code")


def test_free_text_needs_are_refused_and_the_note_is_encrypted(
    ctx: ServiceContext, client: TestClient, world: World, clock: FrozenClock
) -> None:
    cast = Cast(world, clock)
    referrer = cast.referrer
    for field, value in (
        ("interpreter_language", LEAK),
        ("interpreter_language", "Tigrinya"),
        ("communication_aid", LEAK),
        ("communication_aid", "sign language"),
    ):
        body = assert_problem(_refer(client, referrer, **{field: value}), 422)
        assert [e["loc"] for e in body["errors"]] == [["body", "needs", field]]  # type: ignore[union-attr]
        assert "Zorblat" not in str(body)

    created = _refer(client, referrer, interpreter_language="TI", communication_aid="sign_language", note=LEAK)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    seen = client.get(f"/api/v1/cases/{case_id}", headers=cast.auditor.headers).json()["needs"]
    assert seen["interpreter_language"] == "ti" and seen["communication_aid"] == "sign_language"
    assert "note" not in seen and "Zorblat" not in str(seen)
    with ctx.sessions() as session:
        stored = session.get_one(Case, uuid.UUID(case_id))
        assert "Zorblat" not in str(stored.needs) and b"Zorblat" not in (stored.account_blob or b"")
    identity = client.get(
        f"/api/v1/cases/{case_id}/identity", params={"purpose": "support_planning"}, headers=referrer.headers
    )
    assert identity.json()["account"]["needs_note"] == LEAK
    assert {a.value for a in CommunicationAid} >= {"sign_language", "easy_read", "other"}


# --- the migration of existing rows ----------------------------------------------------------------------------


def _filler(column: Any) -> Any:
    kind = column.type
    kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator: what it stores
    if isinstance(kind, Uuid):
        return uuid.uuid4()
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, DateTime):
        return datetime(2027, 1, 1, tzinfo=UTC)
    if isinstance(kind, JSON):
        return []
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, String):  # unique, as some are (a case reference)
        return uuid.uuid4().hex[: min(kind.length or 32, 32)]
    return "x"


def _row(table: Table, **values: Any) -> dict[str, Any]:
    """Every required column filled with a placeholder, then `values`."""
    row = {c.name: _filler(c) for c in table.columns if not c.nullable}
    row.update(values)
    return row


def _table_as_it_is(engine: Any, name: str) -> Table:
    """The table's columns as the database has them at this revision, typed as the models type them."""
    reflected = MetaData()
    reflected.reflect(engine, only=[name])
    model = Base.metadata.tables[name]
    columns = [
        Column(c.name, model.c[c.name].type if c.name in model.c else c.type, nullable=c.nullable)
        for c in reflected.tables[name].columns
    ]
    return Table(name, MetaData(), *columns)


def test_the_migration_clears_free_text_from_the_clear_column(database_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(database_url))
    before = script.get_revision("hardening2_needs_codes").down_revision
    assert isinstance(before, str)
    from app.migrate import downgrade

    downgrade(database_url, before)
    engine = create_engine(database_url)
    try:
        organisations, users, cases = (_table_as_it_is(engine, n) for n in ("organisations", "users", "cases"))
        org_id, user_id = uuid.uuid4(), uuid.uuid4()
        needs = {
            "leaky": {"interpreter_language": LEAK, "communication_aid": LEAK, "dependants": 2, "support_wanted": True},
            "coded": {"interpreter_language": "ti", "communication_aid": "sign_language", "dependants": 0},
            "loose": {"interpreter_language": " FR ", "communication_aid": "braille"},
            "empty": {},
        }
        ids = {name: uuid.uuid4() for name in needs}
        with engine.begin() as connection:
            connection.execute(organisations.insert().values(_row(organisations, id=org_id)))
            connection.execute(users.insert().values(_row(users, id=user_id, organisation_id=org_id)))
            for name, value in needs.items():
                row = _row(cases, id=ids[name], referring_organisation_id=org_id, referrer_id=user_id, needs=value)
                row.update({c.name: None for c in cases.columns if c.nullable and isinstance(c.type, Uuid)})
                connection.execute(cases.insert().values(row))
        upgrade(database_url, "hardening2_needs_codes")
        with engine.connect() as connection:
            after = {row.id: row.needs for row in connection.execute(select(cases.c.id, cases.c.needs))}
        assert after[ids["leaky"]] == {
            "interpreter_language": None,
            "communication_aid": None,
            "dependants": 2,
            "support_wanted": True,
        }
        assert after[ids["coded"]] == needs["coded"]
        assert after[ids["loose"]] == {"interpreter_language": "fr", "communication_aid": "braille"}
        assert after[ids["empty"]] == {}
        assert "Zorblat" not in str(after)
    finally:
        engine.dispose()
        upgrade(database_url, "head")


def test_the_web_form_offers_only_codes_the_service_keeps() -> None:
    from app.web.referral_form import language_names
    from app.web.vocabulary import COMMUNICATION_AIDS

    assert set(COMMUNICATION_AIDS) <= {aid.value for aid in CommunicationAid}
    assert all(language_code(code) == code for code in language_names("en"))
