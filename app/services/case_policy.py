"""The policy a case follows: the name and version in force at its referral, with its region's calendar.

A referral records the policy in force (`record_policy`): its name and version on the case, its values in the
archive table `policy_versions` the first time a case is referred under that version. From then on the case's
deadlines and rules follow that version (`policy_of`), even after `NRM_POLICY` names another policy or the
policy file is edited: the archived values win over the file. A file whose values changed while its version
stayed is refused at the next referral (`PolicyVersionReused`), and by `nrm policy validate`.

The case's region (ISO 3166-2) then chooses its time zone and public holidays through the policy's
`[regions]` (`Policy.for_region`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Case, PolicyVersion
from app.services.context import ServiceContext
from app.services.errors import Conflict
from app.workflow import Policy, load_policy
from app.workflow.policy import PolicyError, policy_from_mapping, shipped_policy_names


class PolicyVersionReused(Conflict):
    """The policy in force has other values than the version of the same number cases were referred under."""


def reused_version_problem(recorded: PolicyVersion | None, policy: Policy) -> str | None:
    """Why `policy` may not be used, when another policy of the same name and version was recorded."""
    if recorded is None or recorded.digest == policy.digest:
        return None
    return (
        f"policy {policy.name} version {policy.version} differs from the version {policy.version} cases were "
        "referred under: give the changed policy a new version"
    )


def record_policy(session: Session, ctx: ServiceContext, policy: Policy, now: datetime) -> None:
    """Keep the values of the policy a new case is referred under (once per version); refuse a changed policy
    that reuses a version."""
    key = (policy.name, policy.version)
    if key in ctx.recorded_policies:
        return
    recorded = session.get(PolicyVersion, key)
    if recorded is None:
        try:
            # A savepoint: a concurrent referral may record the same version first, which is no failure.
            with session.begin_nested():
                session.add(
                    PolicyVersion(
                        name=policy.name,
                        version=policy.version,
                        effective_from=policy.effective_from,
                        digest=policy.digest,
                        content=policy.content,
                        recorded_at=now,
                    )
                )
        except IntegrityError:
            recorded = session.get(PolicyVersion, key)
    problem = reused_version_problem(recorded, policy)
    if problem is not None:
        raise PolicyVersionReused(problem, code="policy_version_reused")
    ctx.recorded_policies.add(key)


def governing_policy(session: Session, ctx: ServiceContext, name: str, version: int) -> Policy:
    """The policy `name` at `version`: its archived values when recorded, else the policy in force or the
    shipped file of that version (cases referred before versions were recorded)."""
    key = (name, version)
    cached = ctx.governing_policies.get(key)
    if cached is not None:
        return cached
    row = session.scalars(select(PolicyVersion).where(PolicyVersion.name == name, PolicyVersion.version == version))
    recorded = row.first()
    if recorded is not None:
        policy = policy_from_mapping(dict(recorded.content), f"policy {name} version {version} (archive)")
    elif ctx.policy.name == name and ctx.policy.version == version:
        policy = ctx.policy
    elif name in shipped_policy_names() and load_policy(name).version == version:
        policy = load_policy(name)
    else:
        raise PolicyError(f"policy {name} version {version} governs a case but is neither archived nor shipped")
    ctx.governing_policies[key] = policy
    return policy


def policy_of(session: Session, ctx: ServiceContext, case: Case) -> Policy:
    """The policy `case` follows: the version it was referred under, with its region's calendar."""
    return governing_policy(session, ctx, case.policy_name, case.policy_version).for_region(case.region)
