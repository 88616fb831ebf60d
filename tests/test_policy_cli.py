"""`nrm policy validate` refuses a changed policy that reuses a version (issue 12, point 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.workflow.policy import POLICY_DIR, shipped_policy_names
from tests.workflow.helpers import edited_copy

_PANEL = 'adult = { value = 10, unit = "working_days" }'


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("name", shipped_policy_names())
def test_every_shipped_policy_is_valid_with_its_version(name: str) -> None:
    code, output = _run("policy", "validate", str(POLICY_DIR / f"{name}.toml"))
    assert code == 0, output
    assert f"valid policy {name!r} version " in output


def test_a_changed_value_under_the_same_version_is_refused(tmp_path: Path) -> None:
    changed = edited_copy(POLICY_DIR / "fr.toml", tmp_path / "fr.toml", _PANEL, _PANEL.replace("10", "3"))
    code, output = _run("policy", "validate", str(changed))
    assert code == 1
    assert "policy fr version 1 has other values" in output and "needs a new version" in output
    # With a new version the same change is a valid policy.
    bumped = edited_copy(changed, tmp_path / "fr-2.toml", "version = 1 ", "version = 2 ")
    assert _run("policy", "validate", str(bumped))[0] == 0


def test_comments_are_no_change(tmp_path: Path) -> None:
    reworded = edited_copy(POLICY_DIR / "fr.toml", tmp_path / "fr.toml", "# policy choice", "# a choice of policy")
    assert _run("policy", "validate", str(reworded))[0] == 0
