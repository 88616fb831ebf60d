"""The inbox: a message a peer's worker posts, without a user token (`POST /api/v1/transfers/inbox`).

A message is taken only if it is signed by a registered peer, sealed to this instance, fresh, and never seen;
everything else is refused with a problem document whose `code` says which check failed, and an audit entry,
and changes nothing else. In order:

1. the layout and the size (`read_header`, nothing authenticated yet);
2. the same bytes as a message taken before (a peer's worker retrying after a lost answer): the first answer
   again, nothing changed;
3. `open_package` / `open_receipt`: signer among the registered peers, signature, kind, recipient key,
   freshness, decryption, content;
4. an authentic message under an id seen before with other bytes is refused (`replayed`); then for
   a package: a second package for a transfer this peer already sent is refused (`duplicate-transfer`); the
   package is kept encrypted for a coordinator to read, accept or refuse (`receiving.py`);
   a receipt: it must answer a package we sent to that peer (`unknown-transfer`), once (`duplicate-receipt`);
   an acceptance closes our case as `transferred` (the workflow's `transfer_completed`), a refusal leaves it
   open with the peer's reason code.

Message ids are remembered until the message could no longer be fresh (its time + `max_age` + the clock skew
+ a day's margin); `purge_seen` forgets them after that, when `stale` refuses a replay anyway.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, SeenMessage, Transfer
from app.security.transfer_package import (
    DEFAULT_MAX_AGE,
    DEFAULT_MAX_CLOCK_SKEW,
    InvalidPayload,
    MessageHeader,
    MessageKind,
    OpenedMessage,
    OpenedReceipt,
    ReceiptOutcome,
    TransferError,
    open_package,
    open_receipt,
    read_header,
)
from app.services import audit
from app.services.case_policy import policy_of
from app.services.cases.core import SYSTEM_IDS, commit_decision, load_snapshot
from app.services.context import ServiceContext
from app.services.errors import Conflict, Forbidden, InvalidInput, PayloadTooLarge, ServiceError
from app.services.transfers.package import TransferPackage, UnreadablePackage, keep_package, parse_package
from app.services.transfers.peers import find_peer, registered
from app.services.transfers.views import UNDER_WAY, TransferDirection, TransferState
from app.workflow import SYSTEM, Decision, EventName, EventRequest, State, decide
from app.workflow.states import TERMINAL_STATES

#: How long past a message's freshness window its id is still remembered.
SEEN_MARGIN = timedelta(days=1)


# --- refusals ----------------------------------------------------------------------------------------------


class InboxRefusal(ServiceError):
    """A message refused by the inbox; `code` names the check (the `TransferError` codes, and `replayed`,
    `duplicate-transfer`, `unknown-transfer`, `duplicate-receipt`). The entrance answers a problem document
    with the code; the sender's worker reads it to know whether retrying can help."""

    def __init__(self, detail: str, code: str) -> None:
        super().__init__(detail)
        # Typed as `Conflict.code` is: the conflict subclass inherits both (an inbox refusal always has one).
        self.code: str | None = code

    def extra(self) -> dict[str, object]:
        return {"code": self.code}


class MessageRefused(InboxRefusal, Forbidden):
    """Not from a registered peer, not intact, or not for this instance."""


class MessageConflict(InboxRefusal, Conflict):
    """Seen before, or clashing with what this instance holds."""


class MessageInvalid(InboxRefusal, InvalidInput):
    """Authentic but unusable: out of its time window, or not a valid package or receipt."""


class MessageTooBig(InboxRefusal, PayloadTooLarge):
    """Larger than `NRM_MAX_TRANSFER_BYTES`."""


_FORBIDDEN_CODES = frozenset({"unknown-signer", "bad-signature", "wrong-recipient"})
_INVALID_CODES = frozenset({"future-dated", "stale", "undecryptable", "invalid-payload", "unexpected-kind"})
#: Refusals made after the signature was checked: the message is from the registered peer it names.
_SIGNED_CODES = frozenset(
    {"unexpected-kind", "wrong-recipient", "future-dated", "stale", "undecryptable", "invalid-payload"}
)


