"""Referral drafts: a referral written in steps, kept on the server between them, encrypted like a case.

A youth worker or a nurse is interrupted; what they typed must not be lost, and must not sit in the browser
either (a shared phone, a school computer). So each step's answers go to the server, into one blob encrypted
with the draft's own data key, which is wrapped by the key-encryption key like a case key (associated data
`draft:<id>`, so a blob or a key copied onto another draft does not open) and re-wrapped by key rotation.

- Only the person who started a draft opens it (any other caller gets "not found", as for a case one may not
  know of); a draft is not yet a case the organisation shares.
- A draft is kept `DRAFT_LIFETIME` (7 days) after its last change; `purge_expired` (the worker) deletes it
  then, and it cannot be opened once expired even before the worker has run.
- `submit` makes the case through `cases.refer` with an idempotency key bound to the draft, then deletes the
  draft: a double click or a retry after a crash gives the same case, never two.
- `notify_instead` files the anonymous notification of an adult who did not consent and deletes the draft in
  the same transaction: nothing of the person is kept.

The answers are the web form's, as a JSON object; this module neither reads nor checks them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import ReferralDraft
from app.security.envelope import (
    WrappedKey,
    decrypt_json,
    encrypt_json,
    new_case_key,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.keyfile import KeyRing
from app.security.permissions import Permission, Principal
from app.services import audit
from app.services.cases.core import append_audit
from app.services.cases.notifications import NotificationInput, NotificationView, record_notification
from app.services.cases.referral import ReferralInput, ReferralResult, refer
from app.services.context import ServiceContext
from app.services.errors import Forbidden, NotFound
from app.services.wrapped_keys import draft_key_context

DRAFT_LIFETIME = timedelta(days=7)
_ANSWERS = "answers"


def idempotency_key_of(draft_id: uuid.UUID) -> str:
    """The referral's idempotency key: one draft makes at most one case."""
    return f"draft-{draft_id}"


@dataclass(frozen=True)
class DraftSummary:
    """A draft as a list shows it: nothing of the person."""

    id: uuid.UUID
    steps_done: int
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Draft(DraftSummary):
    """A draft with its answers (personal data: show them only to its owner)."""

    answers: dict[str, Any]


def _require_referrer(principal: Principal) -> None:
    if not principal.can(Permission.refer):
        raise Forbidden("only a referrer writes a referral")


def _seal(key: bytes, draft_id: uuid.UUID, answers: dict[str, Any]) -> bytes:
    return encrypt_json(key, draft_key_context(draft_id), _ANSWERS, answers)


def _key_of(keyring: KeyRing, row: ReferralDraft) -> bytes:
    return unwrap_case_key(keyring, WrappedKey(kek_id=row.kek_id, blob=row.wrapped_key), draft_key_context(row.id))


def _summary(row: ReferralDraft) -> DraftSummary:
    return DraftSummary(row.id, row.steps_done, row.created_at, row.updated_at, row.expires_at)


def _draft(keyring: KeyRing, row: ReferralDraft) -> Draft:
    answers = decrypt_json(_key_of(keyring, row), draft_key_context(row.id), _ANSWERS, row.answers_blob)
    return Draft(row.id, row.steps_done, row.created_at, row.updated_at, row.expires_at, answers)


def _own_draft(
    session: Session, principal: Principal, draft_id: uuid.UUID, now: datetime, *, lock: bool
) -> ReferralDraft:
    query = select(ReferralDraft).where(
        ReferralDraft.id == draft_id, ReferralDraft.user_id == principal.user_id, ReferralDraft.expires_at > now
    )
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound("no such draft")
    return row


