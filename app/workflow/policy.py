"""Jurisdiction policies: every number of the mechanism, as a data file validated on load.

The shipped policies live in `app/workflow/policies/*.toml`, each value with a comment citing its source.
`load_policy("fr")` loads a shipped policy, `load_policy(path)` any file; an invalid file raises `PolicyError`
naming the file, the key and the problem. `render_policy` and `validate_policy_file` back the
`nrm policy show` and `nrm policy validate` commands.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, field_validator, model_validator

from app.workflow.calendars import Calendar, Duration
from app.workflow.datafiles import StrictModel, load_file, validate_mapping
from app.workflow.states import CHILD_DUTY_KINDS, DeadlineKind, FormalOutcome, NeedKind, Sector

POLICY_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY = "fr"


class PolicyError(ValueError):
    """A policy that cannot be loaded: the message names the file, the key and the problem."""


class _Strict(StrictModel):
    """Unknown keys are refused so that a misspelt key is an error, not a silently ignored default."""


class HolidayCalendar(_Strict):
    """Which public holidays count: a `holidays` country code and an optional subdivision."""

    country: str
    subdivision: str | None = None

    @model_validator(mode="after")
    def _known(self) -> HolidayCalendar:
        supported = holidays.list_supported_countries()
        if self.country not in supported:
            raise ValueError(f"unknown holiday country {self.country!r}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            aliases = getattr(holidays.country_holidays(self.country), "subdivisions_aliases", {})
            if self.subdivision not in aliases:
                raise ValueError(f"unknown subdivision {self.subdivision!r} of {self.country}")
        return self


class DeadlineRule(_Strict):
    """The duration of one deadline kind for an adult and for a (presumed) child; a missing child value
    falls back to the adult one."""

    adult: Duration | None = None
    child: Duration | None = None

    def for_person(self, is_child: bool) -> Duration:
        """The duration that applies to this person."""
        chosen = self.child if is_child and self.child is not None else self.adult
        if chosen is None:
            chosen = self.child
        assert chosen is not None  # guaranteed by Policy validation
        return chosen


class PanelRules(_Strict):
    """Composition, quorum and tie rule of a decision panel."""

    min_voting_members: int = Field(ge=1)
    min_distinct_sectors: int = Field(ge=1)
    required_sectors: tuple[Sector, ...] = ()
    required_sectors_for_child: tuple[Sector, ...] = ()
    allowed_sectors: tuple[Sector, ...] | None = None
    exclude_referring_organisation: bool = True
    quorum: int = Field(ge=1)
    tie: FormalOutcome

    @model_validator(mode="after")
    def _coherent(self) -> PanelRules:
        if self.min_distinct_sectors > self.min_voting_members:
            raise ValueError("min_distinct_sectors cannot exceed min_voting_members")
        if self.allowed_sectors is not None:
            missing = set(self.required_sectors) - set(self.allowed_sectors)
            if missing:
                raise ValueError(f"required sectors not allowed: {sorted(missing)}")
        return self


class Policy(_Strict):
    """A jurisdiction policy, validated on load."""

    name: str = Field(min_length=1)
    title: str = ""
    time_zone: str
    holidays: HolidayCalendar
    reflection_period: Duration
    deadlines: dict[DeadlineKind, DeadlineRule]
    assessor_sectors: tuple[Sector, ...] = Field(min_length=1)
    panel: PanelRules
    review_panel: PanelRules
    early_decision_allowed: bool
    automatic_review: bool = False
    retention_days_after_closure: int = Field(ge=1)
    withdrawal_grace_days: int = Field(ge=0)
    statistics_suppression_threshold: int = Field(default=5, ge=1)
    service_deadlines: dict[NeedKind, Duration]

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("deadlines")
    @classmethod
    def _every_kind(cls, value: dict[DeadlineKind, DeadlineRule]) -> dict[DeadlineKind, DeadlineRule]:
        if DeadlineKind.reflection_period in value:
            raise ValueError("the reflection period is set by the top-level `reflection_period` key")
        missing = sorted(k.value for k in DeadlineKind if k not in value and k is not DeadlineKind.reflection_period)
        if missing:
            raise ValueError(f"missing deadline kinds: {', '.join(missing)}")
        for kind, rule in value.items():
            if rule.child is None and kind in CHILD_DUTY_KINDS:
                raise ValueError(f"{kind.value}: a child-protection duty needs a `child` duration")
            if rule.adult is None and kind not in CHILD_DUTY_KINDS:
                raise ValueError(f"{kind.value}: needs an `adult` duration")
        return value

    @field_validator("service_deadlines")
    @classmethod
    def _every_need(cls, value: dict[NeedKind, Duration]) -> dict[NeedKind, Duration]:
        missing = sorted(k.value for k in NeedKind if k not in value)
        if missing:
            raise ValueError(f"missing need kinds: {', '.join(missing)}")
        return value

    @property
    def calendar(self) -> Calendar:
        """The jurisdiction's calendar: time zone and public holidays."""
        return Calendar(self.time_zone, self.holidays.country, self.holidays.subdivision)

    def duration(self, kind: DeadlineKind, is_child: bool) -> Duration:
        """How long a deadline of `kind` runs for this person."""
        if kind is DeadlineKind.reflection_period:
            return self.reflection_period
        return self.deadlines[kind].for_person(is_child)


