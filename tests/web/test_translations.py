"""Every message of the web application is in both catalogues, translated, not fuzzy, with the same placeholders;
and every message the code and templates use is in the catalogues (extracted here as `make translations` does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.web.i18n import LANGUAGES, TRANSLATIONS_DIR

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "app" / "web"


def catalogue(language: str) -> Catalog:
    with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=language)


def message_key(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def untranslated(message: Message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string)
    return message.fuzzy or not strings or not all(strings)


def extracted_messages() -> set[str]:
    with (REPO / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config, "babel.cfg")
    return {
        message_key(message_id)
        for _file, _line, message_id, _comments, _context in extract_from_dir(
            WEB_DIR, method_map, options_map, keywords=DEFAULT_KEYWORDS
        )
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    lacking = [message_key(m.id) for m in catalogue(language) if m.id and untranslated(m)]
    assert not lacking, f"{language}: translate these messages (make translations, then edit the .po): {lacking}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_their_message(language: str) -> None:
    problems = [(message_key(m.id), [str(e) for e in errors]) for m, errors in catalogue(language).check() if errors]
    assert not problems, f"{language}: {problems}"


def test_the_extraction_finds_the_messages_of_templates_and_code() -> None:
    found = extracted_messages()
    assert {"Sign in", "There is a problem", "My work", "You have signed out.", "%(num)s day overdue"} <= found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogues_hold_exactly_the_messages_in_use(language: str) -> None:
    in_use = extracted_messages()
    in_catalogue = {message_key(m.id) for m in catalogue(language) if m.id}
    missing, stale = sorted(in_use - in_catalogue), sorted(in_catalogue - in_use)
    assert not missing, f"{language}: not in the catalogue, run `make translations` and translate: {missing}"
    assert not stale, f"{language}: no longer used, run `make translations` to drop: {stale}"