def start(ctx: ServiceContext, principal: Principal) -> Draft:
    """A new, empty draft of this referrer."""
    _require_referrer(principal)
    now = ctx.clock.now()
    draft_id = uuid.uuid4()
    key = new_case_key()
    wrapped = wrap_case_key(ctx.keyring, key, draft_key_context(draft_id))
    with transaction(ctx.sessions) as session:
        row = ReferralDraft(
            id=draft_id,
            user_id=principal.user_id,
            organisation_id=principal.organisation_id,
            kek_id=wrapped.kek_id,
            wrapped_key=wrapped.blob,
            answers_blob=_seal(key, draft_id, {}),
            steps_done=0,
            created_at=now,
            updated_at=now,
            expires_at=now + DRAFT_LIFETIME,
        )
        session.add(row)
        append_audit(session, ctx, principal, "referral_draft.started", details={"draft_id": str(draft_id)}, now=now)
        return Draft(draft_id, 0, now, now, row.expires_at, {})


def get(ctx: ServiceContext, principal: Principal, draft_id: uuid.UUID) -> Draft:
    """The caller's own draft, not expired; else `NotFound`."""
    with read_only(ctx.read_sessions) as session:
        return _draft(ctx.keyring, _own_draft(session, principal, draft_id, ctx.clock.now(), lock=False))


def save(
    ctx: ServiceContext, principal: Principal, draft_id: uuid.UUID, answers: dict[str, Any], steps_done: int
) -> Draft:
    """Replace the draft's answers; it is then kept `DRAFT_LIFETIME` from now."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = _own_draft(session, principal, draft_id, now, lock=True)
        row.answers_blob = _seal(_key_of(ctx.keyring, row), row.id, answers)
        row.steps_done = max(0, steps_done)
        row.updated_at = now
        row.expires_at = now + DRAFT_LIFETIME
        return Draft(row.id, row.steps_done, row.created_at, now, row.expires_at, dict(answers))


def list_mine(ctx: ServiceContext, principal: Principal) -> list[DraftSummary]:
    """The caller's drafts still open, most recently changed first."""
    with read_only(ctx.read_sessions) as session:
        rows = session.scalars(
            select(ReferralDraft)
            .where(ReferralDraft.user_id == principal.user_id, ReferralDraft.expires_at > ctx.clock.now())
            .order_by(ReferralDraft.updated_at.desc(), ReferralDraft.id)
        )
        return [_summary(row) for row in rows]


def discard(ctx: ServiceContext, principal: Principal, draft_id: uuid.UUID) -> None:
    """Delete the caller's draft and everything typed into it."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        session.delete(_own_draft(session, principal, draft_id, now, lock=True))
        append_audit(session, ctx, principal, "referral_draft.discarded", details={"draft_id": str(draft_id)}, now=now)


def submit(ctx: ServiceContext, principal: Principal, draft_id: uuid.UUID, referral: ReferralInput) -> ReferralResult:
    """Refer the person the draft describes (`referral`, built from its answers), then delete the draft.

    The referral's idempotency key is the draft's: sent twice, it gives the first case again."""
    get(ctx, principal, draft_id)  # the caller's own, still open
    result = refer(ctx, principal, referral, idempotency_key=idempotency_key_of(draft_id))
    with transaction(ctx.sessions) as session:
        session.execute(delete(ReferralDraft).where(ReferralDraft.id == draft_id))
    return result


def notify_instead(
    ctx: ServiceContext, principal: Principal, draft_id: uuid.UUID, notification: NotificationInput
) -> NotificationView:
    """File the anonymous notification of an adult who did not consent, and delete the draft, in one
    transaction (a second click finds no draft: one notification only)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        session.delete(_own_draft(session, principal, draft_id, now, lock=True))
        return record_notification(session, ctx, principal, notification, now)


def purge_expired(ctx: ServiceContext) -> int:
    """Delete the drafts whose time is over (the worker); the count is audited, nothing else."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        result = session.execute(delete(ReferralDraft).where(ReferralDraft.expires_at <= now))
        purged = int(getattr(result, "rowcount", 0) or 0)
        if purged:
            audit.append(
                session,
                ctx.keyring,
                time=now,
                actor=audit.SYSTEM_ACTOR,
                action="referral_drafts.purged",
                details={"count": purged},
            )
        return purged
