"""Issue 10, point 2: a missing or foreign key file is never silently replaced.

The attack: `nrm serve` on a database that holds data, with `NRM_KEY_FILE` pointing at a missing file, made a new
key file and served; identities answered 500, new cases were wrapped under a throw-away key, and the audit chain
broke for good. The database now records a key-check value (a MAC of a fixed label, never the key) of every KEK
and of the audit key; `serve` and `worker` refuse to start, naming NRM_KEY_FILE, when the file is missing or does
not match, and only a command on an empty database creates a key file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.config import get_settings, load_settings
from app.models import KeyCheck
from app.security.key_checks import check_value
from app.security.keyfile import KeyFileError, ensure_key_file, load_key_file, retire_kek, rotate_kek
from app.services import accounts, audit, keys
from app.services.context import ServiceContext
from app.services.keyfile_guard import DatabaseNotMigrated
from tests.factories import principal, refer


def _settings(ctx: ServiceContext, key_file: Path) -> Any:
    return load_settings(database_url=ctx.settings.database_url, key_file=key_file, policy="fr")


def _some_data(ctx: ServiceContext) -> None:
    referrer = principal(ctx, "referrer-keys", ["referrer"], "NGO Keys", "ngo")
    refer(ctx, referrer)
    audit.record(ctx, audit.SYSTEM_ACTOR, "statistics.exported", details={"year": 2027, "format": "csv"})


@pytest.fixture
def cli_env(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The command line on the test database; `uvicorn.run` replaced by a recorder (nothing may be served)."""
    served: dict[str, Any] = {}
    monkeypatch.setenv("NRM_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("NRM_KEY_FILE", str(ctx.settings.key_file))
    monkeypatch.setenv("NRM_POLICY", "fr")
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: served.update(kwargs, called=True))
    get_settings.cache_clear()
    yield served
    get_settings.cache_clear()