def _refusal_of(error: TransferError) -> InboxRefusal:
    if error.code == "too-large":
        return MessageTooBig(str(error), error.code)
    if error.code in _FORBIDDEN_CODES:
        return MessageRefused(str(error), error.code)
    if error.code in _INVALID_CODES:
        return MessageInvalid(str(error), error.code)
    return InboxRefusal(str(error), error.code)  # malformed, unsupported-version: a bad request


# --- answers -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxAnswer:
    """What the inbox says to a message it took (and says again to the same bytes)."""

    status: str
    kind: str
    transfer_id: uuid.UUID
    message_id: uuid.UUID


def _answer(seen: SeenMessage) -> InboxAnswer:
    return InboxAnswer("received", seen.kind, seen.transfer_id, seen.message_id)


def _kind(header: MessageHeader) -> str:
    return "package" if header.kind is MessageKind.PACKAGE else "receipt"


def _peer_actor(peer: str) -> audit.AuditActor:
    return audit.AuditActor(f"peer:{peer}", None)


def _seen_row(opened: OpenedMessage | OpenedReceipt, digest: str, now: datetime) -> SeenMessage:
    header = opened.header
    return SeenMessage(
        message_id=header.message_id,
        peer=opened.peer,
        kind=_kind(header),
        transfer_id=header.transfer_id,
        digest=digest,
        received_at=now,
        expires_at=header.created_at + DEFAULT_MAX_AGE + DEFAULT_MAX_CLOCK_SKEW + SEEN_MARGIN,
    )


def _audit_refusal(ctx: ServiceContext, refusal: InboxRefusal, header: MessageHeader | None, peer: str | None) -> None:
    """Every refusal is audited, with what the message claimed (ids only: no personal data travels in clear)."""
    details: dict[str, object] = {"code": refusal.code}
    if header is not None:
        # Claimed, not proven, unless the signature was checked (then `peer` is set).
        details |= {
            "kind": _kind(header),
            "claimed_transfer_id": str(header.transfer_id),
            "claimed_message_id": str(header.message_id),
        }
    actor = _peer_actor(peer) if peer is not None else audit.ANONYMOUS_ACTOR
    if peer is not None:
        details["peer"] = peer
    audit.record(ctx, actor, "transfer.inbox_refused", details=details)


def refuse_too_large(ctx: ServiceContext) -> InboxRefusal:
    """The refusal of a message over `NRM_MAX_TRANSFER_BYTES`, found by the entrance before or while reading it;
    audited like every refusal."""
    refusal = MessageTooBig(f"a transfer message may hold at most {ctx.settings.max_transfer_bytes} bytes", "too-large")
    _audit_refusal(ctx, refusal, None, None)
    return refusal


def _earlier_answer(ctx: ServiceContext, header: MessageHeader, digest: str) -> InboxAnswer | None:
    """The answer given to these very bytes before, if they came already (they were checked then). Other
    bytes under a seen id go through every check first, so a forgery is called one (`_check_unseen`)."""
    with read_only(ctx.read_sessions) as session:
        seen = session.get(SeenMessage, header.message_id)
        if seen is None or seen.digest != digest:
            return None
        answer = _answer(seen)
        peer = seen.peer
    audit.record(
        ctx,
        _peer_actor(peer),
        "transfer.inbox_repeated",
        details={"kind": answer.kind, "transfer_id": str(answer.transfer_id), "message_id": str(answer.message_id)},
    )
    return answer


