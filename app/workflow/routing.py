"""Whom to contact: the routing table of a policy (region x child or adult x form of exploitation -> contacts).

A routing table (`app/workflow/guidance/<folder>/routing.toml`) lists contacts, each a function or an
organisation with, at most, a public national number, and `[[route]]` rows that say which contacts serve which
regions, persons and forms. Never a shelter's address: every text is checked by `refuse_address`.

Reading the table (`contacts_for`):
1. a row applies when one of its region patterns matches the region (`*` any region, `FR-97*` a prefix,
   `GB-SCT` exactly), its `person` is the person's (`child`, `adult` or `any`) and its `forms` are `*` or share
   a form with those chosen;
2. for each kind of contact, only the applicable rows with the most specific region pattern count: a row for
   `GB-SCT` naming a `child_protection` contact replaces, for Scotland, the `child_protection` contacts of the
   `*` rows, and leaves the other kinds alone;
3. the contacts come out in the order of `ContactKind` (emergency first), then in the order of the file.

The loader refuses a table whose `*` rows would leave anyone without an emergency number and a way into the
mechanism, or a child without child protection; since a more specific row can only replace a kind with the
same kind, every region, age and form then resolves to at least those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from app.workflow.addresses import refuse_address
from app.workflow.datafiles import ContentError, StrictModel, load_file
from app.workflow.guidance_index import guidance_sources
from app.workflow.states import ExploitationForm, Language


class ContactKind(StrEnum):
    """What a contact is for, in the order a page lists them."""

    emergency = "emergency"
    child_protection = "child_protection"
    nrm = "nrm"
    police = "police"
    labour_inspection = "labour_inspection"
    helpline = "helpline"
    victim_support = "victim_support"
    shelter = "shelter"


_KIND_ORDER = {kind: position for position, kind in enumerate(ContactKind)}

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(refuse_address)
]
#: A public number as dialled: digits, single spaces, an optional leading `+` (2 to 15 digits).
Phone = Annotated[str, StringConstraints(pattern=r"^\+?\d(?: ?\d){1,14}$")]
#: `*`, an ISO 3166-2 code (`FR-75`, `GB-SCT`) or a prefix ending in `*` (`FR-97*`).
RegionPattern = Annotated[
    str, StringConstraints(pattern=r"^(\*|[A-Z]{2}(-[A-Z0-9]{1,3})?|[A-Z]{2}(-[A-Z0-9]{0,2})?\*)$")
]
ContactKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
PersonScope = Literal["child", "adult", "any"]


class Localised(StrictModel):
    """A text in every language of the service."""

    fr: Text
    en: Text

    def text(self, language: Language) -> str:
        """The text in `language`."""
        return self.fr if language is Language.fr else self.en


class ContactEntry(StrictModel):
    """A function or organisation to contact; `source` says where its number or role comes from."""

    kind: ContactKind
    name: Localised
    phone: Phone | None = None
    how: Localised
    source: Text


class Route(StrictModel):
    """One row of the routing table."""

    regions: tuple[RegionPattern, ...] = Field(default=("*",), min_length=1)
    person: PersonScope
    forms: tuple[ExploitationForm, ...] | Literal["*"] = "*"
    contacts: tuple[ContactKey, ...] = Field(min_length=1)

    def serves(self, region: str | None, is_child: bool, forms: frozenset[ExploitationForm]) -> int | None:
        """The specificity of the best matching region pattern when the row applies, else None."""
        if self.person != "any" and (self.person == "child") != is_child:
            return None
        if self.forms != "*" and not forms.intersection(self.forms):
            return None
        scores = [score for pattern in self.regions if (score := _specificity(pattern, region)) is not None]
        return max(scores, default=None)


def _specificity(pattern: str, region: str | None) -> int | None:
    if pattern == "*":
        return 0
    if region is None:
        return None
    if pattern.endswith("*"):
        return len(pattern) if region.startswith(pattern[:-1]) else None
    return 100 if region == pattern else None


class RoutingFile(StrictModel):
    """A policy's routing table, as written."""

    policy: str = Field(min_length=1)
    version: int = Field(ge=1)
    effective_date: date
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    regions: dict[str, Localised] = Field(default_factory=dict)
    contacts: dict[ContactKey, ContactEntry]
    route: tuple[Route, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _coherent(self) -> RoutingFile:
        used: set[str] = set()
        for number, row in enumerate(self.route):
            unknown = [key for key in row.contacts if key not in self.contacts]
            if unknown:
                raise ValueError(f"route.{number}: unknown contacts: {', '.join(unknown)}")
            used.update(row.contacts)
            for pattern in row.regions:
                if pattern == "*":
                    continue
                if self.country is not None and not pattern.startswith(self.country):
                    raise ValueError(f"route.{number}: region {pattern!r} is not in {self.country}")
                if pattern not in self.regions:
                    raise ValueError(f"route.{number}: region {pattern!r} has no name in [regions]")
        unused = sorted(set(self.contacts) - used)
        if unused:
            raise ValueError(f"contacts never routed: {', '.join(unused)}")
        for key, contact in self.contacts.items():
            if contact.kind is ContactKind.emergency and contact.phone is None:
                raise ValueError(f"contacts.{key}: an emergency contact needs a phone number")
        self._check_floor()
        return self

    def _check_floor(self) -> None:
        # What the `*` rows for every form guarantee; more specific rows only replace a kind with the same kind.
        for person, needed in (
            ("adult", {ContactKind.emergency, ContactKind.nrm}),
            ("child", {ContactKind.emergency, ContactKind.nrm, ContactKind.child_protection}),
        ):
            kinds = {
                self.contacts[key].kind
                for row in self.route
                if "*" in row.regions and row.forms == "*" and row.person in ("any", person)
                for key in row.contacts
            }
            missing = sorted(kind.value for kind in needed - kinds)
            if missing:
                raise ValueError(f"the '*' rows for every form leave a {person} without: {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """A policy's routing table; `fallback` names the reused folder, if any."""

    policy: str
    fallback: str | None
    table: RoutingFile


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact as a page shows it, in one language."""

    key: str
    kind: ContactKind
    name: str
    phone: str | None
    how: str
    source: str


def validate_routing_file(path: Path, folder: str | None = None) -> RoutingFile:
    """Read and validate one routing table; `folder`, when given, must be the policy it declares."""
    table = load_file(RoutingFile, path)
    if folder is not None and table.policy != folder:
        raise ContentError(f"{path}: policy: says {table.policy!r}, but the file is in the folder {folder!r}")
    return table


@lru_cache(maxsize=16)
def load_routing(policy: str) -> RoutingTable:
    """The routing table of a policy, validated; raises `ContentError` naming file and key."""
    sources = guidance_sources(policy)
    folder = sources.routing_folder
    return RoutingTable(policy, sources.routing_fallback, validate_routing_file(folder / "routing.toml", folder.name))


def route(
    table: RoutingFile,
    region: str | None,
    is_child: bool,
    forms: Iterable[ExploitationForm | str],
    language: Language | str,
) -> tuple[Contact, ...]:
    """The contacts of `table` for one person (rules in the module docstring)."""
    language = Language(language)
    if region is not None:
        region = region.strip().upper() or None  # "" is an unknown region; "gb-sct" is GB-SCT
    chosen = frozenset(ExploitationForm(form) for form in forms)
    candidates: list[tuple[int, int, str]] = []  # (specificity, order in the file, contact key)
    for row in table.route:
        score = row.serves(region, is_child, chosen)
        if score is not None:
            for key in row.contacts:
                candidates.append((score, len(candidates), key))
    best: dict[ContactKind, int] = {}
    for score, _, key in candidates:
        kind = table.contacts[key].kind
        best[kind] = max(best.get(kind, score), score)
    kept: dict[str, tuple[int, int]] = {}
    for score, order, key in candidates:
        kind = table.contacts[key].kind
        if score == best[kind] and key not in kept:
            kept[key] = (_KIND_ORDER[kind], order)
    result = []
    for key in sorted(kept, key=kept.__getitem__):
        entry = table.contacts[key]
        result.append(
            Contact(key, entry.kind, entry.name.text(language), entry.phone, entry.how.text(language), entry.source)
        )
    return tuple(result)


def contacts_for(
    policy: str,
    region: str | None,
    is_child: bool,
    forms: Iterable[ExploitationForm | str],
    language: Language | str,
) -> tuple[Contact, ...]:
    """Whom to contact, in a policy, for a person in `region` (None when unknown), child or adult, for the forms
    of exploitation suspected (none: the general contacts). A child always gets child protection and an
    emergency number; everyone gets an emergency number and a way into the mechanism."""
    return route(load_routing(policy).table, region, is_child, forms, language)


def routing_regions(policy: str, language: Language | str) -> tuple[tuple[str, str], ...]:
    """The regions that change the answer in a policy, as (code, name) pairs, for a page's region choice."""
    language = Language(language)
    return tuple((code, name.text(language)) for code, name in load_routing(policy).table.regions.items())
