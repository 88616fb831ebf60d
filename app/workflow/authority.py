"""Who may do what, declared once, in the `Role` vocabulary: the one authority of the mechanism.

Three questions, three tables (and a fourth for support providers, `PROVIDER_CONTACT`):
- which endpoints a role may call at all: `ROLE_PERMISSIONS` (checked on every route, before any case is read);
- how a user stands to one case: `RELATIONS`, each a role plus a `Tie` to the case's own facts, and what the
  relation lets its holder do there: know that the case exists (else the case answers 404, as if it did not
  exist) and read its personal data (identity, documents, support texts);
- which relations may send each event: `senders` in the event's own record (`app/workflow/events.py`), in the
  same `Relation` vocabulary.

The Python check for one case (`relations_of`, `knows_of`, `reads_personal_data`) is derived here; the SQL
filter for lists is derived from the same tables in `app/services/case_access.py`, and a test holds the two
to the same answer on every tie. Nothing else compares role names: a change of who may know, read or send is
a change of one line below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from app.workflow.states import LIVE_SERVICE_STATUSES, NEEDS_SERVED, NeedKind, ProviderKind, Role, ServiceStatus

if TYPE_CHECKING:  # the panel rules read this module, and the case records hold panels
    from app.workflow.model import Actor, CaseSnapshot

# --------------------------------------------------------------------------------------- route permissions


class Permission(StrEnum):
    """What a route needs the caller's roles to allow; need-to-know on the case is checked apart."""

    manage_accounts = "manage_accounts"
    read_organisations = "read_organisations"
    read_policy = "read_policy"
    refer = "refer"
    notify = "notify"
    read_cases = "read_cases"
    send_events = "send_events"
    assign_caseworkers = "assign_caseworkers"
    read_identity = "read_identity"
    erase_case = "erase_case"
    read_audit = "read_audit"
    read_statistics = "read_statistics"
    manage_providers = "manage_providers"
    read_providers = "read_providers"
    record_support = "record_support"
    read_documents = "read_documents"
    upload_documents = "upload_documents"
    manage_transfers = "manage_transfers"  # send cases to peer mechanisms, read, accept and refuse theirs
    # Pages of one role's work (the web application's menu): the case work each relation's holders do.
    work_queue = "work_queue"  # the coordinator's queue: cases awaiting assignment, overdue first
    assess = "assess"  # the assessor's assigned cases
    sit_on_panels = "sit_on_panels"  # a panel member's panels


_EVERY_ACCOUNT = frozenset({Permission.read_policy, Permission.read_organisations})
_CASE_WORK = frozenset({Permission.read_cases, Permission.send_events, Permission.read_identity})

ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.referrer: _EVERY_ACCOUNT
    | _CASE_WORK
    | {Permission.refer, Permission.notify, Permission.upload_documents, Permission.read_documents},
    Role.assessor: _EVERY_ACCOUNT
    | _CASE_WORK
    | {Permission.read_documents, Permission.upload_documents, Permission.assess},
    Role.coordinator: _EVERY_ACCOUNT
    | _CASE_WORK
    | {
        Permission.assign_caseworkers,
        Permission.erase_case,
        Permission.read_audit,
        Permission.read_statistics,
        Permission.manage_providers,
        Permission.read_providers,
        Permission.record_support,
        Permission.read_documents,
        Permission.upload_documents,
        Permission.manage_transfers,
        Permission.work_queue,
    },
    Role.panel_member: _EVERY_ACCOUNT | _CASE_WORK | {Permission.read_documents, Permission.sit_on_panels},
    Role.caseworker: _EVERY_ACCOUNT
    | _CASE_WORK
    | {
        Permission.record_support,
        Permission.read_providers,
        Permission.read_documents,
        Permission.upload_documents,
    },
    # Auditors read states, dates, deadlines and the audit trail; never personal data.
    Role.auditor: _EVERY_ACCOUNT | {Permission.read_cases, Permission.read_audit, Permission.read_statistics},
    # The operator runs accounts and keys and reads no personal data by default.
    Role.admin: _EVERY_ACCOUNT | {Permission.manage_accounts},
}


def allows(roles: Iterable[Role], permission: Permission) -> bool:
    """Whether any of these roles allows the permission."""
    return any(permission in ROLE_PERMISSIONS[role] for role in roles)


# ------------------------------------------------------------------------------------- need-to-know


class Tie(StrEnum):
    """What links a user to a case, checked against the case's own facts (`CaseTies`)."""

    any_case = "any_case"  # no link needed: every case
    organisation = "organisation"  # the user's organisation referred the case
    assessor = "assessor"  # the user is the case's assigned assessor
    panel_seat = "panel_seat"  # the user sits on a panel of the case that still sits
    unconflicted_panel_seat = "unconflicted_panel_seat"  # ... and has declared no conflict on it
    caseworker = "caseworker"  # the user is among the case's assigned caseworkers