def test_serve_and_worker_refuse_a_missing_key_file_on_a_database_that_holds_data(
    ctx: ServiceContext, cli_env: dict[str, Any], tmp_path: Path
) -> None:
    _some_data(ctx)
    key_file = ctx.settings.key_file
    shutil.move(key_file, tmp_path / "elsewhere.keys")

    for command in (["serve", "--port", "0"], ["worker", "--once"], ["keys", "ensure"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code != 0, (command, result.output)
        assert "NRM_KEY_FILE" in result.output and "does not exist" in result.output
        assert not key_file.exists(), f"{command} created a new key file"
    assert "called" not in cli_env

    with pytest.raises(KeyFileError, match="NRM_KEY_FILE"):
        ServiceContext.build(ctx.settings, FrozenClock(ctx.clock.now()))
    assert not key_file.exists()

    # With the key file back where it belongs, everything starts again and the data are readable.
    shutil.move(tmp_path / "elsewhere.keys", key_file)
    assert CliRunner().invoke(cli, ["worker", "--once"]).exit_code == 0
    assert CliRunner().invoke(cli, ["serve", "--port", "0"]).exit_code == 0 and cli_env["called"]


def test_a_key_file_that_is_not_the_one_the_database_was_written_with_is_refused(
    ctx: ServiceContext, cli_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _some_data(ctx)
    foreign = tmp_path / "foreign" / "nrm.keys"
    ensure_key_file(foreign)  # a valid key file, but another one (a typo in NRM_KEY_FILE, another host's)
    monkeypatch.setenv("NRM_KEY_FILE", str(foreign))
    get_settings.cache_clear()
    for command in (["serve", "--port", "0"], ["worker", "--once"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code != 0
        assert "NRM_KEY_FILE" in result.output and "does not match" in result.output
        assert "audit key" in result.output
    assert "called" not in cli_env
    before = audit.head(ctx)
    with pytest.raises(KeyFileError, match="does not match"):
        ServiceContext.build(_settings(ctx, foreign), ctx.clock)
    assert audit.head(ctx) == before and audit.verify(ctx).valid


def test_a_key_file_that_lost_a_kek_still_in_use_is_refused(ctx: ServiceContext) -> None:
    _some_data(ctx)
    old = ctx.keyring.active_kek_id
    rotate_kek(ctx.settings.key_file)  # nothing re-wrapped: the case key is still under `old`
    retire_kek(ctx.settings.key_file, old)  # the low-level call, around `nrm keys retire`'s refusal
    with pytest.raises(KeyFileError, match=f"lacks key-encryption key {old}, which wraps 1 case key"):
        ServiceContext.build(ctx.settings, ctx.clock)


def test_only_an_empty_database_gets_a_new_key_file_and_it_records_check_values_not_keys(
    database_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    key_file = tmp_path / "keys" / "nrm.keys"
    context = ServiceContext.build(load_settings(database_url=database_url, key_file=key_file), clock)
    try:
        ring = load_key_file(key_file)
        with context.sessions() as session:
            recorded = {(row.kind, row.key_id): row.check_value for row in session.scalars(select(KeyCheck))}
        assert recorded == {
            ("kek", ring.active_kek_id): check_value(ring.kek(ring.active_kek_id)),
            ("audit", "audit-hmac"): check_value(ring.audit_hmac_key),
        }
        secrets = {ring.kek(ring.active_kek_id).hex(), ring.audit_hmac_key.hex()}
        assert not secrets & set(recorded.values())
        # A restart with the same file is accepted.
        ServiceContext.build(context.settings, clock).close()
    finally:
        context.close()


def test_a_database_written_before_key_checks_is_checked_against_its_data(ctx: ServiceContext, tmp_path: Path) -> None:
    _some_data(ctx)
    with ctx.sessions() as session, session.begin():
        session.execute(delete(KeyCheck))
    foreign = tmp_path / "foreign.keys"
    ensure_key_file(foreign)
    with pytest.raises(KeyFileError, match="does not match"):
        ServiceContext.build(_settings(ctx, foreign), ctx.clock)
    with ctx.sessions() as session:
        assert session.scalar(select(KeyCheck).limit(1)) is None  # nothing recorded for the wrong file
    ServiceContext.build(ctx.settings, ctx.clock).close()  # the right file: accepted, and recorded
    with ctx.sessions() as session:
        assert len(list(session.scalars(select(KeyCheck)))) == 2


def test_rotation_records_the_new_kek_and_a_restart_after_retirement_is_accepted(ctx: ServiceContext) -> None:
    _some_data(ctx)
    old = ctx.keyring.active_kek_id
    report = keys.rotate(ctx)
    keys.retire(ctx, old)
    with ctx.sessions() as session:
        recorded = {row.key_id for row in session.scalars(select(KeyCheck).where(KeyCheck.kind == "kek"))}
    assert report.active_kek_id in recorded
    restarted = ServiceContext.build(ctx.settings, ctx.clock)
    try:
        assert restarted.keyring.active_kek_id == report.active_kek_id
        assert accounts.list_organisations(restarted)
    finally:
        restarted.close()


def test_a_key_file_swapped_under_a_running_service_is_not_adopted(ctx: ServiceContext, tmp_path: Path) -> None:
    _some_data(ctx)
    verified = ctx.keyring
    foreign = tmp_path / "foreign.keys"
    ensure_key_file(foreign)
    shutil.copyfile(foreign, ctx.settings.key_file)  # same path, other keys (a restore from the wrong backup)
    assert ctx.keyring is verified  # the verified ring keeps serving; the log tells the operator
    assert audit.verify(ctx).valid


def test_a_database_without_the_schema_is_named_not_a_traceback(tmp_path: Path, clock: FrozenClock) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'new.sqlite3'}", key_file=tmp_path / "nrm.keys")
    with pytest.raises(DatabaseNotMigrated, match="nrm migrate"):
        ServiceContext.build(settings, clock)
    assert not (tmp_path / "nrm.keys").exists()
