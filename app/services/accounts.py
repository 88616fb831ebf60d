"""Use-cases of accounts: log in and out, resolve a bearer token, manage organisations and users."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar, cast

from pydantic import Field
from sqlalchemy import CursorResult, Row, Select, and_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db import read_only, transaction
from app.models import AccessToken, Organisation, User, UserRole, WebSession
from app.security.login_throttle import rules_from
from app.security.passwords import hash_password, password_problem, verify_password
from app.security.permissions import ROLES, Permission, Principal
from app.security.tokens import InvalidToken, issue_token, read_token
from app.services import audit, login_throttle
from app.services.cases.core import audit_actor_of
from app.services.context import ServiceContext
from app.services.errors import (
    Conflict,
    DutiesNotSeparated,
    FieldProblem,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)
from app.workflow import Role, Sector
from app.workflow.authority import PERSONAL_DATA_ROLES, duties_not_separated

BAD_CREDENTIALS = "the username or the password is wrong"
T = TypeVar("T")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who typed a right password, within the login throttle."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID


def authenticate(
    ctx: ServiceContext,
    username: str,
    password: str,
    client_address: str,
    grant: Callable[[Session, AuthenticatedUser, datetime], T],
) -> T:
    """Check a password under the login throttle and audit the attempt: the one credential check behind both
    the API's token route and the web sign-in, so that failures on either count against both.

    On success `grant(session, user, now)` writes what the login gives (a token, a web session) in the same
    transaction as the audit entry, and its result is returned. The throttle's counters are reserved in one
    locked step (`login_throttle`), and the password is hashed with no transaction open: on SQLite a
    transaction holds the database's only write lock. Blocking (argon2): call it from a worker thread.
    Raises `TooManyRequests` (with Retry-After) or `Unauthenticated` (the same for a wrong name, a wrong
    password, and a disabled account or organisation)."""
    now = ctx.clock.now()
    keys = login_throttle.keys_for(username, client_address)
    with transaction(ctx.sessions) as session:
        login_throttle.reserve(session, keys, now, rules_from(ctx.settings))
    with read_only(ctx.read_sessions) as session:
        found = session.execute(select(User.id, User.password_hash).where(User.username == username.strip())).first()
    password_ok = verify_password(password, found.password_hash if found else None)
    if found is not None and password_ok:
        with transaction(ctx.sessions) as session:
            user = session.get(User, found.id)
            if user is not None and user.is_active and user.organisation.is_active:
                login_throttle.release(session, keys, now)
                granted = grant(session, AuthenticatedUser(user_id=user.id, organisation_id=user.organisation_id), now)
                actor = audit.AuditActor(str(user.id), str(user.organisation_id))
                audit.append(session, ctx.keyring, time=now, actor=actor, action="auth.login")
                return granted
    with transaction(ctx.sessions) as session:
        # Neither the typed name nor the address: the entry says only that a login failed.
        audit.append(session, ctx.keyring, time=now, actor=audit.ANONYMOUS_ACTOR, action="auth.login_failed")
    raise Unauthenticated(BAD_CREDENTIALS)


def log_in(ctx: ServiceContext, username: str, password: str, client_address: str) -> IssuedToken:
    """Check a password (`authenticate`) and issue a bearer token. Blocking: call it from a worker thread."""

    def issue(session: Session, user: AuthenticatedUser, now: datetime) -> IssuedToken:
        token_id = uuid.uuid4()
        ttl = timedelta(minutes=ctx.settings.token_ttl_minutes)
        session.add(AccessToken(id=token_id, user_id=user.user_id, issued_at=now, expires_at=now + ttl))
        token = issue_token(ctx.token_signing_key, user.user_id, token_id, now, ttl)
        return IssuedToken(access_token=token, expires_in=int(ttl.total_seconds()))

    return authenticate(ctx, username, password, client_address, issue)


def account_query(user_id: InstrumentedAttribute[uuid.UUID], *leading: Any) -> Select[Any]:
    """`leading` columns with those of the account that `user_id` names, one row per role: the one statement a
    request's credential (a token, a web session) is checked with. Read the account with `principal_from`.
    `account_is_active` is false when the account or its organisation is disabled."""
    return (
        select(
            *leading,
            User.id.label("account_user_id"),
            User.organisation_id.label("account_organisation_id"),
            and_(User.is_active, Organisation.is_active).label("account_is_active"),
            User.username.label("account_username"),
            User.must_change_password.label("account_must_change_password"),
            Organisation.sector.label("account_sector"),
            Organisation.name.label("account_organisation_name"),
            UserRole.role.label("account_role"),
        )
        .join(User, User.id == user_id)
        .join(Organisation, Organisation.id == User.organisation_id)
        .outerjoin(UserRole, UserRole.user_id == User.id)
    )


def principal_from(rows: Sequence[Row[Any]]) -> Principal:
    """The caller named by the rows of an `account_query`."""
    first = rows[0]
    return Principal.of(
        first.account_user_id,
        first.account_organisation_id,
        first.account_sector,
        (row.account_role for row in rows if row.account_role is not None),
    )


def principal_for_token(ctx: ServiceContext, token: str) -> Principal:
    now = ctx.clock.now()
    try:
        claims = read_token(ctx.token_signing_key, token, now)
    except InvalidToken as error:
        raise Unauthenticated(str(error)) from None
    # One statement (a row per role), in autocommit: this runs on every request.
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(
            account_query(AccessToken.user_id, AccessToken.revoked_at, AccessToken.expires_at).where(
                AccessToken.id == claims.token_id, AccessToken.user_id == claims.user_id
            )
        ).all()
    if not rows:
        raise Unauthenticated("the token is not valid")
    if rows[0].revoked_at is not None:
        raise Unauthenticated("the token was revoked (at logout, or when the account was disabled)")
    if rows[0].expires_at <= now:
        raise Unauthenticated("the token has expired")
    if not rows[0].account_is_active:
        raise Unauthenticated("the account is disabled")
    if rows[0].account_must_change_password:
        raise Unauthenticated("the password was reset: choose a new one on the web application first")
    return principal_from(rows)


def log_out(ctx: ServiceContext, token: str) -> None:
    now = ctx.clock.now()
    claims = read_token(ctx.token_signing_key, token, now)
    with transaction(ctx.sessions) as session:
        access = session.get(AccessToken, claims.token_id)
        if access is not None and access.revoked_at is None:
            access.revoked_at = now


@dataclass(frozen=True)
class OrganisationView:
    id: uuid.UUID
    name: str
    sector: Sector
    is_active: bool = True


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    roles: list[Role]
    is_active: bool
    email: Annotated[str | None, Field(description="where deadline alerts go; null: shown on the web only")] = None
    language: Annotated[str, Field(description="the language of the alerts: fr or en")] = "fr"
    reset_pending: Annotated[
        bool, Field(description="reset by an administrator: the next sign-in must choose a new secret first")
    ] = False


@dataclass(frozen=True)
class GrantView:
    """A personal-data role held by an account: who, where, since when, granted by whom (None: command line)."""

    user_id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    role: Role
    granted_at: datetime
    granted_by: Annotated[uuid.UUID | None, Field(description="the admin who granted it; null: the command line")]
    account_active: bool
    organisation_active: bool


def _organisation_view(org: Organisation) -> OrganisationView:
    return OrganisationView(id=org.id, name=org.name, sector=Sector(org.sector), is_active=org.is_active)


def _user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        organisation_id=user.organisation_id,
        roles=[Role(role) for role in user.roles],
        is_active=user.is_active,
        email=user.email,
        language=user.language,
        reset_pending=user.must_change_password,
    )


def _administrator(by: Principal | None) -> audit.AuditActor:
    """Who made an administrative change: the signed-in admin, or the operator on the command line (system)."""
    return audit.SYSTEM_ACTOR if by is None else audit_actor_of(by)


def _record_administration(
    session: Session, ctx: ServiceContext, now: datetime, by: Principal | None, action: str, details: dict[str, Any]
) -> None:
    """The audit entry of an administrative change, in its transaction: ids only, never names."""
    audit.append(session, ctx.keyring, time=now, actor=_administrator(by), action=action, details=details)


def revoke_all_credentials(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    """Revoke, for good, every credential this account holds (bearer tokens and web sessions); returns how many
    live ones were revoked.

    The one code path for "this account may no longer act" (account or organisation disabled): re-enabling
    never revives what it revoked."""
    tokens = session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.revoked_at.is_(None), AccessToken.expires_at > now)
        .values(revoked_at=now)
    )
    web_sessions = session.execute(
        update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None)).values(ended_at=now)
    )
    return sum(int(cast(CursorResult[Any], result).rowcount) for result in (tokens, web_sessions))


def create_organisation(
    ctx: ServiceContext, name: str, sector: str, *, by: Principal | None = None
) -> OrganisationView:
    if sector not in {s.value for s in Sector}:
        raise InvalidInput("unknown sector", [FieldProblem(("sector",), "unknown sector")])
    now = ctx.clock.now()
    try:
        with transaction(ctx.sessions) as session:
            org = Organisation(id=uuid.uuid4(), name=name.strip(), sector=sector, created_at=now, is_active=True)
            session.add(org)
            session.flush()
            _record_administration(
                session, ctx, now, by, "organisation.created", {"organisation_id": str(org.id), "sector": sector}
            )
            return _organisation_view(org)
    except IntegrityError:
        raise Conflict("an organisation with this name already exists") from None


def list_organisations(ctx: ServiceContext) -> list[OrganisationView]:
    with read_only(ctx.read_sessions) as session:
        return [_organisation_view(o) for o in session.scalars(select(Organisation).order_by(Organisation.name))]


def set_organisation_active(
    ctx: ServiceContext, organisation_id: uuid.UUID, active: bool, *, by: Principal | None = None
) -> OrganisationView:
    """Disable or re-enable an organisation; disabling revokes every credential of its members, for good."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        org = session.get(Organisation, organisation_id, with_for_update=True)
        if org is None:
            raise NotFound("no such organisation")
        org.is_active = active
        org.disabled_at = None if active else now
        details: dict[str, Any] = {"organisation_id": str(org.id)}
        if not active:
            members = session.scalars(select(User.id).where(User.organisation_id == org.id)).all()
            details["revoked_credentials"] = sum(revoke_all_credentials(session, member, now) for member in members)
        _record_administration(
            session, ctx, now, by, "organisation.enabled" if active else "organisation.disabled", details
        )
        return _organisation_view(org)


