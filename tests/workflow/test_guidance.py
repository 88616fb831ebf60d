"""First-steps content: every shipped file loads, covers every sector and form in both languages, names no place,
and a bad file is refused with a message naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.workflow import shipped_policy_names
from app.workflow.addresses import address_like
from app.workflow.datafiles import ContentError
from app.workflow.first_steps import (
    AUDIENCE_SECTOR,
    Audience,
    GuidanceFile,
    audience_for_sector,
    first_steps,
    load_guidance,
    validate_guidance_file,
)
from app.workflow.guidance_index import GUIDANCE_DIR, guidance_sources, indexed_policies
from app.workflow.states import ExploitationForm, Language, Sector
from tests.workflow.helpers import edited_copy

FR_FR = GUIDANCE_DIR / "fr" / "fr.toml"


def _content_folders() -> list[Path]:
    return sorted({guidance_sources(policy).content_folder for policy in indexed_policies()})


def test_every_shipped_policy_has_guidance_in_both_languages() -> None:
    assert set(shipped_policy_names()) <= set(indexed_policies())
    for policy in indexed_policies():
        for language in Language:
            guidance = load_guidance(policy, language)
            assert guidance.content.language is language
            assert guidance.content.version >= 1


def test_reuse_is_stated_not_silent() -> None:
    assert load_guidance("fr", "fr").fallback is None
    assert load_guidance("uk", "en").fallback is None
    assert load_guidance("coe", "en").fallback == "generic"
    assert load_guidance("be", "fr").fallback == "generic"
    assert first_steps("be", "en", Audience.public).fallback == "generic"
    with pytest.raises(ContentError, match=r"index\.toml: policies\.atlantis: no guidance"):
        load_guidance("atlantis", "fr")


def _shape(content: GuidanceFile) -> dict[str, tuple[int, ...]]:
    shape = {name: (len(s.do_now), len(s.do_not), len(s.refer)) for name, s in (("everyone", content.everyone),)}
    shape["child"] = (len(content.child.do_now), len(content.child.do_not), len(content.child.refer))
    shape["adult"] = (len(content.adult.do_now), len(content.adult.do_not), len(content.adult.refer))
    for audience, steps in content.audiences.items():
        shape[audience.value] = (len(steps.do_now), len(steps.do_not), len(steps.refer))
    for form, form_steps in content.forms.items():
        shape[form.value] = (len(form_steps.signs), len(form_steps.do_now), len(form_steps.do_not))
    return shape


@pytest.mark.parametrize("folder", _content_folders(), ids=lambda path: path.name)
def test_both_languages_say_the_same_thing(folder: Path) -> None:
    french = validate_guidance_file(folder / "fr.toml", folder.name, Language.fr)
    english = validate_guidance_file(folder / "en.toml", folder.name, Language.en)
    # A version bump or a new line in one language and not the other is a translation left behind.
    assert (french.version, french.effective_date) == (english.version, english.effective_date)
    assert _shape(french) == _shape(english)


@pytest.mark.parametrize("policy", indexed_policies())
def test_every_sector_form_and_age_gets_all_three_answers(policy: str) -> None:
    for language in Language:
        for audience in Audience:
            for form in ExploitationForm:
                for is_child in (True, False):
                    steps = first_steps(policy, language, audience, [form], is_child)
                    keys = [section.key for section in steps.sections]
                    assert keys == [
                        "child" if is_child else "adult",
                        f"form:{form.value}",
                        f"audience:{audience.value}",
                        "everyone",
                    ]
                    for section in steps.sections:
                        assert section.title and section.do_now and section.do_not and section.refer
                    assert steps.sections[1].signs


def test_a_child_found_begging_in_france() -> None:
    steps = first_steps("fr", "fr", Audience.public, ["forced_begging"])  # age unknown: presumed a child
    assert steps.sections[0].key == "child"
    text = " ".join(line for section in steps.sections for line in section.do_now)
    assert "119" in text and "17" in text
    begging = steps.sections[1]
    assert begging.title == "Mendicité forcée"
    assert any("Ne confrontez pas" in line for line in begging.do_not)


def test_forms_come_in_a_stable_order_without_repeats() -> None:
    steps = first_steps("uk", "en", "police", ["forced_marriage", "sexual_exploitation", "forced_marriage"], False)
    assert [s.key for s in steps.sections][1:3] == ["form:sexual_exploitation", "form:forced_marriage"]
    assert [s.key for s in first_steps("uk", "en", "police", [], False).sections] == [
        "adult",
        "audience:police",
        "everyone",
    ]


def test_the_do_nots_of_the_practice_are_there() -> None:
    english = load_guidance("fr", "en").content
    do_not = " ".join(english.everyone.do_not).lower()
    for phrase in ("confront", "promise", "complaint"):
        assert phrase in do_not
    assert "again and again" in " ".join(english.child.do_not)
    uk = load_guidance("uk", "en").content
    words = " ".join(
        line for steps in (uk.everyone, uk.child, uk.adult) for line in (*steps.do_now, *steps.do_not, *steps.refer)
    )
    for term in ("first responder", "reasonable grounds", "recovery period", "Duty to Notify"):
        assert term in words
    french = " ".join(
        line
        for steps in (*load_guidance("fr", "fr").content.audiences.values(), load_guidance("fr", "fr").content.adult)
        for line in (*steps.do_now, *steps.refer)
    )
    for term in (
        "identification préliminaire",
        "délai de réflexion",
        "mise à l'abri",
        "mécanisme national de référence",
    ):
        assert term in french


def test_audiences_map_to_sectors_and_back() -> None:
    for audience, sector in AUDIENCE_SECTOR.items():
        assert audience_for_sector(sector) is audience
    assert audience_for_sector(None) is Audience.public
    for sector in Sector:
        assert audience_for_sector(sector) in Audience


def test_no_shipped_guidance_file_looks_like_an_address() -> None:
    files = sorted(GUIDANCE_DIR.rglob("*.toml"))
    assert len(files) >= 10
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            # Comments too: a file is read by people, and a comment is as public as a value.
            assert address_like(line) is None, f"{path}:{number}: {address_like(line)!r}"


@pytest.mark.parametrize(
    "text",
    [
        "12 rue de la Paix",
        "3 bis, avenue des Champs",
        "Rue Haute",
        "chemin du Moulin",
        "75001",
        "75 001",
        "the home at 10 Downing Street",
        "Acacia Avenue",
        "SW1A 2AA",
        "M1 1AE",
        "BP 123",
        "CEDEX",
        "PO Box 12",
        "Kerkstraat 12",
    ],
)
def test_address_like_catches_streets_and_postcodes(text: str) -> None:
    assert address_like(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Appelez le 17, le 112 ou le 119.",
        "Modern Slavery & Exploitation Helpline, 08000 121 700",
        "France Victimes (116 006)",
        "020 7008 0151",
        "Mendier dans la rue. Ne confrontez pas l'adulte.",
        "CETS 197 art. 10(3); Directive 2011/36/EU art. 13(2)",
        "Gratuit, 24 h/24, 7 j/7.",
        "Code de l'action sociale et des familles, art. L.226-3",
        "a safe place to stay",
    ],
)
def test_address_like_lets_numbers_and_articles_through(text: str) -> None:
    assert address_like(text) is None


def _bad(tmp_path: Path, old: str, new: str, name: str = "fr.toml") -> Path:
    return edited_copy(FR_FR, tmp_path / "fr" / name, old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[everyone]\ntitle", "[everyone]\ntitel = 'x'\ntitle", r"fr\.toml: everyone\.titel: unknown key"),
        ("[audiences.public]", "[audiences.publik]", r"fr\.toml: audiences\.publik\.\[key\]"),
        ("[audiences.police]\ntitle", "[unused_police]\ntitle", r"fr\.toml: audiences: .*missing sectors: police"),
        (
            "[forms.organ_removal]\ntitle",
            "[unused]\ntitle",
            r"fr\.toml: forms: .*missing forms: organ_removal",
        ),
        ('who = "Voisin', 'who = "12 rue de la Paix. Voisin', r"fr\.toml: audiences\.public\.who: .*street address"),
        ("version = 1", "version = 0", r"fr\.toml: version: .*greater than or equal to 1"),
        ("version = 1", 'version = "un"', r"fr\.toml: version: "),
        (
            'do_not = [\n    "Ne confrontez',
            'do_not = [\n    "' + "x" * 400 + '",\n    "Ne confrontez',
            r"everyone\.do_not\.0: .*at most 320",
        ),
        (
            'refer = [\n    "Appelez les numéros ci-dessous',
            'refer = [\n    "",\n    "Appelez',
            r"audiences\.public\.refer\.0",
        ),
        ("effective_date = 2025-07-01", "", r"fr\.toml: effective_date: Field required"),
        ('title = "Face', 'title = "Face\n', r"fr\.toml: \(syntax\): invalid TOML"),
    ],
)
def test_a_bad_file_is_refused_naming_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ContentError, match=message):
        validate_guidance_file(_bad(tmp_path, old, new))


def test_a_file_in_the_wrong_place_is_refused(tmp_path: Path) -> None:
    path = _bad(tmp_path, 'policy = "fr"', 'policy = "fr"')
    with pytest.raises(ContentError, match=r"fr\.toml: policy: says 'fr', but the file is in the folder 'uk'"):
        validate_guidance_file(path, "uk", Language.fr)
    english_named = _bad(tmp_path, 'policy = "fr"', 'policy = "fr"', name="en.toml")
    with pytest.raises(ContentError, match=r"en\.toml: language: says 'fr'"):
        validate_guidance_file(english_named, "fr", Language.en)
    with pytest.raises(ContentError, match=r"missing\.toml: cannot be read"):
        validate_guidance_file(tmp_path / "missing.toml")