class Relation(StrEnum):
    """How a user stands to one case."""

    coordinator = "coordinator"
    oversight = "oversight"
    referring_organisation = "referring_organisation"
    assigned_assessor = "assigned_assessor"
    open_panel_member = "open_panel_member"
    assigned_caseworker = "assigned_caseworker"


@dataclass(frozen=True, slots=True)
class RelationRule:
    """A relation holds when the user holds `role` and the `tie` links them to the case."""

    role: Role
    tie: Tie
    knows_of_case: bool
    reads_personal_data: bool
    description: str


RELATIONS: Mapping[Relation, RelationRule] = {
    Relation.coordinator: RelationRule(Role.coordinator, Tie.any_case, True, True, "the coordinator"),
    Relation.oversight: RelationRule(Role.auditor, Tie.any_case, True, False, "an auditor"),
    Relation.referring_organisation: RelationRule(
        Role.referrer, Tie.organisation, True, True, "the referring organisation"
    ),
    Relation.assigned_assessor: RelationRule(Role.assessor, Tie.assessor, True, True, "the assigned assessor"),
    Relation.open_panel_member: RelationRule(
        Role.panel_member, Tie.unconflicted_panel_seat, True, True, "a member of the current panel without a conflict"
    ),
    Relation.assigned_caseworker: RelationRule(Role.caseworker, Tie.caseworker, True, True, "an assigned caseworker"),
}

#: Roles that never read personal data, whatever other role the same user also holds.
NEVER_PERSONAL_DATA: frozenset[Role] = frozenset({Role.auditor, Role.admin})


class ProviderTie(StrEnum):
    """What links the holder of a case relation to a support provider, for the provider's address and phone."""

    any_provider = "any_provider"  # every provider: the keeper of the directory
    # a case the relation ties them to, still running (neither ended nor erased), has a live referral (open or
    # accepted: `LIVE_SERVICE_STATUSES`) to the provider, of a need the provider serves (`NEEDS_SERVED`)
    live_referral = "live_referral"


#: Who reads a support provider's address and phone (a shelter's location is what a trafficker looks for), and
#: through what; the SQL twin is `app/services/case_access.provider_tie_condition`.
PROVIDER_CONTACT: Mapping[Relation, ProviderTie] = {
    Relation.coordinator: ProviderTie.any_provider,
    Relation.assigned_caseworker: ProviderTie.live_referral,
}

#: Who uploads the written opinion the referring organisation attaches to the panel file (it does not vote).
PANEL_OPINION_AUTHORS: frozenset[Relation] = frozenset({Relation.referring_organisation})

#: Who reads the personal data of a package received from a peer mechanism: no case exists yet, so only a
#: relation tied to any case can hold.
RECEIVED_PACKAGE_READERS: frozenset[Relation] = frozenset({Relation.coordinator})

KNOWING: frozenset[Relation] = frozenset(r for r, rule in RELATIONS.items() if rule.knows_of_case)
READING: frozenset[Relation] = frozenset(r for r, rule in RELATIONS.items() if rule.reads_personal_data)

#: Roles whose holders read personal data (with need-to-know on a case): the roles of the reading relations.
#: Auditors list every grant of one of them (`GET /audit/grants`).
PERSONAL_DATA_ROLES: frozenset[Role] = frozenset(RELATIONS[r].role for r in READING)


def duties_not_separated(roles: Iterable[Role]) -> frozenset[Role]:
    """Separation of duties: whoever may manage accounts grants roles, so holds no role that reads personal data.
    The personal-data roles that break the rule on an account with these roles (empty: the duties are apart)."""
    held = frozenset(roles)
    if not allows(held, Permission.manage_accounts):
        return frozenset()
    return held & PERSONAL_DATA_ROLES


@dataclass(frozen=True, slots=True)
class CaseTies:
    """The facts of one case that link people to it; ids as strings, like the workflow's snapshot."""

    referring_organisation_id: str
    assessor_id: str | None = None
    panel_member_ids: frozenset[str] = frozenset()
    conflicted_panel_member_ids: frozenset[str] = frozenset()
    caseworker_ids: frozenset[str] = frozenset()


def ties_of(case: CaseSnapshot) -> CaseTies:
    """The ties of a case the workflow holds (its current panel is the one that sits)."""
    panel = case.panel
    return CaseTies(
        referring_organisation_id=case.referring_organisation_id,
        assessor_id=case.assessor_id,
        panel_member_ids=frozenset(m.user_id for m in panel.members) if panel is not None else frozenset(),
        conflicted_panel_member_ids=frozenset(panel.conflicts) if panel is not None else frozenset(),
        caseworker_ids=case.caseworker_ids,
    )


def is_tied(tie: Tie, actor: Actor, ties: CaseTies) -> bool:
    """Whether `tie` links this actor to the case (the SQL twin is `app/services/case_access.tie_condition`)."""
    match tie:
        case Tie.any_case:
            return True
        case Tie.organisation:
            return actor.organisation_id == ties.referring_organisation_id
        case Tie.assessor:
            return ties.assessor_id is not None and actor.user_id == ties.assessor_id
        case Tie.panel_seat:
            return actor.user_id in ties.panel_member_ids
        case Tie.unconflicted_panel_seat:
            return actor.user_id in ties.panel_member_ids and actor.user_id not in ties.conflicted_panel_member_ids
        case Tie.caseworker:
            return actor.user_id in ties.caseworker_ids


@dataclass(frozen=True, slots=True)
class ReferralTies:
    """One service referral to a provider, as the contact rule reads it."""

    case: CaseTies
    case_running: bool  # the case has neither ended nor been erased
    status: ServiceStatus
    need_kind: NeedKind


def is_live_referral(referral: ReferralTies, provider_kind: ProviderKind) -> bool:
    """A running case's open or accepted referral, of a need this kind of provider serves."""
    return (
        referral.case_running
        and referral.status in LIVE_SERVICE_STATUSES
        and referral.need_kind in NEEDS_SERVED[provider_kind]
    )


def is_provider_tied(
    relation: Relation, tie: ProviderTie, actor: Actor, provider_kind: ProviderKind, referrals: Iterable[ReferralTies]
) -> bool:
    """Whether `tie` links this actor, as a holder of `relation`, to the provider whose referrals these are
    (the SQL twin is `app/services/case_access.provider_tie_condition`)."""
    rule = RELATIONS[relation]
    if rule.role not in actor.roles:
        return False
    match tie:
        case ProviderTie.any_provider:
            return True
        case ProviderTie.live_referral:
            return any(is_tied(rule.tie, actor, r.case) and is_live_referral(r, provider_kind) for r in referrals)


def locates_provider(actor: Actor, provider_kind: ProviderKind, referrals: Iterable[ReferralTies]) -> bool:
    """Whether this actor may read the address and phone of a provider, given every referral made to it."""
    if actor.is_system or actor.roles & NEVER_PERSONAL_DATA:
        return False
    seen = tuple(referrals)
    return any(is_provider_tied(r, tie, actor, provider_kind, seen) for r, tie in PROVIDER_CONTACT.items())


def may_hold(relation: Relation, roles: Iterable[Role]) -> bool:
    """Whether a user with these roles could hold the relation on some case (e.g. be assigned as assessor)."""
    return RELATIONS[relation].role in set(roles)


def roles_for(relations: Iterable[Relation]) -> frozenset[Role]:
    """The roles that can hold any of these relations."""
    return frozenset(RELATIONS[r].role for r in relations)


def relations_of(actor: Actor, ties: CaseTies) -> frozenset[Relation]:
    """Every relation this actor holds on the case."""
    if actor.is_system:
        return frozenset()
    return frozenset(
        relation for relation, rule in RELATIONS.items() if rule.role in actor.roles and is_tied(rule.tie, actor, ties)
    )


def knows_of(actor: Actor, ties: CaseTies) -> bool:
    """Whether the case exists for this actor (else it is answered as if it did not exist)."""
    return bool(relations_of(actor, ties) & KNOWING)


def reads_personal_data(actor: Actor, ties: CaseTies) -> bool:
    """Whether this actor may read the personal data of the case (identity, documents, support texts)."""
    if actor.roles & NEVER_PERSONAL_DATA:
        return False
    return bool(relations_of(actor, ties) & READING)


def reads_received_package(actor: Actor) -> bool:
    """Whether this actor may read the personal data of a package a peer sent, before any case exists."""
    if actor.roles & NEVER_PERSONAL_DATA:
        return False
    return any(
        RELATIONS[r].role in actor.roles and RELATIONS[r].tie is Tie.any_case and RELATIONS[r].reads_personal_data
        for r in RECEIVED_PACKAGE_READERS
    )


def describe(relations: Iterable[Relation]) -> str:
    """`the coordinator, the referring organisation or an assigned caseworker`, for refusal messages."""
    names = [RELATIONS[r].description for r in RELATIONS if r in set(relations)]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]
