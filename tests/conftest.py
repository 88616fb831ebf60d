"""Shared fixtures. Every database test runs twice: on SQLite and on PostgreSQL.

PostgreSQL comes from NRM_TEST_POSTGRES_URL (default: the local server). Each test session makes its own
throw-away database, so runs never see each other's rows; with CI=true an unreachable server fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.clock import FrozenClock
from app.config import load_settings
from app.migrate import upgrade
from app.models import Base
from app.security.passwords import use_cheap_parameters_for_tests
from app.services.context import ServiceContext
from tests.e2e.support import browser_problem

# Logins are in most API tests; argon2 at its production cost would dominate the suite's run time.
use_cheap_parameters_for_tests()

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_URL = os.environ.get("NRM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# A Monday morning in Paris, far from holidays, so that deadline arithmetic in tests is easy to read.
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: cannot connect"
    return None


POSTGRES_PROBLEM = _postgres_problem()
BROWSER_PROBLEM = browser_problem()
UNREACHABLE_MESSAGE = (
    f"PostgreSQL is unreachable at NRM_TEST_POSTGRES_URL={make_url(POSTGRES_URL).render_as_string()} "
    f"({POSTGRES_PROBLEM})"
)


def pytest_sessionstart(session: pytest.Session) -> None:
    if POSTGRES_PROBLEM and IN_CI:
        raise pytest.UsageError(UNREACHABLE_MESSAGE + " and CI=true: the PostgreSQL half cannot be skipped in CI")
    if BROWSER_PROBLEM and IN_CI:
        raise pytest.UsageError(f"{BROWSER_PROBLEM} and CI=true: the browser tests cannot be skipped in CI")


def pytest_report_header() -> list[str]:
    lines = []
    if POSTGRES_PROBLEM:
        lines += ["!" * 100, UNREACHABLE_MESSAGE + ": every [postgres] test is SKIPPED.", "!" * 100]
    else:
        lines.append(f"databases: sqlite and postgresql ({make_url(POSTGRES_URL).render_as_string()})")
    if BROWSER_PROBLEM:
        lines += ["!" * 100, f"{BROWSER_PROBLEM}: every browser test (tests/e2e) is SKIPPED.", "!" * 100]
    return lines


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # One line per database, so a reader sees at a glance that both halves ran the same tests.
    for backend in ("sqlite", "postgres"):
        counts = {
            outcome: sum(
                1 for r in terminalreporter.stats.get(outcome, []) if f"[{backend}" in getattr(r, "nodeid", "")
            )
            for outcome in ("passed", "failed", "skipped", "error")
        }
        terminalreporter.write_line(
            f"database {backend}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped, {counts['error']} errors"
        )
    if POSTGRES_PROBLEM:
        terminalreporter.write_line(
            "!!! " + UNREACHABLE_MESSAGE + ": the PostgreSQL half was SKIPPED; set NRM_TEST_POSTGRES_URL !!!",
            red=True,
            bold=True,
        )
    if BROWSER_PROBLEM:
        terminalreporter.write_line(
            f"!!! {BROWSER_PROBLEM}: the browser tests (tests/e2e) were SKIPPED !!!", red=True, bold=True
        )


def _worker_suffix() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this session (and xdist worker), migrated once."""
    yield from _throw_away_postgres("nrm_test")


@pytest.fixture(scope="session")
def second_postgres_database() -> Iterator[str]:
    """Another throw-away PostgreSQL database, for a second instance of the service (transfers)."""
    yield from _throw_away_postgres("nrm_test_peer")


def _throw_away_postgres(prefix: str) -> Iterator[str]:
    if POSTGRES_PROBLEM:
        pytest.skip(UNREACHABLE_MESSAGE)
    name = f"{prefix}_{_worker_suffix()}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name != "audit_head")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # The migration's single head row, back at the genesis MAC.
        connection.execute(text("UPDATE audit_head SET sequence = 0, mac = :genesis"), {"genesis": "0" * 64})
    engine.dispose()


def _empty_database(request: pytest.FixtureRequest, sqlite_path: Path | None, postgres_fixture: str) -> str:
    """A copy of the migrated SQLite template at `sqlite_path`, or the emptied PostgreSQL database of the fixture."""
    if sqlite_path is not None:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), sqlite_path)
        return f"sqlite:///{sqlite_path}"
    url: str = request.getfixturevalue(postgres_fixture)
    _empty_postgres(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind: the test runs once per kind."""
    sqlite_path = tmp_path / "nrm.sqlite3" if request.param == "sqlite" else None
    return _empty_database(request, sqlite_path, "postgres_database")


@pytest.fixture
def peer_database_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """A second empty, migrated database of the same kind as `database_url`: a peer instance's own."""
    sqlite_path = tmp_path / "peer.sqlite3" if database_url.startswith("sqlite") else None
    return _empty_database(request, sqlite_path, "second_postgres_database")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def ctx(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[ServiceContext]:
    settings = load_settings(database_url=database_url, key_file=tmp_path / "keys" / "nrm.keys", policy="fr")
    context = ServiceContext.build(settings, clock)
    yield context
    context.close()
