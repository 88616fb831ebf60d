"""The routing tables: every region, age and form resolves; a child always gets child protection and an emergency
number; regional rows replace only their own kind; a bad table is refused naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.workflow.datafiles import ContentError
from app.workflow.guidance_index import GUIDANCE_DIR, indexed_policies
from app.workflow.routing import (
    ContactKind,
    contacts_for,
    load_routing,
    route,
    routing_regions,
    validate_routing_file,
)
from app.workflow.states import ExploitationForm, Language
from tests.workflow.helpers import edited_copy

POLICIES = indexed_policies()
KIND_ORDER = list(ContactKind)


@st.composite
def regions(draw: st.DrawFn) -> str | None:
    named = [code for policy in POLICIES for code, _ in routing_regions(policy, "en")]
    return draw(
        st.one_of(
            st.none(),
            st.sampled_from(["FR", "FR-75", "FR-971", "FR-2A", "GB", "GB-SCT", "BE-BRU", *named]),
            st.from_regex(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", fullmatch=True),
        )
    )


@settings(max_examples=300, deadline=None)
@given(
    policy=st.sampled_from(POLICIES),
    region=regions(),
    is_child=st.booleans(),
    forms=st.sets(st.sampled_from(list(ExploitationForm))),
    language=st.sampled_from(list(Language)),
)
def test_everyone_gets_help_and_a_child_gets_child_protection(
    policy: str, region: str | None, is_child: bool, forms: set[ExploitationForm], language: Language
) -> None:
    contacts = contacts_for(policy, region, is_child, forms, language)
    kinds = [contact.kind for contact in contacts]
    assert contacts
    assert any(c.kind is ContactKind.emergency and c.phone for c in contacts), "no emergency number"
    assert ContactKind.nrm in kinds, "no way into the mechanism"
    if is_child:
        assert ContactKind.child_protection in kinds
    assert len({c.key for c in contacts}) == len(contacts)
    assert kinds == sorted(kinds, key=KIND_ORDER.index)
    assert all(c.name and c.how and c.source for c in contacts)


def test_every_combination_resolves() -> None:
    # The exhaustive companion of the property above, on the regions each table names and an unknown one.
    for policy in POLICIES:
        for region in [None, "ZZ-999", *(code for code, _ in routing_regions(policy, "fr"))]:
            for is_child in (True, False):
                for form in [None, *ExploitationForm]:
                    forms = [] if form is None else [form]
                    kinds = {c.kind for c in contacts_for(policy, region, is_child, forms, "fr")}
                    assert ContactKind.emergency in kinds and ContactKind.nrm in kinds
                    assert not is_child or ContactKind.child_protection in kinds


def test_a_child_found_begging_in_france_gets_119_and_17() -> None:
    contacts = contacts_for("fr", "FR-75", True, ["forced_begging"], "fr")
    phones = [c.phone for c in contacts]
    assert phones[0] == "17"
    assert "119" in phones
    assert "crip" in [c.key for c in contacts]
    assert "Allô Enfance en Danger (119)" in [c.name for c in contacts]


def test_forms_add_their_own_contacts() -> None:
    general = {c.key for c in contacts_for("fr", None, False, [], "fr")}
    labour = {c.key for c in contacts_for("fr", None, False, ["forced_labour"], "fr")}
    marriage = {c.key for c in contacts_for("fr", None, False, ["forced_marriage"], "en")}
    assert labour - general == {"labour_inspection"}
    assert marriage - general == {"violences_femmes_3919"}
    assert "allo_119" not in general
    assert {"acse", "samu_social_115"} <= general


def test_a_nation_replaces_only_its_own_kind() -> None:
    uk_wide = {c.key for c in contacts_for("uk", None, True, [], "en")}
    scotland = {c.key for c in contacts_for("uk", "GB-SCT", True, [], "en")}
    assert {c.key for c in contacts_for("uk", " gb-sct ", True, [], "en")} == scotland
    assert {c.key for c in contacts_for("uk", "", True, [], "en")} == uk_wide
    assert "child_protection_uk" in uk_wide and "child_protection_uk" not in scotland
    assert "social_work_scotland" in scotland and "children_services_england" not in scotland
    # Other kinds are untouched by the Scottish row.
    assert {"emergency_999", "ms_helpline", "childline"} <= scotland
    england_adult = {c.key for c in contacts_for("uk", "GB-ENG", False, [], "en")}
    assert "victim_care_contract" in england_adult
    assert "victim_care_contract" not in {c.key for c in contacts_for("uk", "GB-NIR", False, [], "en")}


def test_languages_and_fallback() -> None:
    french = contacts_for("uk", None, False, [], Language.fr)
    english = contacts_for("uk", None, False, [], "en")
    assert [c.key for c in french] == [c.key for c in english]
    assert french[0].name == "Urgences (999)" and english[0].name == "Emergency services (999)"
    assert load_routing("fr").fallback is None and load_routing("coe").fallback == "generic"
    assert load_routing("be").fallback is None
    assert dict(routing_regions("uk", "fr"))["GB-SCT"] == "Écosse"
    assert routing_regions("fr", "fr") == ()


def test_numbers_are_public_and_national() -> None:
    for policy in POLICIES:
        for contact in load_routing(policy).table.contacts.values():
            if contact.phone is not None:
                digits = contact.phone.replace(" ", "")
                assert digits.isdigit() and 2 <= len(digits) <= 11, contact.phone


FR_ROUTING = GUIDANCE_DIR / "fr" / "routing.toml"


def _bad(tmp_path: Path, old: str, new: str) -> Path:
    return edited_copy(FR_ROUTING, tmp_path / "routing.toml", old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'kind = "emergency"\nphone = "17"',
            'kind = "emergency"\nfone = "17"',
            r"contacts\.police_17\.fone: unknown key",
        ),
        ('phone = "17"', 'phone = "17 rue"', r"contacts\.police_17\.phone: String should match pattern"),
        ('phone = "17"\n', "", r"contacts\.police_17: an emergency contact needs a phone number"),
        (
            'how = { fr = "Danger immédiat pour la personne',
            'how = { fr = "Au 12 rue de la Paix. Danger immédiat pour la personne',
            r"contacts\.police_17\.how\.fr: .*street address",
        ),
        (
            'name = { fr = "Police secours ou gendarmerie (17)", ',
            "name = { ",
            r"contacts\.police_17\.name\.fr: Field required",
        ),
        (
            'contacts = ["allo_119", "crip", "parquet_mineurs"]',
            'contacts = ["allo_119", "crip", "parquet"]',
            r"route\.1: unknown contacts: parquet",
        ),
        (
            'person = "child"\ncontacts = ["allo_119", "crip", "parquet_mineurs"]',
            'person = "child"\nforms = ["forced_begging"]\ncontacts = ["allo_119", "crip", "parquet_mineurs"]',
            r"the '\*' rows for every form leave a child without: child_protection",
        ),
        (
            'contacts = ["violences_femmes_3919"]',
            'contacts = ["police_17"]',
            r"contacts never routed: violences_femmes_3919",
        ),
        (
            'forms = ["forced_marriage"]',
            'regions = ["GB-SCT"]\nforms = ["forced_marriage"]',
            r"route\.4: region 'GB-SCT' is not in FR",
        ),
        (
            'forms = ["forced_marriage"]',
            'regions = ["FR-971"]\nforms = ["forced_marriage"]',
            r"route\.4: region 'FR-971' has no name",
        ),
        (
            'forms = ["forced_marriage"]',
            'regions = ["FR 97"]\nforms = ["forced_marriage"]',
            r"route\.4\.regions\.0: String should match",
        ),
        ('forms = ["forced_marriage"]', 'forms = ["marriage"]', r"route\.4\.forms"),
        ('person = "adult"', 'person = "adults"', r"route\.2\.person"),
    ],
)
def test_a_bad_table_is_refused_naming_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = _bad(tmp_path, old, new)
    with pytest.raises(ContentError, match=rf"routing\.toml: .*{message}"):
        validate_routing_file(path)


def test_within_a_kind_the_file_order_holds(tmp_path: Path) -> None:
    path = _bad(
        tmp_path,
        'contacts = ["allo_119", "crip", "parquet_mineurs"]',
        'contacts = ["crip", "parquet_mineurs", "allo_119"]',
    )
    keys = [c.key for c in route(validate_routing_file(path), None, True, [], "fr")]
    assert keys[4:7] == ["crip", "parquet_mineurs", "allo_119"]
    assert [c.key for c in contacts_for("fr", None, True, [], "fr")][4:7] == ["allo_119", "crip", "parquet_mineurs"]


def test_a_table_in_the_wrong_folder_is_refused(tmp_path: Path) -> None:
    path = _bad(tmp_path, 'policy = "fr"', 'policy = "fr"')
    with pytest.raises(ContentError, match=r"policy: says 'fr', but the file is in the folder 'uk'"):
        validate_routing_file(path, "uk")
