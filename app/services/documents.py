"""Documents of a case: uploaded as a stream of chunks, encrypted with the case key as they come, checked.

- Size: at most `NRM_MAX_DOCUMENT_BYTES` of content (10 MiB by default); more is refused with 413 as soon
  as the count passes it (and before the body is read when its declared length is already too large).
- Type: the declared content type must be one of `ALLOWED_TYPES` AND the bytes must look like it (magic
  bytes for PDF, PNG and JPEG; valid UTF-8 without NUL bytes for plain text); otherwise 415.
- Refusals happen before the row is added and inside the transaction: nothing is stored.
- Storage: the whole chunked ciphertext (`ChunkedEncryptor`, bound to the case and the document id) in a
  LargeBinary column — simple and transactional; erasure sets it to NULL and destroys the case key.
- Reading: need-to-know (`authority.reads_personal_data`), a stated purpose, an audit entry; 410 after erasure.
- An `asylum_interview` transcript is kept only with the person's consent (`case.consent_given`) or for a
  child (a child's case needs no consent, as for the referral itself); otherwise 409.
- A `panel_opinion` is the referring organisation's written opinion for the panel file (it does not vote):
  only the relations `authority.PANEL_OPINION_AUTHORS` names upload one.
- The file name is not kept (it can name the person).
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import read_only, transaction
from app.models import Case, Document
from app.security.envelope import ChunkedEncryptor, decrypt_chunks
from app.security.permissions import Principal
from app.services.case_access import case_ties
from app.services.case_keys import CaseCipher, open_case_key
from app.services.cases.core import append_audit, load_visible_case, require_need_to_know
from app.services.context import ServiceContext
from app.services.errors import (
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    choice,
)
from app.workflow.authority import PANEL_OPINION_AUTHORS, relations_of
from app.workflow.support import DocumentKind

ALLOWED_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "text/plain"})
_MAGIC = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


@dataclass(frozen=True)
class DocumentView:
    id: uuid.UUID
    kind: DocumentKind
    size: int
    content_type: str
    uploaded_at: datetime


@dataclass(frozen=True)
class DocumentContent:
    content_type: str
    data: bytes


def normalise_type(declared: str | None) -> str:
    return (declared or "").split(";", 1)[0].strip().lower()


def _check_upload_rights(session: Session, principal: Principal, case: Case, kind: DocumentKind) -> None:
    if kind is DocumentKind.panel_opinion and not (
        relations_of(principal.actor, case_ties(session, case)) & PANEL_OPINION_AUTHORS
    ):
        raise Forbidden("the written opinion is uploaded by the referring organisation")
    if kind is DocumentKind.asylum_interview and not (case.consent_given or case.is_child):
        raise Conflict("an asylum interview transcript needs the person's consent")


class _TypeCheck:
    """The bytes look like the declared type: magic bytes, or UTF-8 text without NUL bytes."""

    def __init__(self, content_type: str) -> None:
        self._type = content_type
        self._head = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")() if content_type == "text/plain" else None

    def feed(self, data: bytes, final: bool = False) -> None:
        magic = _MAGIC.get(self._type)
        if magic is not None and len(self._head) < len(magic):
            self._head += data[: len(magic) - len(self._head)]
            if (len(self._head) >= len(magic) or final) and not self._head.startswith(magic):
                raise UnsupportedMediaType(f"the content is not {self._type}")
            if final and len(self._head) < len(magic):
                raise UnsupportedMediaType(f"the content is not {self._type}")
        if self._decoder is not None:
            try:
                self._decoder.decode(data, final)
            except UnicodeDecodeError:
                raise UnsupportedMediaType("the content is not UTF-8 text") from None
            if b"\x00" in data:
                raise UnsupportedMediaType("the content is not plain text")


def upload(
    ctx: ServiceContext,
    principal: Principal,
    case_id: uuid.UUID,
    kind: str,
    declared_type: str | None,
    chunks: Iterable[bytes],
) -> DocumentView:
    max_bytes = ctx.settings.max_document_bytes
    document_kind = choice(DocumentKind, kind, "kind")
    content_type = normalise_type(declared_type)
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=True)
        require_need_to_know(session, principal, case, "this case's documents")
        _check_upload_rights(session, principal, case, document_kind)
        cipher = open_case_key(session, ctx.keyring, case.id)  # 410 after erasure
        view = store_document(
            session,
            case.id,
            cipher,
            document_kind,
            content_type,
            chunks,
            max_bytes=max_bytes,
            by=principal,
            now=now,
        )
        append_audit(
            session,
            ctx,
            principal,
            "document.uploaded",
            details={
                "document_id": str(view.id),
                "kind": document_kind.value,
                "size": view.size,
                "content_type": content_type,
            },
            now=now,
            case=case,
        )
        return view


def store_document(
    session: Session,
    case_id: uuid.UUID,
    cipher: CaseCipher,
    kind: DocumentKind,
    content_type: str,
    chunks: Iterable[bytes],
    *,
    max_bytes: int,
    by: Principal,
    now: datetime,
) -> DocumentView:
    """Check and encrypt a document as its chunks come, and add its row (in the caller's transaction, which
    the caller audits): over `max_bytes` is `PayloadTooLarge`, bytes that do not look like `content_type`
    are `UnsupportedMediaType`, and nothing is stored either way."""
    if content_type not in ALLOWED_TYPES:
        raise UnsupportedMediaType("accepted types: " + ", ".join(sorted(ALLOWED_TYPES)))
    document_id = uuid.uuid4()
    encryptor = ChunkedEncryptor(cipher.key, str(case_id), str(document_id))
    check = _TypeCheck(content_type)
    sealed: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"a document may hold at most {max_bytes} bytes")
        check.feed(chunk)
        sealed.append(encryptor.update(chunk))
    check.feed(b"", final=True)
    sealed.append(encryptor.finalize())
    session.add(
        Document(
            id=document_id,
            case_id=case_id,
            kind=kind.value,
            content_type=content_type,
            size=size,
            uploaded_at=now,
            uploaded_by=by.user_id,
            organisation_id=by.organisation_id,
            content=b"".join(sealed),
        )
    )
    return DocumentView(document_id, kind, size, content_type, now)


def list_documents(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> list[DocumentView]:
    """What is on file (never the content): the panel sees the testimony available before asking again."""
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        rows = session.execute(
            select(Document.id, Document.kind, Document.size, Document.content_type, Document.uploaded_at)
            .where(Document.case_id == case.id)
            .order_by(Document.uploaded_at, Document.id)
        ).all()
        return [DocumentView(r.id, DocumentKind(r.kind), r.size, r.content_type, r.uploaded_at) for r in rows]


def read_document(
    ctx: ServiceContext, principal: Principal, case_id: uuid.UUID, document_id: uuid.UUID, purpose: str
) -> DocumentContent:
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, "this case's documents")
        row = session.get(Document, document_id)
        if row is None or row.case_id != case.id:
            raise NotFound("no such document")
        cipher = open_case_key(session, ctx.keyring, case.id)  # 410 after erasure
        if row.content is None:
            raise Gone("the document has been erased")
        data = b"".join(decrypt_chunks(cipher.key, str(case.id), str(row.id), row.content))
        append_audit(
            session,
            ctx,
            principal,
            "document.read",
            details={"document_id": str(row.id), "kind": row.kind, "purpose": purpose},
            now=now,
            case=case,
        )
        return DocumentContent(row.content_type, data)
