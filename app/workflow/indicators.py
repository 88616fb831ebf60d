"""The indicator catalogue (ILO / European Commission operational indicators, 2009), shipped as data.

A referral records the codes observed; the API validates them with `indicator_codes()`, and the assessor sees
them grouped by list and dimension with `group_indicators()`. Indicators inform a person; they decide nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

CATALOGUE = Path(__file__).parent / "catalogue" / "indicators.toml"


class Strength(StrEnum):
    """How strongly an indicator points to trafficking, in the 2009 Delphi survey."""

    strong = "strong"
    medium = "medium"
    weak = "weak"


@dataclass(frozen=True, slots=True)
class Indicator:
    """One operational indicator: its code (`AL-DR-01`), list, dimension, strength and label."""

    code: str
    list_code: str
    person: str
    exploitation: str
    dimension: str
    dimension_label: str
    strength: Strength
    label: str


@lru_cache(maxsize=1)
def load_indicators() -> tuple[Indicator, ...]:
    """Every indicator of the shipped catalogue, in catalogue order."""
    data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    lists = data["lists"]
    dimensions = data["dimensions"]
    result = []
    for item in data["indicator"]:
        code = str(item["code"])
        list_code, dimension_code, _ = code.split("-")
        result.append(
            Indicator(
                code=code,
                list_code=list_code,
                person=str(lists[list_code]["person"]),
                exploitation=str(lists[list_code]["exploitation"]),
                dimension=str(dimensions[dimension_code]["name"]),
                dimension_label=str(dimensions[dimension_code]["label"]),
                strength=Strength(item["strength"]),
                label=str(item["label"]),
            )
        )
    return tuple(result)


@lru_cache(maxsize=1)
def indicator_codes() -> frozenset[str]:
    """The valid indicator codes, for validating a referral."""
    return frozenset(indicator.code for indicator in load_indicators())


def group_indicators(codes: list[str] | tuple[str, ...]) -> dict[str, dict[str, list[Indicator]]]:
    """Observed codes grouped as the assessor reads them: list code -> dimension -> indicators (strong first).
    Unknown codes are ignored."""
    wanted = set(codes)
    order = {Strength.strong: 0, Strength.medium: 1, Strength.weak: 2}
    grouped: dict[str, dict[str, list[Indicator]]] = {}
    for indicator in load_indicators():
        if indicator.code in wanted:
            grouped.setdefault(indicator.list_code, {}).setdefault(indicator.dimension, []).append(indicator)
    for dimensions in grouped.values():
        for items in dimensions.values():
            items.sort(key=lambda item: order[item.strength])
    return grouped