def receive(ctx: ServiceContext, data: bytes) -> InboxAnswer:
    """Take one message from a peer, or refuse it (`InboxRefusal`, audited)."""
    digest = hashlib.sha256(data).hexdigest()
    header: MessageHeader | None = None
    peer: str | None = None
    try:
        try:
            header = read_header(data, max_payload_bytes=ctx.settings.max_transfer_bytes)
            answer = _earlier_answer(ctx, header, digest)
            if answer is not None:
                return answer
            now = ctx.clock.now()
            with read_only(ctx.read_sessions) as session:
                peers = registered(session)
            local_keys = list(ctx.keyring.instance_keys.values())
            if header.kind is MessageKind.PACKAGE:
                opened = open_package(
                    data, local_keys=local_keys, peers=peers, now=now, max_payload_bytes=ctx.settings.max_transfer_bytes
                )
                peer = opened.peer
                return _take_package(ctx, opened, digest)
            receipt = open_receipt(data, local_keys=local_keys, peers=peers, now=now)
            peer = receipt.peer
            return _take_receipt(ctx, receipt, digest)
        except TransferError as error:
            header = error.header or header
            if peer is None and header is not None and error.code in _SIGNED_CODES:
                peer = _signer_name(ctx, header)
            raise _refusal_of(error) from None
    except InboxRefusal as refusal:
        _audit_refusal(ctx, refusal, header, peer)
        raise
    except (IntegrityError, _TakenMeanwhile):
        # Taken at the same moment by another request: the same bytes get the same answer; anything else for
        # that message or that transfer is what the checks above would have refused a moment later.
        assert header is not None
        answer = _earlier_answer(ctx, header, digest)
        if answer is not None:
            return answer
        late = MessageConflict("this message or this transfer was received already", "duplicate-transfer")
        _audit_refusal(ctx, late, header, peer)
        raise late from None


class _TakenMeanwhile(Exception):
    """These very bytes were taken by a concurrent request since this one looked."""


def held_transfer(
    session: Session, direction: TransferDirection, opened: OpenedMessage | OpenedReceipt
) -> Transfer | None:
    """The transfer this message is about, as this instance holds it from (or sent it to) that peer, locked."""
    return session.scalar(
        select(Transfer)
        .where(
            Transfer.direction == direction.value,
            Transfer.peer == opened.peer,
            Transfer.transfer_id == opened.header.transfer_id,
        )
        .with_for_update()
    )


def _audit_step(
    session: Session,
    ctx: ServiceContext,
    opened: OpenedMessage | OpenedReceipt,
    action: str,
    now: datetime,
    details: dict[str, object],
    case_id: uuid.UUID | None = None,
) -> None:
    """The audit entry of a message taken, in its transaction, by the peer that signed it, with its ids."""
    header = opened.header
    audit.append(
        session,
        ctx.keyring,
        time=now,
        actor=_peer_actor(opened.peer),
        action=action,
        case_id=str(case_id) if case_id else None,
        details={
            "transfer_id": str(header.transfer_id),
            "peer": opened.peer,
            "message_id": str(header.message_id),
            **details,
        },
    )


def _check_unseen(session: Session, header: MessageHeader, digest: str) -> None:
    """An authentic message whose id was taken already: the same bytes (taken meanwhile) get the first answer,
    other bytes are a replay, refused.

    Called after `held_transfer` has read (and locked) the transfer: a concurrent request that took these very bytes
    committed its seen message with its transfer row, so whenever this request can see that row it sees the
    seen message too, and answers as the first did. Checked before `held_transfer` (PostgreSQL, read committed), a
    request could miss the seen message, then find the transfer the other had committed meanwhile, and refuse
    the same bytes as `duplicate-transfer` (or a receipt as `duplicate-receipt`)."""
    seen = session.get(SeenMessage, header.message_id)
    if seen is not None and seen.digest == digest:
        raise _TakenMeanwhile
    if seen is not None:
        raise MessageConflict("a message with this id was received already", "replayed")


def _signer_name(ctx: ServiceContext, header: MessageHeader) -> str | None:
    with read_only(ctx.read_sessions) as session:
        return next((name for name, i in registered(session).items() if i.signing_key == header.sender_key), None)


# --- a package ---------------------------------------------------------------------------------------------


