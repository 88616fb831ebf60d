"""Use-cases of accounts: log in and out, resolve a bearer token, manage organisations and users."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.db import read_only, transaction
from app.models import AccessToken, LoginFailure, Organisation, User, UserRole, WebSession
from app.security.passwords import hash_password, password_problem, verify_password
from app.security.permissions import ROLES, Principal
from app.security.tokens import InvalidToken, issue_token, read_token
from app.services import audit
from app.services.context import ServiceContext
from app.services.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from app.workflow import Role, Sector

BAD_CREDENTIALS = "the username or the password is wrong"
T = TypeVar("T")


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def _account_key(username: str) -> str:
    return hashlib.sha256(username.strip().casefold().encode()).hexdigest()


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
    transaction as the audit entry, and its result is returned. Blocking (argon2): call it from a worker thread.
    Raises `TooManyRequests` or `Unauthenticated`."""
    now = ctx.clock.now()
    window_start = now - timedelta(minutes=ctx.settings.login_failure_window_minutes)
    account_key = _account_key(username)
    with read_only(ctx.read_sessions) as session:
        failures_for_account = session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.account_key == account_key, LoginFailure.at > window_start)
        )
        failures_from_address = session.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.client_address == client_address, LoginFailure.at > window_start)
        )
    if (failures_for_account or 0) >= ctx.settings.login_max_failures_per_account or (
        failures_from_address or 0
    ) >= ctx.settings.login_max_failures_per_address:
        raise TooManyRequests(
            "too many failed logins; try again later",
            retry_after_seconds=ctx.settings.login_failure_window_minutes * 60,
        )

    with transaction(ctx.sessions) as session:
        user = session.scalar(select(User).where(User.username == username.strip()))
        password_ok = verify_password(password, user.password_hash if user else None)
        if user is None or not password_ok or not user.is_active:
            session.add(LoginFailure(id=uuid.uuid4(), account_key=account_key, client_address=client_address, at=now))
            # Neither the typed name nor the address: the entry says only that a login failed.
            audit.append(session, ctx.keyring, time=now, actor=audit.ANONYMOUS_ACTOR, action="auth.login_failed")
            raise_after_commit = Unauthenticated(BAD_CREDENTIALS)
        else:
            granted = grant(session, AuthenticatedUser(user_id=user.id, organisation_id=user.organisation_id), now)
            actor = audit.AuditActor(str(user.id), str(user.organisation_id))
            audit.append(session, ctx.keyring, time=now, actor=actor, action="auth.login")
            return granted
    raise raise_after_commit


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
    request's credential (a token, a web session) is checked with. Read the account with `principal_from`."""
    return (
        select(
            *leading,
            User.id.label("account_user_id"),
            User.organisation_id.label("account_organisation_id"),
            User.is_active.label("account_is_active"),
            User.username.label("account_username"),
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
        raise Unauthenticated("the token was revoked at logout")
    if rows[0].expires_at <= now:
        raise Unauthenticated("the token has expired")
    if not rows[0].account_is_active:
        raise Unauthenticated("the account is disabled")
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


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    username: str
    organisation_id: uuid.UUID
    roles: list[Role]
    is_active: bool


def _organisation_view(org: Organisation) -> OrganisationView:
    return OrganisationView(id=org.id, name=org.name, sector=Sector(org.sector))


def _user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        username=user.username,
        organisation_id=user.organisation_id,
        roles=[Role(role) for role in user.roles],
        is_active=user.is_active,
    )


def create_organisation(ctx: ServiceContext, name: str, sector: str) -> OrganisationView:
    if sector not in {s.value for s in Sector}:
        raise InvalidInput("unknown sector", [FieldProblem(("sector",), "unknown sector")])
    try:
        with transaction(ctx.sessions) as session:
            org = Organisation(id=uuid.uuid4(), name=name.strip(), sector=sector, created_at=ctx.clock.now())
            session.add(org)
            session.flush()
            return _organisation_view(org)
    except IntegrityError:
        raise Conflict("an organisation with this name already exists") from None


def list_organisations(ctx: ServiceContext) -> list[OrganisationView]:
    with read_only(ctx.read_sessions) as session:
        return [_organisation_view(o) for o in session.scalars(select(Organisation).order_by(Organisation.name))]


def _check_new_user(
    session: Session, username: str, password: str, organisation_id: uuid.UUID, roles: list[str]
) -> None:
    problems: list[FieldProblem] = []
    unknown_roles = sorted(set(roles) - ROLES)
    if unknown_roles:
        problems.append(FieldProblem(("roles",), "unknown role: " + ", ".join(unknown_roles)))
    if not roles:
        problems.append(FieldProblem(("roles",), "at least one role is needed"))
    reason = password_problem(password)
    if reason:
        problems.append(FieldProblem(("password",), reason))
    if not username.strip() or not username.isprintable():
        problems.append(FieldProblem(("username",), "must be a printable, non-empty name"))
    if session.get(Organisation, organisation_id) is None:
        problems.append(FieldProblem(("organisation_id",), "no such organisation"))
    if problems:
        raise InvalidInput("the user cannot be created", problems)


def create_user(
    ctx: ServiceContext, username: str, password: str, organisation_id: uuid.UUID, roles: list[str]
) -> UserView:
    with read_only(ctx.read_sessions) as session:
        _check_new_user(session, username, password, organisation_id, roles)
    password_hash = hash_password(password)
    try:
        with transaction(ctx.sessions) as session:
            user = User(
                id=uuid.uuid4(),
                username=username.strip(),
                password_hash=password_hash,
                organisation_id=organisation_id,
                is_active=True,
                created_at=ctx.clock.now(),
            )
            user.role_rows = [UserRole(role=role) for role in sorted(set(roles))]
            session.add(user)
            session.flush()
            return _user_view(user)
    except IntegrityError:
        raise Conflict("a user with this username already exists") from None


def list_users(ctx: ServiceContext) -> list[UserView]:
    with read_only(ctx.read_sessions) as session:
        return [_user_view(u) for u in session.scalars(select(User).order_by(User.username))]


def set_user_active(ctx: ServiceContext, user_id: uuid.UUID, active: bool) -> UserView:
    """Disable or re-enable an account; a disabled account's tokens and web sessions stop working at once (and
    its web sessions stay ended if the account is enabled again)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("no such user")
        user.is_active = active
        user.disabled_at = None if active else now
        if not active:
            session.execute(
                update(WebSession)
                .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                .values(ended_at=now)
            )
        return _user_view(user)
