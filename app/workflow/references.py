"""Case references: what a caseworker reads out on the phone instead of an id (`MNR-2027-00042`).

A reference is the referral's year (in the policy's time zone) and a number that the database hands out once per
case; numbers grow across years and never repeat, so the year only helps a person place the case. References
hold nothing of the person. `normalise_reference` accepts what people type (lower case, spaces, no dashes).
"""

from __future__ import annotations

import re

PREFIX = "MNR"
_TYPED = re.compile(r"^\s*([A-Za-z]{3})[\s-]*(\d{4})[\s-]*(\d{1,12})\s*$")


def format_reference(year: int, number: int) -> str:
    """`MNR-2027-00042`: five digits at least, more once the numbers grow past them."""
    return f"{PREFIX}-{year:04d}-{number:05d}"


def normalise_reference(typed: str) -> str | None:
    """The reference as stored, from what a person typed (`mnr 2027 42`, `MNR-2027-00042`); None if it is not
    one."""
    match = _TYPED.match(typed)
    if match is None or match.group(1).upper() != PREFIX:
        return None
    return format_reference(int(match.group(2)), int(match.group(3)))
