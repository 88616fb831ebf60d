"""Panel rules: who may sit, who may vote, when a panel may decide and what its votes decide.

The machine never decides on its own (GDPR art. 22): the outcome is the arithmetic of the members' votes under
the policy's rule, and the coordinator records it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.workflow.authority import Relation, may_hold
from app.workflow.policy import PanelRules
from app.workflow.states import FormalOutcome, Role, Sector, Vote


@dataclass(frozen=True, slots=True)
class PanelMember:
    """A user as a panel member (or as a proposed assessor): the service resolves ids into these records."""

    user_id: str
    organisation_id: str
    sector: Sector
    roles: frozenset[Role] = frozenset({Role.panel_member})


@dataclass(frozen=True, slots=True)
class PanelSnapshot:
    """The panel currently sitting on a case: members, declared conflicts (user id -> reason) and votes."""

    members: tuple[PanelMember, ...]
    conflicts: Mapping[str, str] = field(default_factory=dict)
    votes: Mapping[str, Vote] = field(default_factory=dict)
    is_review: bool = False

    def is_member(self, user_id: str) -> bool:
        """Whether the user sits on this panel."""
        return any(member.user_id == user_id for member in self.members)

    @property
    def voting_members(self) -> tuple[PanelMember, ...]:
        """Members who have not declared a conflict: only they may vote."""
        return tuple(member for member in self.members if member.user_id not in self.conflicts)


def composition_problems(
    members: Iterable[PanelMember],
    rules: PanelRules,
    referring_organisation_id: str,
    is_child: bool,
) -> list[str]:
    """Why these members cannot form a panel under `rules` (empty when they can)."""
    listed = tuple(members)
    problems: list[str] = []
    ids = [member.user_id for member in listed]
    if len(set(ids)) != len(ids):
        problems.append("a member is listed twice")
    for member in listed:
        if not may_hold(Relation.open_panel_member, member.roles):
            problems.append(f"member {member.user_id} does not hold the panel_member role")
        if rules.allowed_sectors is not None and member.sector not in rules.allowed_sectors:
            problems.append(f"member {member.user_id} is from sector {member.sector.value}, not allowed here")
        if rules.exclude_referring_organisation and member.organisation_id == referring_organisation_id:
            # The referring organisation's opinion is attached to the file; it does not vote on its referral.
            problems.append(f"member {member.user_id} is from the referring organisation")
    if len(set(ids)) < rules.min_voting_members:
        problems.append(f"at least {rules.min_voting_members} voting member(s) are needed")
    sectors = {member.sector for member in listed}
    if len(sectors) < rules.min_distinct_sectors:
        problems.append(f"members from at least {rules.min_distinct_sectors} sector(s) are needed")
    required = set(rules.required_sectors) | (set(rules.required_sectors_for_child) if is_child else set())
    for sector in sorted(required - sectors):
        problems.append(f"a member from sector {sector} must sit")
    return problems


@dataclass(frozen=True, slots=True)
class RuleCheck:
    """One rule of the panel policy and whether proposed members meet it, for a page to show before anyone
    submits: `rule` is a code (`min_voting_members`, `required_sector`...), `sector` the sector a
    `required_sector` rule names, `needed` and `found` the counts a counting rule compares."""

    rule: str
    met: bool
    sector: Sector | None = None
    needed: int | None = None
    found: int | None = None


def composition_checks(
    members: Iterable[PanelMember],
    rules: PanelRules,
    referring_organisation_id: str,
    is_child: bool,
    first_panel_member_ids: frozenset[str] | None = None,
) -> list[RuleCheck]:
    """Each composition rule of `rules` (and, for a review panel, `first_panel_member_ids`), met or not by these
    members: the same rules `composition_problems` and `overlap_problems` give reasons for, one line each."""
    listed = tuple(members)
    count = len({member.user_id for member in listed})
    sectors = {member.sector for member in listed}
    checks = [
        RuleCheck(
            "min_voting_members", count >= rules.min_voting_members, needed=rules.min_voting_members, found=count
        ),
        RuleCheck(
            "min_distinct_sectors",
            len(sectors) >= rules.min_distinct_sectors,
            needed=rules.min_distinct_sectors,
            found=len(sectors),
        ),
    ]
    required = set(rules.required_sectors) | (set(rules.required_sectors_for_child) if is_child else set())
    checks += [RuleCheck("required_sector", sector in sectors, sector=sector) for sector in sorted(required)]
    if rules.allowed_sectors is not None:
        allowed = set(rules.allowed_sectors)
        checks.append(RuleCheck("allowed_sectors", all(member.sector in allowed for member in listed)))
    if rules.exclude_referring_organisation:
        checks.append(
            RuleCheck(
                "not_referring_organisation",
                all(member.organisation_id != referring_organisation_id for member in listed),
            )
        )
    checks.append(
        RuleCheck("panel_member_role", all(may_hold(Relation.open_panel_member, member.roles) for member in listed))
    )
    if first_panel_member_ids is not None:
        checks.append(RuleCheck("not_on_first_panel", not overlap_problems(listed, first_panel_member_ids)))
    return checks


def overlap_problems(members: Iterable[PanelMember], first_panel_member_ids: frozenset[str]) -> list[str]:
    """A review panel shares no member with the first panel."""
    return [
        f"member {member.user_id} sat on the first panel"
        for member in members
        if member.user_id in first_panel_member_ids
    ]


def decision_problems(
    panel: PanelSnapshot, rules: PanelRules, referring_organisation_id: str, is_child: bool
) -> list[str]:
    """Why the panel cannot decide yet: its voting members must still satisfy the composition rules (a
    conflicted member no longer counts) and enough votes, abstentions included, must be cast."""
    problems = composition_problems(panel.voting_members, rules, referring_organisation_id, is_child)
    cast = sum(1 for user_id in panel.votes if user_id not in panel.conflicts)
    if cast < rules.quorum:
        problems.append(f"{cast} vote(s) cast, the quorum is {rules.quorum}")
    return problems


def can_still_decide(panel: PanelSnapshot, rules: PanelRules, referring_organisation_id: str, is_child: bool) -> bool:
    """Whether the panel could reach a decision once everyone left has voted (conflicts can make it
    impossible, and then a new panel may be convened)."""
    voting = panel.voting_members
    return not composition_problems(voting, rules, referring_organisation_id, is_child) and len(voting) >= rules.quorum


def all_abstained(panel: PanelSnapshot, rules: PanelRules) -> bool:
    """The quorum is reached and every vote counted is an abstention: nobody voted for an outcome, which is
    not a tie (a tie rule would decide for a panel that decided nothing). The panel decides nothing: the
    coordinator convenes it again, and its members vote again (issue 12, point 6)."""
    identify, not_identify, abstain = tally(panel)
    return identify == not_identify == 0 and abstain >= rules.quorum


def may_abstain(panel: PanelSnapshot) -> bool:
    """A lone decision maker (the `uk` policy's single caseworker) decides: there is no one else to decide
    for them, so they cannot abstain."""
    return len(panel.voting_members) > 1


def tally(panel: PanelSnapshot) -> tuple[int, int, int]:
    """Votes for identify, not_identify and abstain, from members without a conflict."""
    counted = [vote for user_id, vote in panel.votes.items() if user_id not in panel.conflicts]
    return (
        counted.count(Vote.identify),
        counted.count(Vote.not_identify),
        counted.count(Vote.abstain),
    )


def outcome(panel: PanelSnapshot, rules: PanelRules) -> FormalOutcome:
    """Majority of identify against not_identify, abstentions aside; a tie goes by the policy's rule. Only
    asked once `all_abstained` is false: at least one vote is for an outcome."""
    identify, not_identify, _ = tally(panel)
    if identify > not_identify:
        return FormalOutcome.identified
    if not_identify > identify:
        return FormalOutcome.not_identified
    return rules.tie
