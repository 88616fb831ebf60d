"""Generate docs/workflow.md from the machine itself, so the document can never drift from the code.

python -m app.workflow.docs > docs/workflow.md
"""

from __future__ import annotations

from app.workflow.authority import describe
from app.workflow.events import EVENTS
from app.workflow.machine import MACHINE, ROUTES
from app.workflow.policy import load_policy, shipped_policy_names
from app.workflow.states import RIGHT_KINDS, TERMINAL_STATES, DeadlineKind, EventName, State


def _diagram() -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {State.referred.value} : referral"]
    seen: set[str] = set()
    for name, event in MACHINE.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                if transition.dest is None or transition.dest == source:
                    continue  # events that keep the state are listed in the table below
                label = name
                if transition.conditions:
                    label += f" [{transition.conditions[0].func}]"
                line = f"    {source} --> {transition.dest} : {label}"
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
    for state in sorted(TERMINAL_STATES):
        lines.append(f"    {state.value} --> [*]")
    lines.append("```")
    return lines


def _event_table() -> list[str]:
    lines = [
        "| event | from | to | by | fields | rules | opens | meets |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in EventName:
        spec = EVENTS[name]
        sources: list[str] = []
        dests: list[str] = []
        if spec.creates:
            sources, dests = ["(new)"], [state.value for state in spec.creates]
        for state in State:
            for route in ROUTES.get((state, name), ()):
                if state.value not in sources:
                    sources.append(state.value)
                dest = "(same)" if route.dest is None else route.dest.value
                if route.branch and route.branch.startswith("left_"):
                    dest = "(the state it left)"
                elif route.branch and route.dest is not None:
                    dest = f"{dest} ({route.branch})"
                if dest not in dests:
                    dests.append(dest)
        opens = ", ".join(f"`{k.value}`" for k in spec.opens) or "-"
        meets = ", ".join(f"`{k.value}`" for k in spec.meets) or "-"
        by = describe(spec.senders) + (f" ({spec.by})" if spec.by else "")
        fields = ", ".join(f"`{f}`" for f in spec.fields) or "-"
        lines.append(
            f"| `{name.value}` | {', '.join(sources)} | {', '.join(dests)} | {by} | {fields} | {spec.rule} "
            f"| {opens} | {meets} |"
        )
    return lines


def _deadline_table() -> list[str]:
    names = shipped_policy_names()
    policies = [load_policy(name) for name in names]
    header = "| deadline | sort | " + " | ".join(f"`{name}` adult / child" for name in names) + " |"
    lines = [header, "|---|---|" + "---|" * len(names)]
    for kind in DeadlineKind:
        cells = []
        for policy in policies:
            if kind is DeadlineKind.reflection_period:
                cells.append(str(policy.reflection_period))
                continue
            if kind is DeadlineKind.support_review:
                plan = policy.support_plan
                cells.append(f"first {plan.first_review}, then every {plan.review_interval}")
                continue
            rule = policy.deadlines.get(kind)
            if rule is None or (
                kind is DeadlineKind.emergency_shelter and not policy.emergency_shelter_before_preliminary_decision
            ):
                cells.append("- (not used)")
                continue
            adult = str(rule.adult) if rule.adult else "-"
            child = str(rule.child) if rule.child else adult
            cells.append(adult if adult == child else f"{adult} / {child}")
        sort = "right" if kind in RIGHT_KINDS else "duty"
        lines.append(f"| `{kind.value}` | {sort} | " + " | ".join(cells) + " |")
    return lines


def _decision_rules() -> list[str]:
    """Rules of decisions and requests the event table states only briefly (issue 12, points 2, 6, 7, 8)."""
    return [
        "## Votes, requests of the person, decisions kept apart, cases that can no longer move",
        "",
        "- A panel decides by the majority of `identify` against `not_identify`; abstentions count for the quorum",
        "  only. A tie goes by the policy's `tie` rule, but **all abstentions is not a tie**: the formal or review",
        "  decision is refused (`all_abstained`, 409) and the coordinator convenes the panel again (the same",
        "  members may sit) to vote again. A lone decision maker (a panel of one, as under `uk`) cannot abstain",
        "  (`abstention_not_allowed`, 422). Source: GDPR art. 22 (people decide, the machine counts); issue 12.",
        "- `request_early_decision` and `withdraw_consent` record the person's own request: `request.how`",
        "  (`in_writing`, `orally`, `through_representative`) and `request.at` (not in the future, not before the",
        "  referral); the caller is recorded as `recorded_by`. Without them the event is refused",
        "  (`request_missing`, 422). Source: CETS 197 art. 13(1), the reflection period is the person's right.",
        "- The first preliminary decision, the first formal decision and the review decision are kept apart;",
        "  `preliminary_outcome` and `formal_outcome` hold the decision that stands (docs/auditing.md).",
        "- A policy sets how many reconsiderations are allowed (`reconsiderations_allowed`, 1 by default). A case",
        "  that can no longer move (no reconsideration or review left after a negative decision) is closed by the",
        "  system job once `final_negative_closure_days` (30 by default) have passed since that decision; until",
        '  then it is in the coordinators\' "to close" list (`app/services/closure.py`).',
    ]


def render_workflow_doc() -> str:
    """The whole of docs/workflow.md."""
    parts = [
        "# The case workflow",
        "",
        "<!-- Generated by `python -m app.workflow.docs > docs/workflow.md`; do not edit by hand. -->",
        "",
        "One case per presumed victim: a preliminary identification on reasonable grounds opens protection",
        "and the reflection period; a multi-actor panel takes the formal decision; a second panel with other",
        "members reviews a negative one. The diagram shows the transitions that change state; events that",
        "keep the state (votes, conflicts, protection steps, age assessment) are in the table.",
        "",
        *_diagram(),
        "",
        "## Events, roles and deadlines",
        "",
        "Who may send an event is a relation to the case (`app/workflow/authority.py`): a role that can hold",
        "none of the event's relations, or a user who holds none of them on this case, is refused as",
        "`forbidden` (HTTP 403); an event the state does not accept is `not_allowed_in_state` (409, with the",
        "allowed events); the case or the time holding it back is `held_back` (409, with the allowed events);",
        "wrong fields are `invalid` (422). Each event's record is in `app/workflow/events.py`.",
        "",
        *_event_table(),
        "",
        *_decision_rules(),
        "",
        "## Deadlines by policy",
        "",
        "Day counts: the day of the event is not counted; a period ends at 24:00 local time on its last day,",
        "whatever the hour of the event and whatever clock change comes between; a last day on a Saturday,",
        "Sunday or public holiday moves to the next working day (code de procédure civile art. 641-642). Hours",
        "are elapsed time. Duties stop while the case is suspended; on the return a duty counted in hours gets",
        "back the exact time that remained, and a duty counted in days the days that remained after the day of",
        "the suspension, counted again from the day after the return (art. 641), so that it still ends at 24:00",
        "on a working day (with no whole day left: the end of the first working day of the return); a duty",
        "already overdue stays exactly as late. Rights run on. When a case ends, duties are cancelled and",
        "rights are met if their end has passed, else cancelled. The formal decision deadline counts from the",
        "later of the convening and the end of the reflection period, since the decision may not come before",
        "it (unless the person asks).",
        "`emergency_shelter` is due from the referral of an adult with nowhere safe to stay, where the policy sets",
        "`emergency_shelter_before_preliminary_decision`; `support_review` recurs while the person is identified,",
        "each review opening the next (docs/support.md).",
        "",
        *_deadline_table(),
        "",
        "## Calendars by region",
        "",
        "A case's region (ISO 3166-2, given at referral) chooses its time zone and public holidays through its",
        "policy's `[regions]`; a region the policy does not name keeps the policy's calendar. Public holidays",
        "come from the `holidays` package. Sources: code du travail L.3133-1 (France), L.3134-13 (Alsace-Moselle:",
        "Good Friday and 26 December), loi n° 83-550 and décret n° 83-1003 (abolition of slavery in the overseas",
        "departments); Banking and Financial Dealings Act 1971 (the UK's nations).",
        "",
        *_region_table(),
        "",
        "## Policy versions",
        "",
        "A policy carries a version and the date it takes effect. A case keeps the policy name and version in",
        "force at its referral, and follows that version's values (kept in the `policy_versions` table) after",
        "`NRM_POLICY` names another policy or the file is edited; the case view shows them (`policy`). A change",
        "of any value needs a new version: `nrm policy validate` refuses a changed policy reusing a version, and a",
        "referral under one is refused (`policy_version_reused`). An earlier version of a shipped policy stays in",
        "`app/workflow/policies/released/<name>-v<version>.toml`.",
        "",
        *_version_table(),
        "",
        "## Negative decisions reviewed",
        "",
        "`automatic review`: every negative formal (conclusive grounds) decision goes to review at once, before",
        "it takes effect, by the policy's review panel (never a member of the first). `second check`: a negative",
        "preliminary (reasonable grounds) decision takes effect only once another assessor has decided again;",
        "the second may overturn it, and the reasonable-grounds deadline stays open until a decision takes",
        "effect. Under `uk` (since December 2022) both apply and the review is by one second caseworker or",
        "manager of the competent authority: the Multi-Agency Assurance Panels that reviewed negative conclusive",
        "decisions from April 2019 were removed in December 2022 (written parliamentary answers of 28 February",
        "2023 and 18 November 2024); `uk-2019` keeps that model. Under `be` the Belgian status itself follows a",
        "magistrate's decision, with one of the specialised centres (Payoke, PAG-ASA, Sürya); the panel settings",
        "of `be` are the collective's proposal applied to Belgian deadlines.",
        "",
        *_review_table(),
        "",
    ]
    return "\n".join(parts)


def _region_table() -> list[str]:
    lines = ["| policy | region | time zone | public holidays |", "|---|---|---|---|"]
    for name in shipped_policy_names():
        policy = load_policy(name)
        default = policy.holidays.subdivision or "-"
        lines.append(f"| `{name}` | (any other) | {policy.time_zone} | {policy.holidays.country} {default} |")
        for code, own in policy.regions.items():
            zone = own.time_zone or policy.time_zone
            lines.append(f"| `{name}` | {code} | {zone} | {policy.holidays.country} {own.subdivision or default} |")
    return lines


def _version_table() -> list[str]:
    lines = ["| policy | version | in effect from | title |", "|---|---|---|---|"]
    for name in shipped_policy_names():
        policy = load_policy(name)
        lines.append(f"| `{name}` | {policy.version} | {policy.effective_from.isoformat()} | {policy.title} |")
    return lines


def _review_table() -> list[str]:
    lines = ["| policy | automatic review | second check | review panel |", "|---|---|---|---|"]
    for name in shipped_policy_names():
        policy = load_policy(name)
        rules = policy.review_panel
        sectors = ", ".join(rules.allowed_sectors) if rules.allowed_sectors else "any sector"
        lines.append(
            f"| `{name}` | {'yes' if policy.automatic_review else 'on request'} | "
            f"{'yes' if policy.second_check_of_negative_preliminary else 'no'} | "
            f"at least {rules.min_voting_members} member(s), {sectors} |"
        )
    return lines


def main() -> None:
    """Print the document (`python -m app.workflow.docs > docs/workflow.md`)."""
    print(render_workflow_doc(), end="")


if __name__ == "__main__":
    main()
