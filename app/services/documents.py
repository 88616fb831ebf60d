"""Documents of a case: uploaded as a stream of chunks, encrypted with the case key as they come, checked.

- An upload runs in three steps, so that nothing is read from a caller who may not upload, no transaction (on
  SQLite: the database's write lock) is held while a client sends, and nothing of a document is ever written
  anywhere in clear: `begin_upload` (need-to-know, 404/403/410, before the body is read), then `DocumentUpload`
  takes the content chunk by chunk as the HTTP layer parses it off the request stream (size, type, encryption:
  only ciphertext is kept, in memory), then `finish_upload` checks everything again in the transaction that
  stores the row and its audit entry (the case may have been erased meanwhile: 410).
- Size: at most `NRM_MAX_DOCUMENT_BYTES` of content (10 MiB by default); more is refused with 413 as soon
  as the count passes it (and before the body is read when its declared length is already too large).
- Type: the declared content type must be one of `ALLOWED_TYPES` AND the bytes must look like it (magic
  bytes for PDF, PNG and JPEG; valid UTF-8 without NUL bytes for plain text); otherwise 415.
- Refusals happen before the row is added and inside the transaction: nothing is stored.
- Storage: the whole chunked ciphertext (`ChunkedEncryptor`, bound to the case and the document id) in a
  LargeBinary column — simple and transactional; erasure sets it to NULL and destroys the case key.
- Reading: need-to-know (`authority.reads_personal_data`), a stated purpose (a `Purpose` code), an audit entry;
  410 after erasure.
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
from app.services.case_keys import CaseCipher, open_case_key, opening
from app.services.cases.core import append_audit, load_visible_case, require_need_to_know
from app.services.context import ServiceContext
from app.services.errors import (
    Conflict,
    FieldProblem,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    choice,
)
from app.workflow.authority import PANEL_OPINION_AUTHORS, relations_of
from app.workflow.states import Purpose
from app.workflow.support import DocumentKind

_DOCUMENTS = "this case's documents"
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


@dataclass(frozen=True)
class UploadFacts:
    """What the upload rules need of a case and of the uploader's relation to it, read with a session (when the
    upload begins, and again in the transaction that stores it)."""

    writes_panel_opinion: bool
    consent_given: bool
    is_child: bool


def upload_facts(session: Session, principal: Principal, case: Case) -> UploadFacts:
    authors = relations_of(principal.actor, case_ties(session, case)) & PANEL_OPINION_AUTHORS
    return UploadFacts(bool(authors), case.consent_given, case.is_child)


def _check_upload_rights(facts: UploadFacts, kind: DocumentKind) -> None:
    if kind is DocumentKind.panel_opinion and not facts.writes_panel_opinion:
        raise Forbidden("the written opinion is uploaded by the referring organisation")
    if kind is DocumentKind.asylum_interview and not (facts.consent_given or facts.is_child):
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


class SealedContent:
    """A document's content checked and encrypted chunk by chunk as it comes (`ChunkedEncryptor`, bound to the
    case and the document id): over `max_bytes` is `PayloadTooLarge`, bytes that do not look like the declared
    type are `UnsupportedMediaType`. Only the ciphertext is ever held. Pure: no database, no I/O."""

    def __init__(
        self, case_key: bytes, case_id: uuid.UUID, document_id: uuid.UUID, declared_type: str | None, max_bytes: int
    ) -> None:
        content_type = normalise_type(declared_type)
        if content_type not in ALLOWED_TYPES:
            raise UnsupportedMediaType("accepted types: " + ", ".join(sorted(ALLOWED_TYPES)))
        self.content_type = content_type
        self.size = 0
        self._max_bytes = max_bytes
        self._check = _TypeCheck(content_type)
        self._encryptor = ChunkedEncryptor(case_key, str(case_id), str(document_id))
        self._sealed: list[bytes] = []
        self.complete = False

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self._max_bytes:
            raise PayloadTooLarge(f"a document may hold at most {self._max_bytes} bytes")
        self._check.feed(chunk)
        self._sealed.append(self._encryptor.update(chunk))

    def finish(self) -> None:
        self._check.feed(b"", final=True)
        self._sealed.append(self._encryptor.finalize())
        self.complete = True

    def ciphertext(self) -> bytes:
        assert self.complete
        return b"".join(self._sealed)


class DocumentUpload:
    """A document on its way in from a request: its kind checked as soon as it is known (before the content is
    read), its content sealed as it streams (`SealedContent`). Pure: no database, no I/O; made by
    `begin_upload`, stored by `finish_upload`."""

    def __init__(self, principal: Principal, case_id: uuid.UUID, case_key: bytes, facts: UploadFacts, max_bytes: int):
        self.principal = principal
        self.case_id = case_id
        self.document_id = uuid.uuid4()
        self.kind: DocumentKind | None = None
        self._case_key = case_key
        self._facts = facts
        self._max_bytes = max_bytes
        self.content: SealedContent | None = None

    def set_kind(self, kind: str) -> None:
        if self.kind is not None:
            raise InvalidInput("one kind per document", [FieldProblem(("kind",), "given twice")])
        document_kind = choice(DocumentKind, kind, "kind")
        _check_upload_rights(self._facts, document_kind)  # refused before the content is read
        self.kind = document_kind

    def begin_content(self, declared_type: str | None) -> None:
        if self.content is not None:
            raise InvalidInput("one file per upload", [FieldProblem(("file",), "given twice")])
        self.content = SealedContent(self._case_key, self.case_id, self.document_id, declared_type, self._max_bytes)

    def _open_content(self) -> SealedContent:
        if self.content is None or self.content.complete:
            raise InvalidInput("the file's content comes within its part", [FieldProblem(("file",), "misplaced")])
        return self.content

    def write(self, chunk: bytes) -> None:
        self._open_content().write(chunk)

    def end_content(self) -> None:
        self._open_content().finish()

    def sealed(self) -> tuple[DocumentKind, SealedContent]:
        problems = []
        if self.kind is None:
            problems.append(FieldProblem(("kind",), "field required"))
        if self.content is None or not self.content.complete:
            problems.append(FieldProblem(("file",), "field required"))
        if problems or self.kind is None or self.content is None:
            raise InvalidInput("the upload needs a file and its kind", problems)
        return self.kind, self.content


def begin_upload(ctx: ServiceContext, principal: Principal, case_id: uuid.UUID) -> DocumentUpload:
    """Whether this caller may upload to this case at all, decided before a byte of the body is read."""
    with read_only(ctx.read_sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, _DOCUMENTS)
        cipher = open_case_key(session, ctx.keyring, case.id)  # 410 after erasure
        facts = upload_facts(session, principal, case)
        return DocumentUpload(principal, case.id, cipher.key, facts, ctx.settings.max_document_bytes)


def finish_upload(ctx: ServiceContext, upload: DocumentUpload) -> DocumentView:
    """Store an upload that came in whole: every check again, then the row and its audit entry, in one transaction."""
    kind, content = upload.sealed()
    principal, now = upload.principal, ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, upload.case_id, for_update=True)
        require_need_to_know(session, principal, case, _DOCUMENTS)
        _check_upload_rights(upload_facts(session, principal, case), kind)
        open_case_key(session, ctx.keyring, case.id)  # 410 if the case was erased while the document came in
        view = _add_document(session, case.id, upload.document_id, kind, content, by=principal, now=now)
        append_audit(
            session,
            ctx,
            principal,
            "document.uploaded",
            details={
                "document_id": str(view.id),
                "kind": kind.value,
                "size": view.size,
                "content_type": view.content_type,
            },
            now=now,
            case=case,
        )
        return view


def upload(
    ctx: ServiceContext,
    principal: Principal,
    case_id: uuid.UUID,
    kind: str,
    declared_type: str | None,
    chunks: Iterable[bytes],
) -> DocumentView:
    """A whole upload from an iterable of chunks (the command line, tests): the three steps in a row."""
    incoming = begin_upload(ctx, principal, case_id)
    incoming.set_kind(kind)
    incoming.begin_content(declared_type)
    for chunk in chunks:
        incoming.write(chunk)
    incoming.end_content()
    return finish_upload(ctx, incoming)


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
    """Seal a document's chunks and add its row, in the caller's transaction, which the caller audits (a case
    accepted from a peer brings its documents this way); nothing is stored on a refusal."""
    document_id = uuid.uuid4()
    content = SealedContent(cipher.key, case_id, document_id, content_type, max_bytes)
    for chunk in chunks:
        content.write(chunk)
    content.finish()
    return _add_document(session, case_id, document_id, kind, content, by=by, now=now)


def _add_document(
    session: Session,
    case_id: uuid.UUID,
    document_id: uuid.UUID,
    kind: DocumentKind,
    content: SealedContent,
    *,
    by: Principal,
    now: datetime,
) -> DocumentView:
    session.add(
        Document(
            id=document_id,
            case_id=case_id,
            kind=kind.value,
            content_type=content.content_type,
            size=content.size,
            uploaded_at=now,
            uploaded_by=by.user_id,
            organisation_id=by.organisation_id,
            content=content.ciphertext(),
        )
    )
    return DocumentView(document_id, kind, content.size, content.content_type, now)


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
    stated = choice(Purpose, purpose, "purpose")
    now = ctx.clock.now()
    with transaction(ctx.sessions) as session:
        case = load_visible_case(session, principal, case_id, for_update=False)
        require_need_to_know(session, principal, case, _DOCUMENTS)
        row = session.get(Document, document_id)
        if row is None or row.case_id != case.id:
            raise NotFound("no such document")
        cipher = open_case_key(session, ctx.keyring, case.id)  # 410 after erasure
        if row.content is None:
            raise Gone("the document has been erased")
        with opening(f"document {row.id} of case {case.id}"):
            data = b"".join(decrypt_chunks(cipher.key, str(case.id), str(row.id), row.content))
        append_audit(
            session,
            ctx,
            principal,
            "document.read",
            details={"document_id": str(row.id), "kind": row.kind, "purpose": stated.value},
            now=now,
            case=case,
        )
        return DocumentContent(row.content_type, data)
