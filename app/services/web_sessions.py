"""Use-cases of web sessions: sign in (the API's credential check and throttle, `accounts.authenticate`),
resolve a session cookie to the same `Principal` a bearer token gives, sign out, purge ended sessions.

The rules (secrets, hashes, timeouts) are in `app/security/web_sessions.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import WebSession
from app.security.permissions import Principal
from app.security.web_sessions import SessionLimits, new_secret, secret_hash
from app.services import accounts
from app.services.context import ServiceContext
from app.services.errors import Unauthenticated

SESSION_ENDED = "the session has ended; sign in again"


@dataclass(frozen=True)
class SignedIn:
    """The caller behind a web session: the principal every service takes, and what a page shows of them."""

    principal: Principal
    username: str
    organisation_name: str
    session_id: uuid.UUID
    must_change_password: bool = False  # after an administrator's reset: every page asks for a new one first


def limits(ctx: ServiceContext) -> SessionLimits:
    return SessionLimits(
        idle=timedelta(minutes=ctx.settings.session_idle_minutes),
        absolute=timedelta(hours=ctx.settings.session_absolute_hours),
    )


def sign_in(ctx: ServiceContext, username: str, password: str, client_address: str) -> str:
    """Check the password as `POST /api/v1/auth/token` does and open a session; returns the cookie's secret.
    Blocking (argon2): call it from a worker thread."""

    def open_session(session: Session, user: accounts.AuthenticatedUser, now: datetime) -> str:
        secret = new_secret()
        session.add(
            WebSession(
                id=uuid.uuid4(), secret_hash=secret_hash(secret), user_id=user.user_id, created_at=now, last_seen_at=now
            )
        )
        return secret

    return accounts.authenticate(ctx, username, password, client_address, open_session)


def resolve(ctx: ServiceContext, secret: str) -> SignedIn:
    """The signed-in caller, or `Unauthenticated` when the session is unknown, signed out, timed out or its
    account disabled. Records the request as the session's last use (at most once a minute)."""
    now = ctx.clock.now()
    with read_only(ctx.read_sessions) as session:
        rows = session.execute(
            accounts.account_query(
                WebSession.user_id, WebSession.id, WebSession.created_at, WebSession.last_seen_at, WebSession.ended_at
            ).where(WebSession.secret_hash == secret_hash(secret))
        ).all()
    if not rows:
        raise Unauthenticated(SESSION_ENDED)
    first = rows[0]
    if (
        first.ended_at is not None
        or not first.account_is_active
        or limits(ctx).has_ended(first.created_at, first.last_seen_at, now)
    ):
        raise Unauthenticated(SESSION_ENDED)
    if SessionLimits.needs_touch(first.last_seen_at, now):
        with transaction(ctx.sessions) as session:
            session.execute(
                update(WebSession)
                .where(WebSession.id == first.id, WebSession.ended_at.is_(None))
                .values(last_seen_at=now)
            )
    return SignedIn(
        principal=accounts.principal_from(rows),
        username=first.account_username,
        organisation_name=first.account_organisation_name,
        session_id=first.id,
        must_change_password=bool(first.account_must_change_password),
    )


def sign_out(ctx: ServiceContext, secret: str) -> None:
    """End the session this secret opens, if any; signing out twice is harmless."""
    with transaction(ctx.sessions) as session:
        session.execute(
            update(WebSession)
            .where(WebSession.secret_hash == secret_hash(secret), WebSession.ended_at.is_(None))
            .values(ended_at=ctx.clock.now())
        )


def purge_ended(ctx: ServiceContext) -> int:
    """Delete sessions that can no longer be used (signed out, or past the absolute timeout); for the worker."""
    now = ctx.clock.now()
    oldest_usable = now - limits(ctx).absolute
    with transaction(ctx.sessions) as session:
        result = session.execute(
            delete(WebSession).where(or_(WebSession.ended_at.is_not(None), WebSession.created_at <= oldest_usable))
        )
        return int(getattr(result, "rowcount", 0) or 0)