def _take_package(ctx: ServiceContext, opened: OpenedMessage, digest: str) -> InboxAnswer:
    header, now = opened.header, ctx.clock.now()
    with transaction(ctx.sessions) as session:
        held = held_transfer(session, TransferDirection.incoming, opened)
        _check_unseen(session, header, digest)  # after `held_transfer`: see `_check_unseen`
        if held is not None:
            raise MessageConflict("this peer sent a package for this transfer already", "duplicate-transfer")
        try:
            package = parse_package(opened.json())
        except UnreadablePackage as error:
            raise InvalidPayload(str(error), header) from None
        seen = _seen_row(opened, digest, now)
        session.add(seen)
        row = _received_row(session, opened, package, now)
        keep_package(ctx.keyring, row, package)
        _audit_step(
            session,
            ctx,
            opened,
            "transfer.received",
            now,
            {
                "is_child": row.is_child,
                "reason": row.reason,
                "documents": len(package.documents),
            },
        )
        return _answer(seen)


def _received_row(session: Session, opened: OpenedMessage, package: TransferPackage, now: datetime) -> Transfer:
    peer = find_peer(session, opened.peer)
    if peer is None:  # removed since the signature was checked
        raise MessageRefused("the message is not signed by a registered peer", "unknown-signer")
    consent = package.transfer.consent
    row = Transfer(
        id=uuid.uuid4(),
        transfer_id=opened.header.transfer_id,
        direction=TransferDirection.incoming.value,
        peer=opened.peer,
        peer_fingerprint=peer.fingerprint,
        state=TransferState.received.value,
        reason=package.transfer.reason.value,
        peer_reference=package.case.reference,
        package_message_id=opened.header.message_id,
        is_child=package.classification.is_child,
        consent_method=consent.method.value if consent else None,
        consent_given_at=consent.given_at if consent else None,
        document_ids=[],
        summary=package.summary().model_dump(mode="json"),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


# --- a receipt ---------------------------------------------------------------------------------------------


def _take_receipt(ctx: ServiceContext, opened: OpenedReceipt, digest: str) -> InboxAnswer:
    header, receipt, now = opened.header, opened.receipt, ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row = held_transfer(session, TransferDirection.outgoing, opened)
        _check_unseen(session, header, digest)  # after `held_transfer`: see `_check_unseen`
        if row is None or row.package_message_id != receipt.package_message_id:
            raise MessageInvalid("this receipt answers no package sent to this peer", "unknown-transfer")
        if row.state not in UNDER_WAY:
            raise MessageConflict("this transfer was answered already", "duplicate-receipt")
        seen = _seen_row(opened, digest, now)
        session.add(seen)
        accepted = receipt.outcome is ReceiptOutcome.ACCEPTED
        row.state = (TransferState.accepted if accepted else TransferState.refused).value
        row.refusal_reason = receipt.reason.value if receipt.reason else None
        row.peer_reference = receipt.reference
        row.decided_at = row.updated_at = now
        details: dict[str, object] = {
            "outcome": receipt.outcome.value,
            "reason": row.refusal_reason,
            "peer_reference": row.peer_reference,
        }
        closed = accepted and _close_transferred(session, ctx, row, now)
        details["case_closed"] = closed
        _audit_step(session, ctx, opened, "transfer.receipt_received", now, details, row.case_id)
        return _answer(seen)


def _close_transferred(session: Session, ctx: ServiceContext, row: Transfer, now: datetime) -> bool:
    """Close our case as `transferred`, naming the peer and its reference (the workflow's
    `transfer_completed`, sent by the system). A case that ended meanwhile stays as it is; the receipt is
    recorded all the same."""
    case = session.scalar(select(Case).where(Case.id == row.case_id).with_for_update())
    if case is None or State(case.state) in TERMINAL_STATES:
        return False
    request = EventRequest(EventName.transfer_completed, peer=row.peer, peer_reference=row.peer_reference)
    decision = decide(load_snapshot(session, case), SYSTEM, request, now, policy_of(session, ctx, case))
    if not isinstance(decision, Decision):
        return False
    commit_decision(session, ctx, case, decision, audit.SYSTEM_ACTOR, SYSTEM_IDS, now)
    return True


# --- housekeeping ------------------------------------------------------------------------------------------


def purge_seen(ctx: ServiceContext) -> int:
    """Forget the message ids that could no longer be fresh (the worker's pass)."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        result = session.execute(delete(SeenMessage).where(SeenMessage.expires_at < now))
        return int(getattr(result, "rowcount", 0) or 0)
