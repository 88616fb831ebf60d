"""Languages of the web application: which one a request gets, and its gettext catalogue.

French is the default; English is the other. Message ids are English; both catalogues translate every one
(`tests/web/test_translations.py` fails otherwise), so the English pages can use the UK's words where they differ.
Catalogues live in `app/web/translations/<lang>/LC_MESSAGES/messages.po`; `make translations` extracts, updates
and compiles them (see docs/web.md). A compiled `.mo` older than its `.po` (or missing, as in a fresh clone that
has not run make) is compiled in memory from the `.po`, so the pages never show stale text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# The Babel locale whose data (dates, numbers, plurals) each language uses: British English for `en`.
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
logger = logging.getLogger("app.web")


def N_(message: str) -> str:
    """Mark a message in Python code for extraction (the gettext convention); pages translate it when they
    render it."""
    return message


def babel_locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[language])


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The compiled catalogue of one language."""
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for {language!r}")
    po_path = TRANSLATIONS_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo_path = po_path.with_suffix(".mo")
    if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
        with mo_path.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    logger.warning("compiling a catalogue in memory; run `make translations-compile`", extra={"language": language})
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def _accepted(header: str) -> Iterable[tuple[float, int, str]]:
    """(quality, -position, primary language) for each range of an Accept-Language header (RFC 9110 §12.5.4)."""
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary and quality > 0:
            yield quality, -position, primary


def negotiate(accept_language: str | None) -> str:
    """The language an Accept-Language header prefers among ours; French when it names neither."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    for _quality, _position, primary in sorted(_accepted(accept_language[:512]), reverse=True):
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE
