"""First steps for anyone who meets a possible victim: what to do now, what not to do, how to refer.

The content is data, one file per policy and language (`app/workflow/guidance/<folder>/<language>.toml`, the
folder chosen by `guidance/index.toml`), each with a `version` and an `effective_date`, validated on load:
unknown keys are refused, every sector (`Audience`) and every form of exploitation must be covered, no line may
look like a street address, and every error names the file and the key. `first_steps()` assembles, for one
reader (their sector, the person's age, the forms they suspect), the sections a page shows, in the order a
person under stress needs them. Whom to call comes from the routing table (`app.workflow.routing`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from app.workflow.addresses import refuse_address
from app.workflow.datafiles import ContentError, StrictModel, load_file
from app.workflow.guidance_index import guidance_sources
from app.workflow.states import ExploitationForm, Language, Sector


class Audience(StrEnum):
    """Who reads the first steps: the sectors of first responders, and the public."""

    school = "school"
    hospital = "hospital"
    labour_inspection = "labour_inspection"
    police = "police"
    social_services = "social_services"
    association = "association"
    public = "public"


#: The organisation sector whose users read each audience's section (the public has none).
AUDIENCE_SECTOR: dict[Audience, Sector | None] = {
    Audience.school: Sector.education,
    Audience.hospital: Sector.health,
    Audience.labour_inspection: Sector.labour_inspection,
    Audience.police: Sector.police,
    Audience.social_services: Sector.social_services,
    Audience.association: Sector.ngo,
    Audience.public: None,
}

_SECTOR_AUDIENCE: dict[Sector, Audience] = {
    Sector.education: Audience.school,
    Sector.health: Audience.hospital,
    Sector.labour_inspection: Audience.labour_inspection,
    Sector.police: Audience.police,
    Sector.prosecution: Audience.police,
    Sector.social_services: Audience.social_services,
    Sector.child_protection: Audience.social_services,
    Sector.ngo: Audience.association,
    Sector.asylum: Audience.association,
    Sector.coordination: Audience.association,
}


def audience_for_sector(sector: Sector | None) -> Audience:
    """The section a signed-in user of `sector` reads first (the public's when there is no sector)."""
    return Audience.public if sector is None else _SECTOR_AUDIENCE[sector]


# Short on purpose: the reader is a nurse, a youth worker or a labour inspector under stress.
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320), AfterValidator(refuse_address)
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), AfterValidator(refuse_address)
]
Lines = Annotated[tuple[Line, ...], Field(min_length=1, max_length=8)]


class Steps(StrictModel):
    """What to do now, what not to do, and how to refer."""

    title: Title
    do_now: Lines
    do_not: Lines
    refer: Lines


class AudienceSteps(Steps):
    """The steps for one sector; `who` says whom the section speaks to."""

    who: Line


class FormSteps(Steps):
    """The steps for one form of exploitation; `signs` are what a first responder may notice."""

    signs: Lines


class GuidanceFile(StrictModel):
    """One content file: a policy (or the generic folder) in one language."""

    policy: str = Field(min_length=1)
    language: Language
    version: int = Field(ge=1)
    effective_date: date
    title: Title
    intro: Line
    sources: Lines
    everyone: Steps
    child: Steps
    adult: Steps
    audiences: dict[Audience, AudienceSteps]
    forms: dict[ExploitationForm, FormSteps]

    @field_validator("audiences", "forms")
    @classmethod
    def _complete(cls, value: dict[Any, Steps], info: ValidationInfo) -> dict[Any, Steps]:
        every, what = (Audience, "sectors") if info.field_name == "audiences" else (ExploitationForm, "forms")
        missing = [member.value for member in every if member not in value]
        if missing:
            raise ValueError(f"missing {what}: {', '.join(missing)}")
        return value


def validate_guidance_file(
    path: Path, folder: str | None = None, language: Language | str | None = None
) -> GuidanceFile:
    """Read and validate one content file; `folder` and `language`, when given, must match what it declares."""
    content = load_file(GuidanceFile, path)
    if folder is not None and content.policy != folder:
        raise ContentError(f"{path}: policy: says {content.policy!r}, but the file is in the folder {folder!r}")
    if language is not None and content.language != Language(language):
        raise ContentError(f"{path}: language: says {content.language.value!r}, but the file is {path.name}")
    return content


@dataclass(frozen=True, slots=True)
class Guidance:
    """A policy's first-steps content in one language; `fallback` names the reused folder, if any."""

    policy: str
    fallback: str | None
    content: GuidanceFile


@lru_cache(maxsize=32)
def load_guidance(policy: str, language: Language | str) -> Guidance:
    """The first-steps content of a policy in a language, validated; raises `ContentError` naming file and key."""
    language = Language(language)
    sources = guidance_sources(policy)
    folder = sources.content_folder
    path = folder / f"{language.value}.toml"
    return Guidance(policy, sources.content_fallback, validate_guidance_file(path, folder.name, language))


@dataclass(frozen=True, slots=True)
class Section:
    """One block of a first-steps page. `key` is `child`, `adult`, `form:<code>`, `audience:<code>` or
    `everyone`; `signs` is empty except for a form of exploitation."""

    key: str
    title: str
    signs: tuple[str, ...]
    do_now: tuple[str, ...]
    do_not: tuple[str, ...]
    refer: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FirstSteps:
    """Everything a first-steps page shows, except the contacts (`app.workflow.routing.contacts_for`)."""

    policy: str
    language: Language
    version: int
    effective_date: date
    fallback: str | None
    title: str
    intro: str
    sections: tuple[Section, ...]
    sources: tuple[str, ...]


def _section(key: str, steps: Steps, signs: tuple[str, ...] = ()) -> Section:
    return Section(key, steps.title, signs, steps.do_now, steps.do_not, steps.refer)


def first_steps(
    policy: str,
    language: Language | str,
    audience: Audience | str,
    forms: Iterable[ExploitationForm | str] = (),
    is_child: bool = True,
) -> FirstSteps:
    """The first steps for one reader, as sections: the person (child or adult) first, then each suspected form
    of exploitation, then the reader's sector, then what holds for everyone.

    `is_child` defaults to True: anyone who may be a child is presumed a child until an age assessment says
    otherwise (CETS 197 art. 10(3)), so a page that does not know the age shows the child's steps.
    """
    guidance = load_guidance(policy, language)
    content = guidance.content
    chosen = {ExploitationForm(form) for form in forms}
    sections = [_section("child", content.child) if is_child else _section("adult", content.adult)]
    for form in ExploitationForm:  # the enum's order, whatever order the reader ticked them in
        if form in chosen:
            steps = content.forms[form]
            sections.append(_section(f"form:{form.value}", steps, steps.signs))
    sections.append(_section(f"audience:{Audience(audience).value}", content.audiences[Audience(audience)]))
    sections.append(_section("everyone", content.everyone))
    return FirstSteps(
        policy=policy,
        language=content.language,
        version=content.version,
        effective_date=content.effective_date,
        fallback=guidance.fallback,
        title=content.title,
        intro=content.intro,
        sections=tuple(sections),
        sources=content.sources,
    )
