"""`nrm peers add|list|remove`: the fingerprint shown and confirmed before anything is registered, the registry
listed, a removal taking effect at once; each change audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.clock import FrozenClock
from app.config import get_settings
from app.services import audit, transfers
from app.services.context import ServiceContext
from tests.transfers.helpers import make_instance


@pytest.fixture
def peer_line(tmp_path: Path, clock: FrozenClock, peer_database_url: str) -> Iterator[str]:
    """The identity line of another instance, as its operator would send it."""
    other = make_instance("b", peer_database_url, tmp_path, clock, policy="be", country="BE", url="https://nrm-b.test")
    yield other.line
    other.ctx.close()


@pytest.fixture
def cli_env(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NRM_DATABASE_URL", ctx.settings.database_url)
    monkeypatch.setenv("NRM_KEY_FILE", str(ctx.settings.key_file))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _cli(*args: str, answer: str = "") -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=answer)
    return result.exit_code, result.output


def test_a_peer_is_registered_only_once_its_fingerprint_is_confirmed(
    ctx: ServiceContext, cli_env: None, peer_line: str
) -> None:
    fingerprint = transfers.read_line(peer_line).fingerprint
    code, output = _cli("peers", "add", "belgium", peer_line, answer="n\n")
    assert code == 1 and fingerprint in output and "not registered" in output
    assert transfers.list_peers(ctx) == []

    code, output = _cli("peers", "add", "belgium", peer_line, answer="y\n")
    assert code == 0 and fingerprint in output and "peer belgium registered" in output
    code, output = _cli("peers", "list")
    assert code == 0 and output.startswith("belgium") and fingerprint in output and "https://nrm-b.test" in output

    code, output = _cli("peers", "add", "again", peer_line, "--yes")
    assert code == 1 and "registered already, as 'belgium'" in output
    code, output = _cli("peers", "add", "broken", peer_line.replace("country=BE", "country=LU"), "--yes")
    assert code == 1 and "fingerprint" in output

    assert _cli("peers", "remove", "belgium") == (0, "peer belgium removed\n")
    assert _cli("peers", "remove", "belgium")[0] == 1
    actions = [e.action for e in audit.list_entries(ctx, case_id=None, after=None, limit=100)]
    assert actions == ["peer.registered", "peer.removed"]
