"""Jurisdiction policies: every number of the mechanism, as a data file validated on load.

The shipped policies live in `app/workflow/policies/*.toml`, each value with a comment citing its source.
`load_policy("fr")` loads a shipped policy, `load_policy(path)` any file; an invalid file raises `PolicyError`
naming the file, the key and the problem. `render_policy` and `validate_policy_file` back the
`nrm policy show` and `nrm policy validate` commands.

A policy carries a `version` and the date it takes effect (`effective_from`): a case keeps the name and version
in force at its referral (`app/services/case_policy.py`), so any change of a value needs a new version;
`digest` fingerprints the values (comments aside) so that a changed policy reusing a version is refused.
A policy's `[regions]` give a region (ISO 3166-2) its own time zone or public holidays: `for_region` is the
policy a case of that region follows.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, PrivateAttr, field_validator, model_validator

from app.workflow.calendars import Calendar, Duration
from app.workflow.datafiles import StrictModel, load_file, validate_mapping
from app.workflow.justice import EntitlementRule
from app.workflow.states import CHILD_DUTY_KINDS, DeadlineKind, FormalOutcome, NeedKind, Sector

POLICY_DIR = Path(__file__).parent / "policies"
#: Earlier versions of the shipped policies, `<name>-v<version>.toml`: a file moving to a new version leaves its
#: last version here, so that cases referred under it still load it (`released_policy`).
RELEASED_DIR = POLICY_DIR / "released"
DEFAULT_POLICY = "fr"

#: Deadline kinds whose durations a policy sets under their own key, not under `deadlines`.
_SET_ELSEWHERE: dict[DeadlineKind, str] = {
    DeadlineKind.reflection_period: "the top-level `reflection_period` key",
    DeadlineKind.support_review: "the `support_plan` table",
}
#: Deadline kinds a policy lists only when it uses them (see the setting named in `Policy._settings_hold`).
_OPTIONAL_KINDS: frozenset[DeadlineKind] = frozenset({DeadlineKind.emergency_shelter})


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
        _check_holidays(self.country, self.subdivision)
        return self


def _check_holidays(country: str, subdivision: str | None) -> None:
    """Refuse a country or subdivision the `holidays` package does not know."""
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday country {country!r}")
    if subdivision is not None and subdivision not in supported[country]:
        aliases = getattr(holidays.country_holidays(country), "subdivisions_aliases", {})
        if subdivision not in aliases:
            raise ValueError(f"unknown subdivision {subdivision!r} of {country}")


class RegionCalendar(_Strict):
    """A region whose calendar is not the policy's: its own time zone, its own public holidays (a subdivision
    of the policy's holiday country), or both."""

    time_zone: str | None = None
    subdivision: str | None = None

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _known_zone(value)


#: An ISO 3166-2 subdivision code, as cases carry it (`FR-57`, `FR-971`, `GB-SCT`).
_REGION_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


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


class Recognition(StrEnum):
    """What this mechanism makes of an identification another mechanism made (cross-border transfers)."""

    recognised = "recognised"  # it holds here: the case starts where the sender's decision left it
    retaken = "retaken"  # recorded as the sender's, and taken again here


class TransferRules(_Strict):
    """How a case accepted from a peer mechanism starts (docs/transfers.md, "Case rules"). Only a positive
    decision can be recognised; a negative one is always recorded as the sender's and the case is assessed
    again. Whatever is recognised, a reflection period the sender granted carries over."""

    preliminary_identification: Recognition = Recognition.recognised
    formal_identification: Recognition = Recognition.retaken


class SupportPlanRules(_Strict):
    """The support plan once a person is identified: a first review, then a review at every interval (a
    recurring duty, `support_review`), for as long as the case stays identified."""

    first_review: Duration
    review_interval: Duration

    @model_validator(mode="after")
    def _positive(self) -> SupportPlanRules:
        if self.first_review.value == 0 or self.review_interval.value == 0:
            raise ValueError("support reviews need durations above zero")
        return self


class AlertRules(_Strict):
    """When `nrm worker` tells people about their deadlines (`app/services/alerts.py`): a reminder
    `lead_working_days` working days before a duty falls due, an alert once it is overdue, and an escalation to
    the coordinators once it has been overdue for `escalation_working_days` working days."""

    lead_working_days: int = Field(default=2, ge=0, le=30)
    escalation_working_days: int = Field(default=2, ge=0, le=60)


