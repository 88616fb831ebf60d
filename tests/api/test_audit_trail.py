"""The audit trail: one entry per change, and an entry edited, deleted or swapped directly in the database is
named by `audit.verify`, by `nrm audit verify` and by GET /api/v1/audit/verify, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.config import get_settings
from app.db import transaction
from app.models import AuditEntry
from app.services import audit, audit_stretches
from app.services.context import ServiceContext
from tests.api.case_helpers import Cast, asked, audit_count, new_case, step
from tests.api.conftest import World

TARGET = 3  # an entry in the middle of the chain


@pytest.fixture
def cli_env(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line pointed at the test database and key file (its settings are cached: clear them)."""
    monkeypatch.setenv("NRM_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("NRM_KEY_FILE", str(ctx.settings.key_file))
    monkeypatch.setenv("NRM_POLICY", "fr")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _some_history(ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock) -> Cast:
    """Two referrals and a few events: entries on both sides of TARGET. Returns the cast."""
    cast = Cast(world, clock)
    cast.auditor  # noqa: B018 - logged in before any tampering
    case_id = new_case(client, cast.referrer)["id"]
    step(ctx, client, cast.referrer, case_id, "report_missing")
    step(ctx, client, cast.coordinator, case_id, "report_found")
    other_id = new_case(client, cast.referrer)["id"]
    step(ctx, client, cast.referrer, other_id, "withdraw_consent", request=asked(clock))
    assert audit_count(ctx) >= TARGET + 2
    return cast


def test_each_entry_records_an_action_and_the_log_verifies(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, cli_env: None
) -> None:
    cast = _some_history(ctx, world, client, clock)
    auditor = cast.auditor
    log = client.get("/api/v1/audit/log", params={"limit": 1000}, headers=auditor.headers).json()
    assert [e["sequence"] for e in log] == list(range(1, len(log) + 1))
    logins = [e for e in log if e["action"] == "auth.login"]
    assert logins and all(e["case_id"] is None and e["details"] == {} for e in logins)
    case_log = [e for e in log if e["action"].startswith("case.")]
    actions = [e["action"] for e in case_log]
    assert actions == [
        "case.referral",
        "case.report_missing",
        "case.report_found",
        "case.referral",
        "case.withdraw_consent",
    ]
    assert all(e["case_id"] for e in case_log)
    assert [case_log[1]["actor_id"], case_log[2]["actor_id"]] == [
        str(cast.referrer.user_id),
        str(cast.coordinator.user_id),
    ]
    result = audit.verify(ctx)
    assert result.valid and result.entries == len(log) and result.first_bad_sequence is None
    assert result.head == log[-1]["mac"]
    served = client.get("/api/v1/audit/verify", headers=auditor.headers).json()
    assert served["valid"] is True and served["head"] == log[-1]["mac"]
    code, output = _cli("audit", "verify")
    assert code == 0 and "audit log valid" in output, output
    code, head = _cli("audit", "head")
    assert code == 0 and head.strip() == f"{len(log)}:{log[-1]['mac']}"
    # A referrer may not read the audit trail.
    assert client.get("/api/v1/audit/log", headers=cast.referrer.headers).status_code == 403


def _edit(ctx: ServiceContext) -> None:
    with ctx.engine.begin() as connection:
        connection.execute(update(AuditEntry).where(AuditEntry.sequence == TARGET).values(action="case.close"))


def _delete(ctx: ServiceContext) -> None:
    with ctx.engine.begin() as connection:
        connection.execute(delete(AuditEntry).where(AuditEntry.sequence == TARGET))


def _swap(ctx: ServiceContext) -> None:
    """Exchange everything but the sequence numbers of two neighbouring entries."""
    columns = [c for c in AuditEntry.__table__.columns if c.name != "sequence"]
    with ctx.engine.begin() as connection:
        rows = {
            row.sequence: row
            for row in connection.execute(
                select(AuditEntry.__table__).where(AuditEntry.sequence.in_([TARGET, TARGET + 1]))
            )
        }
        for mine, theirs in ((TARGET, TARGET + 1), (TARGET + 1, TARGET)):
            values = {c.name: getattr(rows[theirs], c.name) for c in columns}
            connection.execute(update(AuditEntry).where(AuditEntry.sequence == mine).values(**values))


@pytest.mark.parametrize("tamper", [_edit, _delete, _swap], ids=["edited", "deleted", "swapped"])
def test_verify_names_the_first_bad_entry_after_tampering(
    ctx: ServiceContext,
    world: World,
    client: TestClient,
    clock: FrozenClock,
    cli_env: None,
    tamper: object,
) -> None:
    auditor = _some_history(ctx, world, client, clock).auditor
    assert audit.verify(ctx).valid
    assert callable(tamper)
    tamper(ctx)

    result = audit.verify(ctx)
    assert result.valid is False
    assert result.first_bad_sequence == TARGET, result.problem
    assert result.entries == TARGET - 1

    code, output = _cli("audit", "verify")
    assert code == 1
    assert f"first bad entry {TARGET}" in output, output

    served = client.get("/api/v1/audit/verify", headers=auditor.headers)
    assert served.status_code == 200, served.text
    assert served.json()["valid"] is False
    assert served.json()["first_bad_sequence"] == TARGET
    assert served.json()["problem"]


def test_entries_cut_from_the_end_are_detected(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock, cli_env: None
) -> None:
    _some_history(ctx, world, client, clock)
    last = audit_count(ctx)
    code, head = _cli("audit", "head")
    assert code == 0
    with ctx.engine.begin() as connection:
        connection.execute(delete(AuditEntry).where(AuditEntry.sequence == last))
    result = audit.verify(ctx)
    assert result.valid is False and result.first_bad_sequence == last
    code, output = _cli("audit", "verify", "--head", head.strip())
    assert code == 1 and f"first bad entry {last}" in output, output


def test_verifying_in_stretches_gives_the_answer_of_one_pass(
    ctx: ServiceContext, world: World, client: TestClient, clock: FrozenClock
) -> None:
    """Stretches verified in two processes: a good log is found good by them (not by the fallback), with the
    same head, against a head recorded earlier too; a log with an entry deleted gets the one pass's answer."""
    _some_history(ctx, world, client, clock)
    anchor = audit.head(ctx)
    in_stretches = audit_stretches.verify_in_processes(
        ctx.settings.database_url,
        ctx.keyring.audit_hmac_key,
        anchor.sequence,
        processes=2,
        min_stretch=1,
        expected_head=anchor,
    )
    assert in_stretches is not None and in_stretches.valid
    assert in_stretches == audit.verify(ctx, anchor) == audit.verify(ctx)

    _delete(ctx)
    result = audit.verify(ctx, anchor, processes=2, min_stretch=1)
    assert result == audit.verify(ctx, anchor)
    assert not result.valid and result.first_bad_sequence == TARGET


def test_entries_verify_as_stored_whatever_their_time_and_details(ctx: ServiceContext) -> None:
    """Verification reads the time as text formatted by the database and re-encodes the stored details
    (`audit_stretches.verify_entries`): times with microseconds, given in other zones or long ago, and nested,
    non-ASCII, unsorted details verify, in one pass and in stretches; stored details rewritten as equivalent
    JSON still verify, and a changed time is named."""
    times = [
        datetime(2026, 11, 26, 9, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 26, 23, 30, 0, 999_999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2027, 3, 28, 2, 30, 15, 120_000, tzinfo=timezone(timedelta(hours=2))),
        datetime(999, 1, 2, 3, 4, 5, 60, tzinfo=UTC),
        datetime(2026, 11, 26, 9, 0, tzinfo=UTC),
    ]
    with transaction(ctx.sessions) as session:
        for i, time in enumerate(times):
            audit.append(
                session,
                ctx.keyring,
                time=time,
                actor=audit.AuditActor(f"user-{i}", None if i % 2 else "org-1"),
                action="test.entry",
                case_id=f"case-{i}" if i % 3 else None,
                details={"z": i, "a": {"ü": [None, True, 'x\n"y'], "b": -7}, "é": "\u2028"} if i % 2 else {},
            )
    count = len(times)
    assert audit.verify(ctx) == audit.verify(ctx, processes=2, min_stretch=1)
    assert audit.verify(ctx).valid and audit.verify(ctx).entries == count

    with ctx.engine.begin() as connection:
        connection.execute(
            update(AuditEntry)
            .where(AuditEntry.sequence == 2)
            .values(details={"é": "\u2028", "z": 1, "a": {"b": -7, "ü": [None, True, 'x\n"y']}})
        )
    assert audit.verify(ctx).valid

    with ctx.engine.begin() as connection:
        connection.execute(
            update(AuditEntry).where(AuditEntry.sequence == 4).values(time=times[3] + timedelta(microseconds=1))
        )
    result = audit.verify(ctx, processes=2, min_stretch=1)
    assert not result.valid and result.first_bad_sequence == 4 and result.problem == "entry 4: its content was changed"
