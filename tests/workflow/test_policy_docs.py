"""Policies validate on load and name the file, key and problem; the docs match the machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workflow import (
    DeadlineKind,
    PolicyError,
    indicator_codes,
    load_indicators,
    load_policy,
    render_policy,
    shipped_policy_names,
    validate_policy_file,
)
from app.workflow.docs import render_workflow_doc
from app.workflow.indicators import group_indicators
from app.workflow.policy import POLICY_DIR

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


def test_shipped_policies_load() -> None:
    assert {"fr", "uk", "coe", "be"} <= set(shipped_policy_names())
    for name in shipped_policy_names():
        policy = load_policy(name)
        assert policy.name == name
        assert policy.statistics_suppression_threshold >= 1
        # CETS 197 art. 13: at least 30 days, everywhere.
        assert policy.reflection_period.value >= 30
        assert render_policy(policy).startswith(f"policy {name}")


def test_default_is_fr_and_belgium_has_45_days() -> None:
    assert load_policy().name == "fr"
    assert load_policy("be").reflection_period.value == 45


def test_every_shipped_value_cites_a_source() -> None:
    for path in POLICY_DIR.glob("*.toml"):
        header_cited = True
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            stripped = line.strip()
            if stripped.startswith("["):
                header_cited = "#" in line
                continue
            if not stripped or stripped.startswith("#") or stripped.split("=")[0].strip() in {"name", "title"}:
                continue
            # A value carries its own comment, or sits in a table whose header cites the source.
            assert "#" in line or header_cited, f"{path.name}:{number} has no source comment"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _fr_text() -> str:
    return (POLICY_DIR / "fr.toml").read_text(encoding="utf-8")


def test_a_misspelt_key_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, _fr_text().replace("min_voting_members = 3", "min_voting_membres = 3", 1))
    with pytest.raises(PolicyError) as error:
        validate_policy_file(path)
    message = str(error.value)
    assert str(path) in message
    assert "panel.min_voting_membres: unknown key" in message
    assert "panel.min_voting_members" in message  # and the missing one


def test_a_bad_value_names_the_key_and_the_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, _fr_text().replace('time_zone = "Europe/Paris"', 'time_zone = "Europe/Atlantis"'))
    with pytest.raises(PolicyError, match=r"bad\.toml: time_zone: .*unknown time zone 'Europe/Atlantis'"):
        validate_policy_file(path)
    path = _write(tmp_path, _fr_text().replace('unit = "working_days" }', 'unit = "fortnights" }', 1))
    with pytest.raises(PolicyError, match=r"deadlines\.preliminary_decision\.adult\.unit"):
        validate_policy_file(path)


def test_a_missing_deadline_kind_and_a_bad_subdivision(tmp_path: Path) -> None:
    text = _fr_text().replace("[deadlines.review_window]", "[deadlines.review_windows]")
    with pytest.raises(PolicyError, match=r"deadlines"):
        validate_policy_file(_write(tmp_path, text))
    text = _fr_text().replace('country = "FR"', 'country = "FR"\nsubdivision = "99"')
    with pytest.raises(PolicyError, match=r"holidays: .*unknown subdivision '99'"):
        validate_policy_file(_write(tmp_path, text))


def test_invalid_toml_and_unknown_names(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="invalid TOML"):
        validate_policy_file(_write(tmp_path, "name = "))
    with pytest.raises(PolicyError, match="not a shipped policy"):
        load_policy("atlantis")


def test_alsace_moselle_policy_file_validates(tmp_path: Path) -> None:
    text = _fr_text().replace('# subdivision = "57"', 'subdivision = "57"')
    policy = validate_policy_file(_write(tmp_path, text))
    assert policy.holidays.subdivision == "57"
    assert policy.duration(DeadlineKind.preliminary_decision, True).value == 2


def test_indicator_catalogue() -> None:
    indicators = load_indicators()
    # The four ILO lists, and the lists for the forms they leave out (tests/workflow/test_indicators.py).
    assert {i.list_code for i in indicators} == {"AL", "AS", "CL", "CS", "FB", "FC", "DS", "FM", "OR"}
    assert len({i.dimension for i in indicators}) == 6
    ilo = [i for i in indicators if i.source == "ilo2009"]
    assert {i.strength.value for i in ilo} == {"strong", "medium", "weak"}
    codes = indicator_codes()
    assert "AL-DR-01" in codes and len(codes) == len(indicators)
    grouped = group_indicators(["AL-EC-02", "AL-EC-01", "nope"])
    assert [i.code for i in grouped["AL"]["exploitative_conditions"]] == ["AL-EC-01", "AL-EC-02"]


def test_committed_docs_match_the_machine() -> None:
    assert DOC.read_text(encoding="utf-8") == render_workflow_doc(), (
        "docs/workflow.md is stale: run `python -m app.workflow.docs > docs/workflow.md`"
    )


def test_docs_show_the_machine() -> None:
    text = render_workflow_doc()
    assert "stateDiagram-v2" in text
    assert "preliminary_assessment --> recovery_period : preliminary_decision [positive]" in text
    assert "| `cast_vote` |" in text
