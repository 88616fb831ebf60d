"""A package a peer sent, in a coordinator's hands: read what it holds (need-to-know, a purpose code, audited),
accept it (a new case through the referral core, under this instance's policy) or refuse it with a reason
code. Either answer goes back to the sender as a signed receipt through the outbox, in the same transaction,
and the package itself is destroyed: what was accepted now lives in the case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import ConfigDict, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import transaction
from app.models import Peer, Transfer
from app.security.keyfile import MissingInstanceKeysError
from app.security.permissions import Principal
from app.security.transfer_package import Receipt, RefusalReason, seal_receipt
from app.services.cases.core import append_audit, append_decision_audit, audit_actor_of
from app.services.cases.referral import ReferralInput, create_case
from app.services.cases.views import CaseView, case_view
from app.services.context import ServiceContext
from app.services.documents import DocumentContent, store_document
from app.services.errors import Conflict, Forbidden, NotFound, refused
from app.services.transfers.delivery import enqueue
from app.services.transfers.package import DocumentFacts, TransferPackage, forget_package, kept_package, reference_of
from app.services.transfers.peers import find_peer, identity_of
from app.services.transfers.views import MessageType, TransferDirection, TransferState, TransferView, view_of
from app.workflow import CarriedOver, Decision, Purpose, decide_transfer_in
from app.workflow.authority import reads_received_package

Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]


@dataclass(frozen=True)
class AcceptInput:
    """Accepting a package: the region here where the person lives, if known (by default the sender's region
    when it is in this instance's country, else the country itself)."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    region: Region | None = None


@dataclass(frozen=True)
class RefuseInput:
    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    reason: RefusalReason


@dataclass(frozen=True)
class AcceptResult:
    """The transfer, the case it became, and the reference the sender is told."""

    transfer: TransferView
    case: CaseView
    reference: str


class ReceivedDocument(DocumentFacts):
    """A document of a received package, by its position in it (it has no id here until accepted)."""

    index: int


@dataclass(frozen=True)
class PackageContent:
    """The personal data a received package holds, for a coordinator with need-to-know and a purpose."""

    person: dict[str, Any]
    account: dict[str, Any]
    best_interests_determination: str | None
    note: str | None
    documents: list[ReceivedDocument]


def _waiting(session: Session, transfer_row_id: uuid.UUID, *, for_update: bool) -> Transfer:
    query = select(Transfer).where(
        Transfer.id == transfer_row_id, Transfer.direction == TransferDirection.incoming.value
    )
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None:
        raise NotFound("no such received transfer")
    return row


def _package(ctx: ServiceContext, row: Transfer) -> TransferPackage:
    package = kept_package(ctx.keyring, row)
    if package is None:
        raise Conflict(f"this transfer was {row.state} already: its package now lives in the case, or nowhere")
    return package


def _require_reader(principal: Principal) -> None:
    if not reads_received_package(principal.actor):
        raise Forbidden("you have no need-to-know for a received package")


def _audit_read(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    row: Transfer,
    action: str,
    purpose: Purpose,
    **extra: object,
) -> None:
    details = {"transfer_id": str(row.transfer_id), "peer": row.peer, **extra, "purpose": purpose.value}
    append_audit(session, ctx, principal, action, details=details, now=ctx.clock.now())


def read_package(
    ctx: ServiceContext, principal: Principal, transfer_row_id: uuid.UUID, purpose: Purpose
) -> PackageContent:
    """The person, the account, the sender's texts and the list of documents; audited with the purpose."""
    _require_reader(principal)
    with transaction(ctx.sessions) as session:
        row = _waiting(session, transfer_row_id, for_update=False)
        package = _package(ctx, row)
        _audit_read(session, ctx, principal, row, "transfer.package_read", purpose)
        return PackageContent(
            person=package.person,
            account=package.account,
            best_interests_determination=package.best_interests_determination,
            note=package.note,
            documents=[
                ReceivedDocument(**d.model_dump(exclude={"data"}), index=i) for i, d in enumerate(package.documents)
            ],
        )


def read_package_document(
    ctx: ServiceContext, principal: Principal, transfer_row_id: uuid.UUID, index: int, purpose: Purpose
) -> DocumentContent:
    """One document of a received package, by position; audited with the purpose."""
    _require_reader(principal)
    with transaction(ctx.sessions) as session:
        row = _waiting(session, transfer_row_id, for_update=False)
        package = _package(ctx, row)
        if not 0 <= index < len(package.documents):
            raise NotFound("no such document in this package")
        document = package.documents[index]
        _audit_read(
            session, ctx, principal, row, "transfer.document_read", purpose, index=index, kind=document.kind.value
        )
        return DocumentContent(document.content_type, document.content())


def _decidable(session: Session, transfer_row_id: uuid.UUID) -> tuple[Transfer, Peer]:
    row = _waiting(session, transfer_row_id, for_update=True)
    if row.state != TransferState.received.value:
        raise Conflict(f"this transfer was {row.state} already")
    peer = find_peer(session, row.peer)
    if peer is None:
        raise Conflict(f"the peer {row.peer!r} is no longer registered: register it again to answer it")
    return row, peer


def _answer_peer(ctx: ServiceContext, session: Session, row: Transfer, peer: Peer, receipt: Receipt) -> None:
    """Seal our receipt to the sender and put it in the outbox, in the decision's transaction."""
    try:
        sealed = seal_receipt(
            receipt,
            transfer_id=row.transfer_id,
            sender=ctx.keyring.active_instance_keys,
            recipient=identity_of(peer),
            now=ctx.clock.now(),
        )
    except MissingInstanceKeysError:
        raise Conflict("this instance has no transfer keys yet: run `nrm keys ensure`") from None
    enqueue(session, row, MessageType.receipt, sealed, ctx.clock.now())


def _region_here(ctx: ServiceContext, package: TransferPackage, chosen: str | None) -> str:
    if chosen is not None:
        return chosen
    country = ctx.settings.instance_country
    sender_region = package.classification.region
    if country is None or sender_region.startswith(country):
        return sender_region
    return country


def _date_of_birth(person: dict[str, Any]) -> str | None:
    value = person.get("date_of_birth")
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None  # not a date this service wrote: kept in the record, not used for the presumption


def _referral(ctx: ServiceContext, package: TransferPackage, region: str | None) -> ReferralInput:
    person = dict(package.person)
    asylum_reference = person.pop("asylum_interview_reference", None)
    person["date_of_birth"] = _date_of_birth(person)
    c = package.classification
    return ReferralInput(
        person=person,
        account=package.account,
        needs=dict(c.needs),
        age_band=c.age_band.value,
        age_disputed=c.age_disputed,
        unaccompanied=c.unaccompanied,
        gender=c.gender.value,
        nationality=c.nationality,
        region=_region_here(ctx, package, region),
        exploitation_forms=[f.value for f in c.exploitation_forms],
        indicators=list(c.indicators),
        consent_given=c.consent_given or package.transfer.consent is not None,
        asylum_interview_reference=asylum_reference if isinstance(asylum_reference, str) else None,
    )


def _carried(row: Transfer, package: TransferPackage) -> CarriedOver:
    decisions = package.decisions
    return CarriedOver(
        peer=row.peer,
        sender_reference=package.case.reference,
        sender_state=package.case.state,
        is_child=package.classification.is_child,
        transfer_consent=package.transfer.consent is not None,
        age_assessed=package.classification.age_assessed,
        preliminary_outcome=decisions.preliminary.outcome if decisions.preliminary else None,
        preliminary_decided_at=decisions.preliminary.at if decisions.preliminary else None,
        formal_outcome=decisions.formal.outcome if decisions.formal else None,
        formal_decided_at=decisions.formal.at if decisions.formal else None,
        reflection_period_ends_at=package.summary().reflection_period_ends_at(),
    )


def accept_transfer(
    ctx: ServiceContext, principal: Principal, transfer_row_id: uuid.UUID, accept: AcceptInput | None = None
) -> AcceptResult:
    """Make the package a case here (`transfer_in`: this instance's policy, the sender's decisions recorded
    as such and recognised as the policy says, the reflection period carried over), with its documents; tell
    the sender with a signed receipt naming the new case's reference. One transaction, audited on the case
    (`case.transfer_in`) and as `transfer.accepted`."""
    _require_reader(principal)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row, peer = _decidable(session, transfer_row_id)
        package = _package(ctx, row)
        referral = _referral(ctx, package, accept.region if accept else None)
        decision = decide_transfer_in(
            principal.actor,
            referral.classification(),
            _carried(row, package),
            now,
            ctx.policy.for_region(referral.region),
        )
        if not isinstance(decision, Decision):
            raise refused(decision)
        case, cipher = create_case(session, ctx, principal, referral, decision, now)
        for document in package.documents:
            store_document(
                session,
                case.id,
                cipher,
                document.kind,
                document.content_type,
                [document.content()],
                max_bytes=ctx.settings.max_document_bytes,
                by=principal,
                now=now,
            )
        reference = reference_of(case)
        row.state, row.case_id = TransferState.accepted.value, case.id
        row.decided_by, row.decided_at, row.updated_at = principal.user_id, now, now
        forget_package(row)
        _answer_peer(ctx, session, row, peer, Receipt.accepted(row.package_message_id, reference))
        session.flush()
        view = case_view(session, ctx, case, principal)
        transfer = view_of(session, row)
        append_decision_audit(session, ctx, case, decision, audit_actor_of(principal), now)
        append_audit(
            session,
            ctx,
            principal,
            "transfer.accepted",
            details={
                "transfer_id": str(row.transfer_id),
                "peer": row.peer,
                "reference": reference,
                "recognised": decision.facts.get("recognised"),
                "documents": len(package.documents),
            },
            now=now,
            case=case,
        )
        return AcceptResult(transfer, view, reference)


def refuse_transfer(
    ctx: ServiceContext, principal: Principal, transfer_row_id: uuid.UUID, reason: RefusalReason
) -> TransferView:
    """Refuse a package with a reason code (no text: nothing personal travels back); the package is destroyed
    and the sender told with a signed receipt. Audited as `transfer.refused`."""
    _require_reader(principal)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        row, peer = _decidable(session, transfer_row_id)
        row.state, row.refusal_reason = TransferState.refused.value, reason.value
        row.decided_by, row.decided_at, row.updated_at = principal.user_id, now, now
        forget_package(row)
        _answer_peer(ctx, session, row, peer, Receipt.refused(row.package_message_id, reason))
        session.flush()
        view = view_of(session, row)
        append_audit(
            session,
            ctx,
            principal,
            "transfer.refused",
            details={"transfer_id": str(row.transfer_id), "peer": row.peer, "reason": reason.value},
            now=now,
        )
        return view