def _role_problems(roles: list[str]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    unknown_roles = sorted(set(roles) - ROLES)
    if unknown_roles:
        problems.append(FieldProblem(("roles",), "unknown role: " + ", ".join(unknown_roles)))
    if not roles:
        problems.append(FieldProblem(("roles",), "at least one role is needed"))
    return problems


def _check_separation_of_duties(roles: list[str]) -> None:
    """Whoever grants roles reads no personal data (`authority.duties_not_separated`): a refusal that says so."""
    clashing = sorted(duties_not_separated(Role(role) for role in roles))
    if clashing:
        message = (
            "separation of duties: an account that manages accounts may not also hold a role that reads "
            f"personal data ({', '.join(clashing)}); use a separate account"
        )
        raise DutiesNotSeparated(message, [FieldProblem(("roles",), message)])


def _check_new_user(
    session: Session, username: str, password: str, organisation_id: uuid.UUID, roles: list[str]
) -> None:
    problems = _role_problems(roles)
    reason = password_problem(password)
    if reason:
        problems.append(FieldProblem(("password",), reason))
    if not username.strip() or not username.isprintable():
        problems.append(FieldProblem(("username",), "must be a printable, non-empty name"))
    if session.get(Organisation, organisation_id) is None:
        problems.append(FieldProblem(("organisation_id",), "no such organisation"))
    if problems:
        raise InvalidInput("the user cannot be created", problems)
    _check_separation_of_duties(roles)


def _locked_user(session: Session, user_id: uuid.UUID) -> User | None:
    # FOR UPDATE OF users: the organisation is eagerly joined, and PostgreSQL refuses to lock an outer join's side.
    return session.scalar(select(User).where(User.id == user_id).with_for_update(of=User))


def _grant(role: str, now: datetime, by: Principal | None) -> UserRole:
    return UserRole(role=role, granted_at=now, granted_by=None if by is None else by.user_id)


def create_user(
    ctx: ServiceContext,
    username: str,
    password: str,
    organisation_id: uuid.UUID,
    roles: list[str],
    *,
    by: Principal | None = None,
    email: str | None = None,
    language: str = "fr",
    temporary_password: bool = False,
) -> UserView:
    """A new account; with `temporary_password`, the person must choose their own at their first sign-in."""
    email = _checked_contact(email, language)
    with read_only(ctx.read_sessions) as session:
        _check_new_user(session, username, password, organisation_id, roles)
    # argon2 outside any transaction: hashing must never hold the database's write lock.
    password_hash = hash_password(password)
    now = ctx.clock.now()
    try:
        with transaction(ctx.sessions) as session:
            user = User(
                id=uuid.uuid4(),
                username=username.strip(),
                password_hash=password_hash,
                organisation_id=organisation_id,
                is_active=True,
                created_at=now,
                email=email,
                language=language,
                must_change_password=temporary_password,
            )
            user.role_rows = [_grant(role, now, by) for role in sorted(set(roles))]
            session.add(user)
            session.flush()
            _record_administration(
                session,
                ctx,
                now,
                by,
                "user.created",
                {"user_id": str(user.id), "organisation_id": str(organisation_id), "roles": user.roles},
            )
            return _user_view(user)
    except IntegrityError:
        raise Conflict("a user with this username already exists") from None


def list_users(ctx: ServiceContext) -> list[UserView]:
    with read_only(ctx.read_sessions) as session:
        return [_user_view(u) for u in session.scalars(select(User).order_by(User.username))]


def set_user_roles(
    ctx: ServiceContext, user_id: uuid.UUID, roles: list[str], *, by: Principal | None = None
) -> UserView:
    """Replace an account's roles; what was granted and revoked is audited (nothing is written if nothing changes)."""
    problems = _role_problems(roles)
    if problems:
        raise InvalidInput("the roles cannot be set", problems)
    _check_separation_of_duties(roles)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = _locked_user(session, user_id)
        if user is None:
            raise NotFound("no such user")
        wanted, current = set(roles), set(user.roles)
        granted, revoked = sorted(wanted - current), sorted(current - wanted)
        if not granted and not revoked:
            return _user_view(user)
        user.role_rows = [row for row in user.role_rows if row.role in wanted] + [_grant(r, now, by) for r in granted]
        session.flush()
        _record_administration(
            session,
            ctx,
            now,
            by,
            "user.roles_changed",
            {"user_id": str(user.id), "granted": granted, "revoked": revoked},
        )
        session.refresh(user)
        return _user_view(user)


def set_user_active(ctx: ServiceContext, user_id: uuid.UUID, active: bool, *, by: Principal | None = None) -> UserView:
    """Disable or re-enable an account; disabling revokes every token and web session it holds, for good."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = _locked_user(session, user_id)
        if user is None:
            raise NotFound("no such user")
        user.is_active = active
        user.disabled_at = None if active else now
        details: dict[str, Any] = {"user_id": str(user.id)}
        if not active:
            details["revoked_credentials"] = revoke_all_credentials(session, user.id, now)
        _record_administration(session, ctx, now, by, "user.enabled" if active else "user.disabled", details)
        return _user_view(user)


def list_personal_data_grants(ctx: ServiceContext) -> list[GrantView]:
    """Every grant of a role that reads personal data, active or not, for auditors: who could read what."""
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(
            select(
                UserRole.user_id,
                User.username,
                User.organisation_id,
                UserRole.role,
                UserRole.granted_at,
                UserRole.granted_by,
                User.is_active,
                Organisation.is_active,
            )
            .join(User, User.id == UserRole.user_id)
            .join(Organisation, Organisation.id == User.organisation_id)
            .where(UserRole.role.in_(sorted(role.value for role in PERSONAL_DATA_ROLES)))
            .order_by(User.username, UserRole.role)
        ).all()
    return [GrantView(row[0], row[1], row[2], Role(row[3]), *row[4:]) for row in rows]


#: The languages alerts are written in (the web application's).
ALERT_LANGUAGES = ("fr", "en")
_EMAIL_MAX = 254


def _checked_contact(email: str | None, language: str) -> str | None:
    """An e-mail address as stored (None when blank), or `InvalidInput`: one `@` with a dotted domain after it,
    no spaces; a language alerts are written in."""
    problems = []
    address = (email or "").strip() or None
    if address is not None:
        local, at, domain = address.rpartition("@")
        if (
            not at
            or not local
            or "." not in domain.strip(".")
            or len(address) > _EMAIL_MAX
            or any(c.isspace() or not c.isprintable() for c in address)
            or "@" in domain
        ):
            problems.append(FieldProblem(("email",), "not an e-mail address"))
    if language not in ALERT_LANGUAGES:
        problems.append(FieldProblem(("language",), "fr or en"))
    if problems:
        raise InvalidInput("the contact details are not valid", problems)
    return address


def get_user(ctx: ServiceContext, user_id: uuid.UUID) -> UserView:
    with read_only(ctx.read_sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        return _user_view(user)


def set_contact(
    ctx: ServiceContext, user_id: uuid.UUID, email: str | None, language: str, *, by: Principal
) -> UserView:
    """Change where an account's alerts go and their language: the account itself, or an administrator. The
    audit entry says that it changed, never the address."""
    if by.user_id != user_id and not by.can(Permission.manage_accounts):
        raise Forbidden("only the account itself or an administrator changes its contact details")
    address = _checked_contact(email, language)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = _locked_user(session, user_id)
        if user is None:
            raise NotFound("no such user")
        user.email, user.language = address, language
        _record_administration(
            session,
            ctx,
            now,
            by,
            "user.contact_changed",
            {"user_id": str(user.id), "email_set": address is not None, "language": language},
        )
        return _user_view(user)


def reset_password(
    ctx: ServiceContext, user_id: uuid.UUID, temporary_password: str, *, by: Principal | None = None
) -> UserView:
    """An administrator's reset: a temporary password to give the person by another channel; every credential
    the account holds is revoked, and its next sign-in must choose a new password before anything else."""
    reason = password_problem(temporary_password)
    if reason:
        raise InvalidInput("the password cannot be set", [FieldProblem(("password",), reason)])
    password_hash = hash_password(temporary_password)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = _locked_user(session, user_id)
        if user is None:
            raise NotFound("no such user")
        user.password_hash, user.must_change_password = password_hash, True
        revoked = revoke_all_credentials(session, user.id, now)
        _record_administration(
            session, ctx, now, by, "user.password_reset", {"user_id": str(user.id), "revoked_credentials": revoked}
        )
        return _user_view(user)


def change_password(ctx: ServiceContext, principal: Principal, current: str, new: str) -> None:
    """The signed-in person's own change: the current password, then a new one that differs from it."""
    with read_only(ctx.read_sessions) as session:
        found = session.scalar(select(User.password_hash).where(User.id == principal.user_id))
    problems = []
    if not verify_password(current, found):
        problems.append(FieldProblem(("current",), "the current password is wrong"))
    reason = password_problem(new)
    if reason:
        problems.append(FieldProblem(("new",), reason))
    elif new == current:
        problems.append(FieldProblem(("new",), "the new password must differ from the current one"))
    if problems:
        raise InvalidInput("the password cannot be changed", problems)
    password_hash = hash_password(new)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = _locked_user(session, principal.user_id)
        if user is None:
            raise NotFound("no such user")
        user.password_hash, user.must_change_password = password_hash, False
        audit.append(
            session,
            ctx.keyring,
            time=now,
            actor=audit_actor_of(principal),
            action="user.password_changed",
            details={"user_id": str(user.id)},
        )
