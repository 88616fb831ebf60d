"""The indicator catalogue: lists of indicators by form of exploitation and by actor, shipped as data.

`catalogue/indicators.toml` holds the ILO / European Commission operational indicators (2009) and the lists
for the forms they leave out (forced begging, forced criminality, domestic servitude, forced marriage, organ
removal), each list and indicator with its source, each indicator tagged with the forms of exploitation and the
sectors it serves and labelled in English and French. It is validated on load (unknown keys refused, errors
naming the file and key). A referral records the codes observed; the API validates them with
`indicator_codes()`; `offer_indicators()` puts first those of the referrer's sector and of the forms they chose;
the assessor sees them grouped by list and dimension with `group_indicators()`. Indicators inform a person;
they decide nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from app.workflow.datafiles import StrictModel, load_file
from app.workflow.states import ExploitationForm, Language, Sector

CATALOGUE = Path(__file__).parent / "catalogue" / "indicators.toml"


class Strength(StrEnum):
    """How strongly an indicator points to trafficking, in the 2009 Delphi survey; `unrated` where the source
    rates nothing (every list but the ILO's)."""

    strong = "strong"
    medium = "medium"
    weak = "weak"
    unrated = "unrated"


_STRENGTH_ORDER = {strength: position for position, strength in enumerate(Strength)}

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
ListCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Person = Literal["adult", "child", "any"]


class IndicatorSource(StrictModel):
    """Where a list or an indicator comes from; `confidence` says whether we are sure of the reference."""

    title: Label
    confidence: Literal["sure", "unsure"]
    note: str = ""


class _List(StrictModel):
    title: Label
    title_fr: Label
    person: Person
    exploitation: Label
    forms: tuple[ExploitationForm, ...] = Field(min_length=1)
    sectors: tuple[Sector, ...] = ()
    source: str


class _Dimension(StrictModel):
    name: Label
    label: Label
    label_fr: Label
    sectors: tuple[Sector, ...] = Field(min_length=1)


class _Item(StrictModel):
    code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z]{2}-\d{2}$")]
    strength: Strength
    label: Label
    label_fr: Label
    forms: tuple[ExploitationForm, ...] | None = Field(default=None, min_length=1)
    sectors: tuple[Sector, ...] | None = Field(default=None, min_length=1)
    source: str | None = None