def policy_from_mapping(data: dict[str, Any], source: str = "<policy>") -> Policy:
    """Validate an already parsed policy; `source` names it in error messages."""
    return validate_mapping(Policy, data, source, PolicyError)


def validate_policy_file(path: str | Path) -> Policy:
    """Read and validate one policy file (`nrm policy validate FILE`); raise `PolicyError` if it is wrong."""
    return load_file(Policy, Path(path), PolicyError)


def shipped_policy_names() -> list[str]:
    """The names of the policies shipped with the service."""
    return sorted(path.stem for path in POLICY_DIR.glob("*.toml"))


@lru_cache(maxsize=16)
def _load_shipped(name: str) -> Policy:
    return validate_policy_file(POLICY_DIR / f"{name}.toml")


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    """A shipped policy by name (`fr`, `uk`, `coe`, `be`) or a policy file by path."""
    if isinstance(name_or_path, str) and (POLICY_DIR / f"{name_or_path}.toml").is_file():
        return _load_shipped(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        names = ", ".join(shipped_policy_names())
        raise PolicyError(f"{name_or_path}: not a shipped policy ({names}) nor a policy file")
    return validate_policy_file(path)


def _panel_lines(label: str, rules: PanelRules) -> list[str]:
    lines = [
        f"{label}:",
        f"  voting members      at least {rules.min_voting_members}, from at least "
        f"{rules.min_distinct_sectors} sector(s)",
        f"  required sectors    {', '.join(rules.required_sectors) or '-'}",
        f"  required for child  {', '.join(rules.required_sectors_for_child) or '-'}",
        f"  allowed sectors     {', '.join(rules.allowed_sectors) if rules.allowed_sectors else 'any'}",
        f"  referring org votes {'no' if rules.exclude_referring_organisation else 'yes'}",
        f"  quorum              {rules.quorum} vote(s) cast (abstentions count)",
        f"  tie                 {rules.tie.value}",
    ]
    return lines


def render_policy(policy: Policy) -> str:
    """A readable summary of a policy (`nrm policy show`)."""
    subdivision = f" ({policy.holidays.subdivision})" if policy.holidays.subdivision else ""
    lines = [
        f"policy {policy.name}: {policy.title}".rstrip(": "),
        f"time zone           {policy.time_zone}",
        f"public holidays     {policy.holidays.country}{subdivision}",
        f"reflection period   {policy.reflection_period}",
        f"assessor sectors    {', '.join(policy.assessor_sectors)}",
        f"early decision      {'may be requested' if policy.early_decision_allowed else 'not allowed'}",
        f"automatic review    {'every negative decision' if policy.automatic_review else 'on request'}",
        f"retention           {policy.retention_days_after_closure} days after closure",
        f"withdrawal grace    {policy.withdrawal_grace_days} days before erasure",
        f"statistics          counts below {policy.statistics_suppression_threshold} suppressed",
        "deadlines (adult / child):",
    ]
    for kind in DeadlineKind:
        if kind is DeadlineKind.reflection_period:
            continue
        rule = policy.deadlines[kind]
        adult = str(rule.adult) if rule.adult else "-"
        child = str(rule.child) if rule.child else adult
        lines.append(f"  {kind.value:<26}{adult} / {child}")
    lines += _panel_lines("first panel", policy.panel)
    lines += _panel_lines("review panel", policy.review_panel)
    lines.append("service referral deadlines:")
    for need, duration in policy.service_deadlines.items():
        lines.append(f"  {need.value:<26}{duration}")
    return "\n".join(lines) + "\n"
