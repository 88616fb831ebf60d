"""How to talk with the person: the interpreter's language and a communication aid, as codes.

Both sit in clear in the case's `needs` (the caseworkers plan with them, statistics count them) and auditors see
them, so each is a code and never free text; whatever describes the person's situation ("a woman interpreter,
the Asmara dialect, not from her village") goes into `needs.note`, encrypted with the case key (issue 10
point 13).

- A language is the primary language subtag of a BCP 47 tag (RFC 5646, 2.2.1): the ISO 639-1 two-letter code
  where the language has one, else its ISO 639-3 code (Dari `prs`, Nigerian Pidgin `pcm`, French Sign
  Language `fsl`). The codes are ISO 639's as pycountry ships them; a three-letter code of a language that has
  a two-letter one is given back as the two-letter one (`fra` -> `fr`); ISO 639's special codes (`und`, `mul`,
  `mis`, `zxx`) name no language an interpreter speaks and are refused, as is anything longer (a region or
  script subtag: say it in the note).
- A communication aid is one `CommunicationAid`; `other` says "see the note".

`clear_needs` is the one rule for what a case's `needs` keep in clear: the referral refuses what it finds
(422), a transfer from a peer and the migration of older rows set it to null.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import cache
from typing import Any

import pycountry


class CommunicationAid(StrEnum):
    """What helps the person understand and be understood, besides an interpreter of a spoken language."""

    sign_language = "sign_language"  # an interpreter of a sign language, whose code is the interpreter language
    easy_read = "easy_read"  # short sentences and pictures
    large_print = "large_print"
    braille = "braille"
    audio = "audio"  # information read aloud or recorded
    hearing_loop = "hearing_loop"
    speech_to_text = "speech_to_text"
    pictograms = "pictograms"
    support_person = "support_person"  # a trusted person present at interviews
    other = "other"  # described in the encrypted note


#: ISO 639 scope of its special codes (`und`, `mul`, `mis`, `zxx`).
_SPECIAL_SCOPE = "S"


@cache
def language_codes() -> Mapping[str, str]:
    """Every code a language may be given as, in lower case, to its BCP 47 primary language subtag."""
    codes: dict[str, str] = {}
    for language in pycountry.languages:
        if language.scope == _SPECIAL_SCOPE:
            continue
        two: str | None = getattr(language, "alpha_2", None)
        canonical = two or language.alpha_3
        for code in (language.alpha_3, two, getattr(language, "bibliographic", None)):
            if code:
                codes[code] = canonical
    return codes


def language_code(value: str) -> str:
    """`value` as a BCP 47 primary language subtag in lower case; `ValueError` if it names no language."""
    code = language_codes().get(value.strip().lower()) if isinstance(value, str) else None
    if code is None:
        raise ValueError(
            "not a language code: give the ISO 639-1 code (`ti`), or the ISO 639-3 code of a language without "
            "one (`prs`), and describe anything else in the note"
        )
    return code


def communication_aid(value: str) -> str:
    """`value` as a `CommunicationAid` code; `ValueError` if it is none."""
    code = value.strip().lower() if isinstance(value, str) else None
    if code not in {aid.value for aid in CommunicationAid}:
        raise ValueError("not a communication aid code: describe anything else in the note")
    return code


#: What a case's `needs` keep in clear: codes, counts and flags. `note`, free text, is sealed with the account.
CLEAR_NEEDS = frozenset({"interpreter_language", "communication_aid", "dependants", "support_wanted", "shelter_needed"})
_CODES = {"interpreter_language": language_code, "communication_aid": communication_aid}


def clear_needs(needs: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The needs as they may be kept in clear (codes normalised, `note` left out), and what could not be
    kept, as (field, why): a language or an aid that is not a code becomes null, any other field is dropped."""
    clear: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for name, value in needs.items():
        if name == "note":
            continue
        if name not in CLEAR_NEEDS:
            problems.append((name, "not a field of the needs"))
            continue
        if name in _CODES and value is not None:
            try:
                value = _CODES[name](value)
            except ValueError as error:
                problems.append((name, str(error)))
                value = None
        clear[name] = value
    return clear, problems


def needs_note(needs: Mapping[str, Any]) -> str | None:
    """The free text of the needs, to be sealed with the case key; None when there is none."""
    note = needs.get("note")
    return note.strip() if isinstance(note, str) and note.strip() else None
