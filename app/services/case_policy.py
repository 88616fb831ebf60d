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
from pathlib import Path

from sqlalchemy import inspect, make_url, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.db import make_engine
from app.models import Case, PolicyVersion
from app.services.context import ServiceContext
from app.services.errors import Conflict, ServiceError
from app.workflow import Policy
from app.workflow.policy import PolicyError, policy_from_mapping, released_policy, reused_version


class ArchiveUnreadable(ServiceError):
    """The database holding the archive of policy versions cannot be reached."""


class PolicyVersionReused(Conflict):
    """The policy in force has other values than the version of the same number cases were referred under."""


def recorded_version_problem(database_url: str, policy: Policy) -> str | None:
    """`nrm policy validate`: why `policy` may not be used on this database, whose archive holds another
    policy of its name and version (None when the database does not exist yet or predates the archive)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_file():
        return None
    engine = make_engine(database_url, pool_size=1)
    try:
        connection = engine.connect()
    except SQLAlchemyError:
        engine.dispose()
        raise ArchiveUnreadable("the database cannot be reached") from None
    try:
        with connection:
            if not inspect(connection).has_table(PolicyVersion.__tablename__):
                return None
            digest = connection.scalar(
                select(PolicyVersion.digest).where(
                    PolicyVersion.name == policy.name, PolicyVersion.version == policy.version
                )
            )
    finally:
        engine.dispose()
    return reused_version(policy, digest)


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
    problem = reused_version(policy, None if recorded is None else recorded.digest)
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
    else:
        shipped = released_policy(name, version)
        if shipped is None:
            raise PolicyError(f"policy {name} version {version} governs a case but is neither archived nor shipped")
        policy = shipped
    ctx.governing_policies[key] = policy
    return policy


def policy_of(session: Session, ctx: ServiceContext, case: Case) -> Policy:
    """The policy `case` follows: the version it was referred under, with its region's calendar."""
    return governing_policy(session, ctx, case.policy_name, case.policy_version).for_region(case.region)