class CatalogueFile(StrictModel):
    """The catalogue as written."""

    sources: dict[str, IndicatorSource]
    lists: dict[ListCode, _List]
    dimensions: dict[ListCode, _Dimension]
    indicator: tuple[_Item, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> CatalogueFile:
        for code, entry in self.lists.items():
            if entry.source not in self.sources:
                raise ValueError(f"lists.{code}.source: unknown source {entry.source!r}")
        seen: set[str] = set()
        for number, item in enumerate(self.indicator):
            where = f"indicator.{number} ({item.code})"
            if item.code in seen:
                raise ValueError(f"{where}: code used twice")
            seen.add(item.code)
            list_code, dimension_code, _ = item.code.split("-")
            if list_code not in self.lists:
                raise ValueError(f"{where}: unknown list {list_code!r}")
            if dimension_code not in self.dimensions:
                raise ValueError(f"{where}: unknown dimension {dimension_code!r}")
            if item.source is not None and item.source not in self.sources:
                raise ValueError(f"{where}: unknown source {item.source!r}")
        return self


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: its code (`AL-DR-01`), list, dimension, strength, labels in both languages, the forms of
    exploitation and the sectors it serves, and the key of its source (`indicator_sources()`)."""

    code: str
    list_code: str
    person: str
    exploitation: str
    dimension: str
    dimension_label: str
    strength: Strength
    label: str
    label_fr: str
    dimension_label_fr: str
    forms: frozenset[ExploitationForm]
    sectors: frozenset[Sector]
    source: str

    def label_in(self, language: Language | str) -> str:
        """The label in `language`."""
        return self.label_fr if Language(language) is Language.fr else self.label

    def dimension_label_in(self, language: Language | str) -> str:
        """The dimension's label in `language`."""
        return self.dimension_label_fr if Language(language) is Language.fr else self.dimension_label


def validate_catalogue_file(path: Path) -> CatalogueFile:
    """Read and validate a catalogue file; raises `ContentError` naming the file and the key."""
    return load_file(CatalogueFile, path)


@lru_cache(maxsize=1)
def _catalogue() -> CatalogueFile:
    return validate_catalogue_file(CATALOGUE)


def indicators_of(catalogue: CatalogueFile) -> tuple[Indicator, ...]:
    """Every indicator of a catalogue, in catalogue order, with its inherited tags resolved."""
    result = []
    for item in catalogue.indicator:
        list_code, dimension_code, _ = item.code.split("-")
        entry = catalogue.lists[list_code]
        dimension = catalogue.dimensions[dimension_code]
        sectors = item.sectors if item.sectors is not None else (*entry.sectors, *dimension.sectors)
        result.append(
            Indicator(
                code=item.code,
                list_code=list_code,
                person=entry.person,
                exploitation=entry.exploitation,
                dimension=dimension.name,
                dimension_label=dimension.label,
                strength=item.strength,
                label=item.label,
                label_fr=item.label_fr,
                dimension_label_fr=dimension.label_fr,
                forms=frozenset(item.forms if item.forms is not None else entry.forms),
                sectors=frozenset(sectors),
                source=item.source or entry.source,
            )
        )
    return tuple(result)


@lru_cache(maxsize=1)
def load_indicators() -> tuple[Indicator, ...]:
    """Every indicator of the shipped catalogue, in catalogue order."""
    return indicators_of(_catalogue())


def indicator_sources() -> dict[str, IndicatorSource]:
    """The sources of the shipped catalogue, by key (an `Indicator.source`)."""
    return dict(_catalogue().sources)


def indicator_list_titles(language: Language | str) -> dict[str, str]:
    """The title of each list (`AL`, `FB`, ...) in `language`, for headings."""
    french = Language(language) is Language.fr
    return {code: entry.title_fr if french else entry.title for code, entry in _catalogue().lists.items()}


@lru_cache(maxsize=1)
def indicator_codes() -> frozenset[str]:
    """The valid indicator codes, for validating a referral."""
    return frozenset(indicator.code for indicator in load_indicators())


def group_indicators(codes: list[str] | tuple[str, ...]) -> dict[str, dict[str, list[Indicator]]]:
    """Observed codes grouped as the assessor reads them: list code -> dimension -> indicators (strong first).
    Unknown codes are ignored."""
    wanted = set(codes)
    grouped: dict[str, dict[str, list[Indicator]]] = {}
    for indicator in load_indicators():
        if indicator.code in wanted:
            grouped.setdefault(indicator.list_code, {}).setdefault(indicator.dimension, []).append(indicator)
    for dimensions in grouped.values():
        for items in dimensions.values():
            items.sort(key=lambda item: _STRENGTH_ORDER[item.strength])
    return grouped


@dataclass(frozen=True, slots=True)
class IndicatorOffer:
    """The whole catalogue in the order a referrer should see it: `first` the indicators for their sector and
    the forms they chose, `rest` everything else (nothing is hidden: a referrer may tick any indicator)."""

    first: tuple[Indicator, ...]
    rest: tuple[Indicator, ...]


def offer_indicators(
    sector: Sector | str | None,
    forms: Iterable[ExploitationForm | str] = (),
    is_child: bool | None = None,
    indicators: tuple[Indicator, ...] | None = None,
) -> IndicatorOffer:
    """Order the catalogue for a referrer of `sector` (None: unknown) who suspects `forms` (none: no choice yet)
    for a child, an adult or an unknown age (None).

    `first` holds, for the person's age, the indicators serving both the sector and one of the forms; when there
    are none, those serving one of the forms; then those serving the sector. `rest` follows in the same order of
    preference (form, then sector, then the others; lists for another age last), catalogue order within each.
    """
    chosen = frozenset(ExploitationForm(form) for form in forms)
    wanted_sector = None if sector is None else Sector(sector)
    tiers: list[list[Indicator]] = [[] for _ in range(5)]
    for indicator in load_indicators() if indicators is None else indicators:
        same_age = is_child is None or indicator.person == "any" or (indicator.person == "child") == is_child
        form_match = not chosen or bool(chosen & indicator.forms)
        sector_match = wanted_sector is None or wanted_sector in indicator.sectors
        if not same_age:
            tiers[4].append(indicator)
        elif form_match and sector_match:
            tiers[0].append(indicator)
        elif form_match:
            tiers[1].append(indicator)
        elif sector_match:
            tiers[2].append(indicator)
        else:
            tiers[3].append(indicator)
    best = next((number for number in range(3) if tiers[number]), None)
    first = tuple(tiers[best]) if best is not None else ()
    rest = tuple(indicator for number, tier in enumerate(tiers) if number != best for indicator in tier)
    return IndicatorOffer(first, rest)