class Policy(_Strict):
    """A jurisdiction policy, validated on load."""

    name: str = Field(min_length=1)
    title: str = ""
    version: int = Field(ge=1)
    effective_from: date
    time_zone: str
    holidays: HolidayCalendar
    regions: dict[str, RegionCalendar] = Field(default_factory=dict)
    reflection_period: Duration
    deadlines: dict[DeadlineKind, DeadlineRule]
    assessor_sectors: tuple[Sector, ...] = Field(min_length=1)
    panel: PanelRules
    review_panel: PanelRules
    early_decision_allowed: bool
    automatic_review: bool = False
    # A negative reasonable-grounds decision takes effect only once a second decision maker (another assessor:
    # a caseworker or manager of the competent authority) has decided again, and may overturn it.
    second_check_of_negative_preliminary: bool = False
    retention_days_after_closure: int = Field(ge=1)
    withdrawal_grace_days: int = Field(ge=0)
    # How many reconsiderations of a negative preliminary decision the person may ask for (issue 12, point 8).
    reconsiderations_allowed: int = Field(default=1, ge=0)
    # A case that can no longer move (a final negative review, a last negative preliminary decision) is closed
    # by the worker this many days after that decision; None: it waits in the coordinators' "to close" list.
    final_negative_closure_days: int | None = Field(default=30, ge=0)
    statistics_suppression_threshold: int = Field(default=5, ge=1)
    service_deadlines: dict[NeedKind, Duration]
    transfers: TransferRules = Field(default_factory=TransferRules)
    # A long-term need (work, housing, therapy) is planned rather than met in hours: kinds listed here take
    # this duration when the need is long-term; the others keep `service_deadlines`.
    long_term_service_deadlines: dict[NeedKind, Duration] = Field(default_factory=dict)
    # An adult with nowhere safe to stay gets a safe place before the preliminary decision (duty
    # `emergency_shelter`, duration under `deadlines.emergency_shelter`); a child's shelter is due from the
    # referral under every policy.
    emergency_shelter_before_preliminary_decision: bool = False
    support_plan: SupportPlanRules
    entitlements: tuple[EntitlementRule, ...] = ()
    alerts: AlertRules = Field(default_factory=AlertRules)

    _regional: dict[str, Policy] = PrivateAttr(default_factory=dict)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return _known_zone(value)

    @field_validator("regions")
    @classmethod
    def _region_codes(cls, value: dict[str, RegionCalendar]) -> dict[str, RegionCalendar]:
        wrong = sorted(code for code in value if not _REGION_CODE.match(code))
        if wrong:
            raise ValueError(f"not ISO 3166-2 region codes: {', '.join(wrong)}")
        return value

    @model_validator(mode="after")
    def _region_subdivisions(self) -> Policy:
        for code, own in self.regions.items():
            if own.subdivision is not None:
                try:
                    _check_holidays(self.holidays.country, own.subdivision)
                except ValueError as error:
                    raise ValueError(f"regions.{code}: {error}") from None
        return self

    @field_validator("deadlines")
    @classmethod
    def _every_kind(cls, value: dict[DeadlineKind, DeadlineRule]) -> dict[DeadlineKind, DeadlineRule]:
        for kind, where in _SET_ELSEWHERE.items():
            if kind in value:
                raise ValueError(f"the {kind.value} duration is set by {where}")
        not_here = {*_SET_ELSEWHERE, *_OPTIONAL_KINDS}
        missing = sorted(k.value for k in DeadlineKind if k not in value and k not in not_here)
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

    @field_validator("entitlements")
    @classmethod
    def _distinct_codes(cls, value: tuple[EntitlementRule, ...]) -> tuple[EntitlementRule, ...]:
        codes = [rule.code for rule in value]
        twice = sorted({code for code in codes if codes.count(code) > 1})
        if twice:
            raise ValueError(f"entitlement codes listed twice: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _settings_hold(self) -> Policy:
        shelter = self.deadlines.get(DeadlineKind.emergency_shelter)
        if self.emergency_shelter_before_preliminary_decision and (shelter is None or shelter.adult is None):
            raise ValueError(
                "emergency_shelter_before_preliminary_decision needs an adult duration under "
                "deadlines.emergency_shelter"
            )
        return self

    @property
    def calendar(self) -> Calendar:
        """The jurisdiction's calendar: time zone and public holidays."""
        return Calendar(self.time_zone, self.holidays.country, self.holidays.subdivision)

    def for_region(self, region: str | None) -> Policy:
        """The policy a case of `region` (ISO 3166-2) follows: this one, with the region's time zone and public
        holidays where `[regions]` names them (Alsace-Moselle, the overseas departments, the UK's nations)."""
        code = (region or "").strip().upper()
        own = self.regions.get(code)
        if own is None:
            return self
        if code not in self._regional:
            update: dict[str, Any] = {"regions": {}}
            if own.time_zone is not None:
                update["time_zone"] = own.time_zone
            if own.subdivision is not None:
                update["holidays"] = HolidayCalendar(country=self.holidays.country, subdivision=own.subdivision)
            self._regional[code] = self.model_copy(update=update)
        return self._regional[code]

    @property
    def content(self) -> dict[str, Any]:
        """The policy's values as JSON data (what `policy_from_mapping` reads back)."""
        return self.model_dump(mode="json")

    @property
    def digest(self) -> str:
        """A fingerprint of the values (not the comments): two files with one version must share it. Values
        left at their default are left out, so that a new setting with a default changes no policy's digest."""
        values = self.model_dump(mode="json", exclude_defaults=True)
        canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def duration(self, kind: DeadlineKind, is_child: bool) -> Duration:
        """How long a deadline of `kind` runs for this person (`support_review`: until the first review)."""
        if kind is DeadlineKind.reflection_period:
            return self.reflection_period
        if kind is DeadlineKind.support_review:
            return self.support_plan.first_review
        rule = self.deadlines.get(kind)
        if rule is None:
            raise PolicyError(f"policy {self.name} sets no {kind.value} deadline")
        return rule.for_person(is_child)

    def service_deadline(self, kind: NeedKind, long_term: bool) -> Duration:
        """How long a service referral for a need of `kind` may take."""
        if long_term and kind in self.long_term_service_deadlines:
            return self.long_term_service_deadlines[kind]
        return self.service_deadlines[kind]


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


def released_policy(name: str, version: int) -> Policy | None:
    """The shipped policy `name` at `version`: the current file, or an earlier version kept in `released/`."""
    if name in shipped_policy_names():
        current = load_policy(name)
        if current.version == version:
            return current
    path = RELEASED_DIR / f"{name}-v{version}.toml"
    return _load_released(path) if path.is_file() else None


@lru_cache(maxsize=16)
def _load_released(path: Path) -> Policy:
    return validate_policy_file(path)


def reused_version(policy: Policy, known_digest: str | None) -> str | None:
    """Why `policy` may not be used when a policy of its name and version is known with `known_digest` (the
    shipped one, or one cases were referred under): the values differ, so the version should have changed."""
    if known_digest is None or known_digest == policy.digest:
        return None
    return (
        f"policy {policy.name} version {policy.version} has other values than the {policy.name} version "
        f"{policy.version} already in use: a changed policy needs a new version"
    )


def load_policy(name_or_path: str | Path = DEFAULT_POLICY) -> Policy:
    """A shipped policy by name (`fr`, `uk`, `uk-2019`, `coe`, `be`) or a policy file by path."""
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
        f"version             {policy.version}, in effect from {policy.effective_from.isoformat()}",
        f"time zone           {policy.time_zone}",
        f"public holidays     {policy.holidays.country}{subdivision}",
        f"reflection period   {policy.reflection_period}",
        f"assessor sectors    {', '.join(policy.assessor_sectors)}",
        f"early decision      {'may be requested' if policy.early_decision_allowed else 'not allowed'}",
        f"automatic review    {'every negative decision' if policy.automatic_review else 'on request'}",
        "second check        "
        + (
            "a negative reasonable-grounds decision, by another assessor"
            if policy.second_check_of_negative_preliminary
            else "none"
        ),
        f"retention           {policy.retention_days_after_closure} days after closure",
        f"withdrawal grace    {policy.withdrawal_grace_days} days before erasure",
        f"reconsiderations    {policy.reconsiderations_allowed} allowed",
        "final negative      "
        + (
            f"closed by the worker {policy.final_negative_closure_days} days after the decision"
            if policy.final_negative_closure_days is not None
            else "waits in the coordinators' list to close"
        ),
        f"statistics          counts below {policy.statistics_suppression_threshold} suppressed",
        f"deadline alerts     {policy.alerts.lead_working_days} working days before due; escalated "
        f"{policy.alerts.escalation_working_days} working days after",
        f"from a peer         preliminary identification {policy.transfers.preliminary_identification.value}, "
        f"formal identification {policy.transfers.formal_identification.value}",
        f"emergency shelter   {'before' if policy.emergency_shelter_before_preliminary_decision else 'from'} "
        "the preliminary decision (adults with nowhere safe to stay)",
        f"support reviews     first within {policy.support_plan.first_review}, then every "
        f"{policy.support_plan.review_interval}",
        "deadlines (adult / child):",
    ]
    for kind in DeadlineKind:
        rule = policy.deadlines.get(kind)
        if rule is None:
            continue
        adult = str(rule.adult) if rule.adult else "-"
        child = str(rule.child) if rule.child else adult
        lines.append(f"  {kind.value:<26}{adult} / {child}")
    lines += _panel_lines("first panel", policy.panel)
    lines += _panel_lines("review panel", policy.review_panel)
    lines.append("service referral deadlines:")
    for need, duration in policy.service_deadlines.items():
        long_term = policy.long_term_service_deadlines.get(need)
        lines.append(f"  {need.value:<26}{duration}" + (f" (long-term need: {long_term})" if long_term else ""))
    lines.append("entitlements opened by identification:")
    for entitlement in policy.entitlements:
        condition = f", with one of: {', '.join(entitlement.requires_any)}" if entitlement.requires_any else ""
        checked = " (to be checked)" if entitlement.to_be_checked else ""
        lines.append(f"  {entitlement.code}: {entitlement.opened_by.value}{condition} [{entitlement.source}]{checked}")
    return "\n".join(lines) + "\n"
