"""Send a case to a peer mechanism: check the basis of the transfer, build the package, seal and sign it, and
record it in the outbox, in one transaction (the worker delivers it; `delivery.py`).

Sending again while a transfer of the case to the same peer is under way answers with that transfer and
creates nothing; a case under way to one peer is not sent to another meanwhile. The case itself changes only
when the peer's signed receipt says it accepted the case (`inbox.py`: closed as `transferred`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints
from sqlalchemy import select

from app.db import transaction
from app.models import Document, Transfer
from app.security.envelope import decrypt_chunks
from app.security.keyfile import MissingInstanceKeysError
from app.security.permissions import Principal
from app.security.transfer_package import MessageTooLarge, seal_json_package
from app.services.case_keys import open_case_key
from app.services.cases.core import append_audit, load_snapshot, load_visible_case, require_need_to_know
from app.services.cases.events import Text
from app.services.context import ServiceContext
from app.services.errors import Conflict, FieldProblem, InvalidInput, PayloadTooLarge, refused
from app.services.transfers.delivery import enqueue
from app.services.transfers.package import build_package
from app.services.transfers.peers import find_peer, identity_of
from app.services.transfers.views import (
    UNDER_WAY,
    MessageType,
    TransferDirection,
    TransferState,
    TransferView,
    view_of,
)
from app.workflow.transfers import ConsentMethod, TransferConsent, TransferReason, transfer_refusal

MAX_DOCUMENTS = 50


@dataclass(frozen=True)
class ConsentInput:
    """The person's consent to the transfer: how and when (the caller is recorded as who took it down)."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    how: ConsentMethod
    at: AwareDatetime


@dataclass(frozen=True)
class TransferRequest:
    """A transfer of a case to a registered peer: the API's request body, and what a web form builds.

    An adult's case needs `consent`; a child's (or presumed child's) a `best_interests_determination`
    instead. `documents` are the ids of the case's documents to send with it."""

    __pydantic_config__: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    peer: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    reason: TransferReason
    consent: ConsentInput | None = None
    best_interests_determination: Text | None = None
    note: Text | None = None
    documents: Annotated[tuple[uuid.UUID, ...], Field(max_length=MAX_DOCUMENTS)] = ()


@dataclass(frozen=True)
class SendResult:
    """The transfer, and whether it is one already under way given again (nothing was created)."""

    view: TransferView
    replayed: bool


def _selected_documents(session_documents: list[Document], wanted: tuple[uuid.UUID, ...]) -> list[Document]:
    by_id = {row.id: row for row in session_documents}
    missing = [str(i) for i in wanted if i not in by_id or by_id[i].content is None]
    if missing or len(set(wanted)) != len(wanted):
        raise InvalidInput(
            "select documents of this case, each once",
            [FieldProblem(("documents",), "not a document of this case, erased, or listed twice")],
        )
    return [by_id[i] for i in wanted]


def send_transfer(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, request: TransferRequest
) -> SendResult:
    """Send a case to a peer; audited as `transfer.requested` with the transfer id."""
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        require_need_to_know(session, principal, case, "this case's personal data")
        under_way = session.scalar(
            select(Transfer).where(
                Transfer.case_id == case.id,
                Transfer.direction == TransferDirection.outgoing.value,
                Transfer.state.in_(UNDER_WAY),
            )
        )
        if under_way is not None:
            if under_way.peer == request.peer:
                return SendResult(view_of(session, under_way), True)
            raise Conflict(f"this case is being transferred to {under_way.peer!r}; wait for its answer")
        peer = find_peer(session, request.peer)
        if peer is None:
            raise InvalidInput("no registered peer of that name", [FieldProblem(("peer",), "not a registered peer")])
        consent = TransferConsent(request.consent.how, request.consent.at) if request.consent else None
        refusal = transfer_refusal(load_snapshot(session, case), consent, request.best_interests_determination, now)
        if refusal is not None:
            raise refused(refusal)
        cipher = open_case_key(session, ctx.keyring, case.id)  # 410 once erased: nothing left to send
        documents = _selected_documents(
            list(session.scalars(select(Document).where(Document.case_id == case.id))), request.documents
        )
        package = build_package(
            case,
            load_snapshot(session, case),
            cipher,
            reason=request.reason,
            consent=consent,
            best_interests=request.best_interests_determination if case.is_child else None,
            note=request.note,
            documents=[
                (row, b"".join(decrypt_chunks(cipher.key, str(case.id), str(row.id), row.content or b"")))
                for row in documents
            ],
            now=now,
        )
        transfer_id = uuid.uuid4()
        try:
            sealed = seal_json_package(
                package.model_dump(mode="json"),
                transfer_id=transfer_id,
                sender=ctx.keyring.active_instance_keys,
                recipient=identity_of(peer),
                now=now,
                max_payload_bytes=ctx.settings.max_transfer_bytes,
            )
        except MessageTooLarge:
            raise PayloadTooLarge(
                f"the package would hold more than {ctx.settings.max_transfer_bytes} bytes; select fewer documents"
            ) from None
        except MissingInstanceKeysError:
            raise Conflict("this instance has no transfer keys yet: run `nrm keys ensure`") from None
        texts = {"best_interests_determination": package.best_interests_determination, "note": request.note}
        row = Transfer(
            id=uuid.uuid4(),
            transfer_id=transfer_id,
            direction=TransferDirection.outgoing.value,
            peer=peer.name,
            peer_fingerprint=peer.fingerprint,
            state=TransferState.pending.value,
            case_id=case.id,
            reason=request.reason.value,
            package_message_id=sealed.header.message_id,
            is_child=case.is_child,
            consent_method=consent.method.value if consent else None,
            consent_given_at=consent.given_at if consent else None,
            consent_recorded_by=principal.user_id if consent else None,
            document_ids=[str(d.id) for d in documents],
            summary=package.summary().model_dump(mode="json"),
            text_blob=cipher.seal_json("transfer_texts", texts) if any(texts.values()) else None,
            created_by=principal.user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        enqueue(session, row, MessageType.package, sealed, now)
        session.flush()
        view = view_of(session, row)
        append_audit(
            session,
            ctx,
            principal,
            "transfer.requested",
            details={
                "transfer_id": str(transfer_id),
                "peer": peer.name,
                "reason": request.reason.value,
                "is_child": case.is_child,
                "consent_method": consent.method.value if consent else None,
                "best_interests_determination": case.is_child,
                "documents": len(documents),
                "message_id": str(sealed.header.message_id),
            },
            now=now,
            case=case,
        )
        return SendResult(view, False)
