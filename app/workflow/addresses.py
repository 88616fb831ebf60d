"""Refusing anything that looks like a place where a person can be found.

Traffickers look for the people who escaped them, so public guidance and routing tables name functions,
organisations and public national numbers, never a shelter's street address or postcode (domain.md, "Safety
of places"). `address_like` is deliberately suspicious: a false alarm costs the author a rewording, a leaked
address can cost a person their safety. It knows French, Belgian (French and Dutch) and British street and
postcode forms.
"""

from __future__ import annotations

import re

# A house number followed by a street word: "12 rue ...", "3 bis, avenue ...", "10 Downing Street".
_STREET_WORDS = (
    r"rue|avenue|av\.?|boulevard|bd|impasse|all[ée]e|quai|chemin|place|route|cours|square|passage|"
    r"r[ée]sidence|lieu-dit|chauss[ée]e|straat|laan|steenweg|"
    r"street|st\.?|road|rd\.?|lane|drive|close|way|terrace|crescent|gardens|grove|mews|parade|court"
)
_NUMBERED_STREET = re.compile(rf"\b\d{{1,4}}\s*(?:bis|ter)?,?\s+(?:{_STREET_WORDS})\b", re.IGNORECASE)
# A French street word followed by a name: "rue de la Paix", "Avenue Jean-Jaurès" (but not "dans la rue.").
_NAMED_STREET = re.compile(
    r"\b(?i:rue|avenue|boulevard|impasse|all[ée]e|quai|chemin|chauss[ée]e)\s+"
    r"(?:de\s+la\s+|de\s+l'|du\s+|des\s+|de\s+)?[A-ZÀ-Ý]"
)
# A Dutch street name followed by its number: "Kerkstraat 12", "Louizalaan 3".
_DUTCH_STREET = re.compile(r"\b[A-Z]\w*(?:straat|laan|steenweg|plein|weg|dreef)\s+\d")
# A British street name: "Acacia Avenue", "Station Road".
_BRITISH_STREET = re.compile(
    r"\b[A-Z][a-z]+\s+(?:Street|Road|Lane|Avenue|Drive|Close|Terrace|Crescent|Gardens|Grove|Mews)\b"
)
# Postal boxes and French business-mail suffixes.
_POSTAL = re.compile(r"\b(?:cedex|b\.?p\.?\s*\d+|bo[îi]te\s+postale|p\.?\s?o\.?\s+box|postbus)\b", re.IGNORECASE)
# A British postcode: "SW1A 2AA", "M1 1AE".
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")
# A run of digits, single spaces allowed inside: five digits make a French postcode ("75001", "75 001"); longer
# runs are telephone numbers ("08000 121 700"), shorter ones years, articles and short numbers.
_DIGIT_RUN = re.compile(r"\d(?:\s?\d)*")


def address_like(text: str) -> str | None:
    """The fragment of `text` that looks like a street address or a postcode, or None."""
    for pattern in (_NUMBERED_STREET, _NAMED_STREET, _DUTCH_STREET, _BRITISH_STREET, _POSTAL, _UK_POSTCODE):
        found = pattern.search(text)
        if found:
            return found.group(0)
    for run in _DIGIT_RUN.finditer(text):
        if sum(character.isdigit() for character in run.group(0)) == 5:
            return run.group(0)
    return None


def refuse_address(text: str) -> str:
    """A pydantic validator: the text unchanged, or a `ValueError` quoting the address-like fragment."""
    fragment = address_like(text)
    if fragment is not None:
        raise ValueError(
            f"looks like a street address or postcode ({fragment!r}): name a function, an organisation "
            "or a public national number, never a place"
        )
    return text
