"""The indicator catalogue: stable codes, tags by form and sector, both languages, sources, the offer order."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.workflow.datafiles import ContentError
from app.workflow.indicators import (
    CATALOGUE,
    Indicator,
    Strength,
    group_indicators,
    indicator_list_titles,
    indicator_sources,
    load_indicators,
    offer_indicators,
    validate_catalogue_file,
)
from app.workflow.states import ExploitationForm, Language, Sector
from tests.workflow.helpers import edited_copy

FROZEN = Path(__file__).parent / "data" / "indicator_codes_2009.txt"
NEW_LISTS = {"FB": "forced_begging", "FC": "forced_criminality", "DS": "domestic_servitude", "FM": "forced_marriage"}


def test_codes_stored_by_referrals_never_change() -> None:
    frozen = FROZEN.read_text(encoding="utf-8").split()
    assert len(frozen) == 140
    current = [indicator.code for indicator in load_indicators()]
    # Appending is allowed; renumbering, removing or reordering the first codes is not.
    assert current[: len(frozen)] == frozen
    assert len(set(current)) == len(current)
    labels = {indicator.code: indicator.label for indicator in load_indicators()}
    assert labels["AL-DR-01"] == "Deceived about the nature of the job, location or employer"
    assert labels["CS-EC-07"] == "No freedom to refuse clients or unprotected sex"


def test_every_indicator_is_tagged_labelled_and_sourced() -> None:
    sources = indicator_sources()
    for indicator in load_indicators():
        assert indicator.forms, indicator.code
        assert indicator.sectors, indicator.code
        assert indicator.label_in("fr") and indicator.label_in(Language.en)
        assert indicator.label_fr != indicator.label, indicator.code
        assert indicator.dimension_label_in("fr") != indicator.dimension_label_in("en")
        assert indicator.source in sources
    for language in Language:
        titles = indicator_list_titles(language)
        assert set(titles) == {indicator.list_code for indicator in load_indicators()}


def test_the_forms_the_ilo_lists_leave_out_have_their_own_lists() -> None:
    indicators = load_indicators()
    for list_code, form in {**NEW_LISTS, "OR": "organ_removal"}.items():
        items = [i for i in indicators if i.list_code == list_code]
        assert len(items) >= 5, list_code
        assert all(ExploitationForm(form) in i.forms for i in items)
        assert all(i.strength is Strength.unrated and i.person == "any" for i in items)
    served = {form for indicator in indicators for form in indicator.forms}
    # No list for these: no source we are sure of (docs/guidance.md).
    assert set(ExploitationForm) - served == {ExploitationForm.surrogacy_exploitation, ExploitationForm.other}
    # We say where we are unsure.
    sources = indicator_sources()
    assert sources["organ_removal"].confidence == "unsure"
    assert sources["ilo2009"].confidence == "sure"


def test_the_ilo_lists_keep_their_meaning() -> None:
    by_code = {indicator.code: indicator for indicator in load_indicators()}
    assert by_code["AS-EC-07"].forms == {ExploitationForm.sexual_exploitation}
    assert ExploitationForm.forced_criminality in by_code["AL-CD-05"].forms
    assert ExploitationForm.forced_marriage in by_code["CL-CR-02"].forms
    assert Sector.education in by_code["CL-EC-06"].sectors and Sector.police not in by_code["CL-EC-06"].sectors
    assert Sector.labour_inspection in by_code["AL-EC-01"].sectors  # inherited from its dimension
    assert Sector.education not in by_code["AL-EC-01"].sectors


def test_a_school_referring_a_begging_child_sees_its_indicators_first() -> None:
    offer = offer_indicators(Sector.education, [ExploitationForm.forced_begging], is_child=True)
    assert offer.first
    for indicator in offer.first:
        assert Sector.education in indicator.sectors
        assert ExploitationForm.forced_begging in indicator.forms
        assert indicator.person in ("child", "any")
    assert {"FB-CD-03", "CL-CD-09"} <= {i.code for i in offer.first}
    rest = [i.code for i in offer.rest]
    # Then the begging indicators a school is not placed to see, before the rest; adult lists last.
    assert rest.index("FB-EC-01") < rest.index("CS-DR-01") < rest.index("AL-DR-01")


def test_fallbacks_when_nothing_matches_both() -> None:
    by_form = offer_indicators(Sector.prosecution, [ExploitationForm.organ_removal], is_child=False)
    assert {i.list_code for i in by_form.first} == {"OR"}  # no organ indicator serves prosecution
    by_sector = offer_indicators(Sector.health, [ExploitationForm.surrogacy_exploitation])
    assert by_sector.first and all(Sector.health in i.sectors for i in by_sector.first)
    nothing = offer_indicators(Sector.coordination, [ExploitationForm.other])
    assert nothing.first == () and len(nothing.rest) == len(load_indicators())
    everything = offer_indicators(None)
    assert len(everything.first) == len(load_indicators()) and everything.rest == ()


@settings(max_examples=150, deadline=None)
@given(
    sector=st.one_of(st.none(), st.sampled_from(list(Sector))),
    forms=st.sets(st.sampled_from(list(ExploitationForm)), max_size=3),
    is_child=st.one_of(st.none(), st.booleans()),
)
def test_the_offer_hides_nothing_and_puts_the_best_match_first(
    sector: Sector | None, forms: set[ExploitationForm], is_child: bool | None
) -> None:
    catalogue = load_indicators()
    offer = offer_indicators(sector, forms, is_child)
    ordered = offer.first + offer.rest
    assert sorted(i.code for i in ordered) == sorted(i.code for i in catalogue)

    def score(indicator: Indicator) -> tuple[bool, bool, bool, bool]:
        age = is_child is None or indicator.person == "any" or (indicator.person == "child") == is_child
        form = not forms or bool(forms & indicator.forms)
        in_sector = sector is None or sector in indicator.sectors
        return (age, form and in_sector, form, in_sector)

    best = max(score(i) for i in catalogue)
    if offer.first:
        assert {score(i) for i in offer.first} == {best}
    else:  # nothing of the person's age serves the sector or the forms
        assert not any(age and (form or in_sector) for age, _, form, in_sector in map(score, catalogue))
    position = {i.code: n for n, i in enumerate(catalogue)}
    assert [position[i.code] for i in offer.first] == sorted(position[i.code] for i in offer.first)
    ranks = [score(i) for i in offer.rest]
    assert [rank[0] for rank in ranks] == sorted((rank[0] for rank in ranks), reverse=True)  # other ages last


def test_grouping_puts_unrated_after_rated() -> None:
    grouped = group_indicators(["FB-CD-01", "AL-CD-01", "AL-CD-08", "nope"])
    assert [i.code for i in grouped["AL"]["coercion_at_destination"]] == ["AL-CD-01", "AL-CD-08"]
    assert [i.code for i in grouped["FB"]["coercion_at_destination"]] == ["FB-CD-01"]


def _bad(tmp_path: Path, old: str, new: str) -> Path:
    return edited_copy(CATALOGUE, tmp_path / "indicators.toml", old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('code = "AL-DR-02"', 'code = "AL-DR-01"', r"indicator\.1 \(AL-DR-01\): code used twice"),
        ('code = "AL-DR-02"', 'code = "ZZ-DR-02"', r"indicator\.1 \(ZZ-DR-02\): unknown list 'ZZ'"),
        ('code = "AL-DR-02"', 'code = "AL-XX-02"', r"unknown dimension 'XX'"),
        ('code = "AL-DR-02"', 'code = "AL-DR-2"', r"indicator\.1\.code: String should match"),
        ('strength = "medium"', 'strength = "very"', r"indicator\.1\.strength"),
        ('label_fr = "Tromperie sur les conditions de travail"\n', "", r"indicator\.1\.label_fr: Field required"),
        ('strength = "medium"', 'strength = "medium"\nforms = ["begging"]', r"indicator\.1\.forms\.0"),
        ('strength = "medium"', 'strength = "medium"\nsectors = ["school"]', r"indicator\.1\.sectors\.0"),
        ('strength = "medium"', 'strength = "medium"\nsectors = []', r"indicator\.1\.sectors: .*at least 1"),
        ('strength = "medium"', 'strength = "medium"\nlable = "x"', r"indicator\.1\.lable: unknown key"),
        ('source = "ilo2009"', 'source = "hearsay"', r"lists\.AL\.source: unknown source 'hearsay'"),
        ('confidence = "sure"', 'confidence = "probably"', r"sources\.ilo2009\.confidence"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ContentError, match=rf"indicators\.toml: .*{message}"):
        validate_catalogue_file(_bad(tmp_path, old, new))
