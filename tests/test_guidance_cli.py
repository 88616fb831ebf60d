"""`nrm guidance validate` and `nrm guidance contacts`: what a content editor runs before committing."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.cli import cli
from app.workflow.guidance_index import GUIDANCE_DIR
from app.workflow.indicators import CATALOGUE


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_validate_every_kind_of_file() -> None:
    assert _run("guidance", "validate", str(GUIDANCE_DIR / "fr" / "en.toml")) == (
        0,
        f"{GUIDANCE_DIR / 'fr' / 'en.toml'}: valid guidance of 'fr' in en, version 1\n",
    )
    code, output = _run("guidance", "validate", str(GUIDANCE_DIR / "uk" / "routing.toml"))
    assert code == 0 and "valid routing table of 'uk'" in output
    code, output = _run("guidance", "validate", str(CATALOGUE))
    assert code == 0 and "valid indicator catalogue" in output


def test_validate_names_the_key_of_a_bad_file(tmp_path: Path) -> None:
    folder = tmp_path / "fr"
    folder.mkdir()
    bad = folder / "fr.toml"
    bad.write_text((GUIDANCE_DIR / "fr" / "fr.toml").read_text(encoding="utf-8").replace("[adult]", "[adulte]"))
    code, output = _run("guidance", "validate", str(bad))
    assert code == 1
    assert "adulte: unknown key" in output and "adult: Field required" in output


def test_contacts_for_a_child_found_begging() -> None:
    code, output = _run("guidance", "contacts", "fr", "--form", "forced_begging")
    assert code == 0
    lines = output.splitlines()
    assert lines[0].split()[:2] == ["emergency", "17"]
    assert any("119" in line and "child_protection" in line for line in lines)
    code, output = _run("guidance", "contacts", "fr", "--form", "begging")
    assert code == 1 and "begging" in output
