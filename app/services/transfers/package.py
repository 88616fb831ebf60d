"""What a transfer package holds (payload version 1), built on the sending side and checked on the receiving
side from this one definition, and how a received package is kept until a coordinator decides.

The package holds what the receiving mechanism needs and no more (issue 17): the classification fields, the
state and the dates of the decisions taken, the deadlines and rights still running with their remaining time,
the reason and basis of the transfer (the consent's method and date, or the fact of a best-interests
determination, whose text travels too), the identity and account, and the documents the coordinator selected.
Nothing of the sending side's staff travels: no user, organisation, panel member or history.

`PackageSummary` is the same without any personal data: what coordinators see in lists and before they read
(with a purpose) or decide, kept in clear on both sides.

A received package waits encrypted under a key of its own, wrapped by the key-encryption key with the
associated data `transfer:<row id>` (as provider addresses are), and re-wrapped when the KEK rotates; accepting
or refusing it destroys that key.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from app.models import Case, Document, Transfer
from app.security.envelope import (
    WrappedKey,
    decrypt_json,
    encrypt_json,
    new_case_key,
    unwrap_case_key,
    wrap_case_key,
)
from app.security.keyfile import KeyRing
from app.services.case_keys import CaseCipher
from app.services.documents import ALLOWED_TYPES
from app.services.wrapped_keys import transfer_package_key_context
from app.workflow import (
    AgeBand,
    AgeOutcome,
    CaseSnapshot,
    DeadlineKind,
    ExploitationForm,
    FormalOutcome,
    Gender,
    PreliminaryOutcome,
    State,
)
from app.workflow.support import DocumentKind
from app.workflow.transfers import ConsentMethod, TransferConsent, TransferReason, running_clocks

PACKAGE_VERSION = 1
#: A case reference as receipts carry it (`transfer_package.Receipt`).
Reference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
Code = Annotated[str, StringConstraints(min_length=1, max_length=60)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CaseFacts(_Strict):
    reference: Reference
    policy: Code
    state: State
    created_at: AwareDatetime


class Classification(_Strict):
    age_band: AgeBand
    age_disputed: bool
    unaccompanied: bool
    is_child: bool
    age_assessed: AgeOutcome | None
    gender: Gender
    nationality: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}|unknown)$")]
    region: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")]
    exploitation_forms: list[ExploitationForm] = Field(max_length=len(ExploitationForm))
    indicators: list[Code] = Field(max_length=300)
    needs: dict[str, Any]
    consent_given: bool


class PreliminaryTaken(_Strict):
    outcome: PreliminaryOutcome
    at: AwareDatetime


class FormalTaken(_Strict):
    outcome: FormalOutcome
    at: AwareDatetime


class Decisions(_Strict):
    """The decisions the sender took, with their dates: recorded as such by the receiver."""

    preliminary: PreliminaryTaken | None
    formal: FormalTaken | None


class Clock(_Strict):
    """A deadline or right still running at the sender when the package was sealed."""

    kind: DeadlineKind
    right: bool
    opened_at: AwareDatetime
    due_at: AwareDatetime
    remaining_seconds: int
    paused: bool


class ConsentFacts(_Strict):
    method: ConsentMethod
    given_at: AwareDatetime


class TransferFacts(_Strict):
    reason: TransferReason
    consent: ConsentFacts | None
    best_interests_determination_recorded: bool


class DocumentFacts(_Strict):
    kind: DocumentKind
    content_type: Code
    size: int = Field(ge=0)
    uploaded_at: AwareDatetime

    @field_validator("content_type")
    @classmethod
    def _accepted_type(cls, value: str) -> str:
        if value not in ALLOWED_TYPES:
            raise ValueError("not a type this service keeps")
        return value


class PackageDocument(DocumentFacts):
    data: str  # base64 of the document's bytes

    def content(self) -> bytes:
        return base64.b64decode(self.data, validate=True)


class _Facts(_Strict):
    """What the summary and the package share: everything but personal data and documents."""

    v: Literal[1]
    case: CaseFacts
    classification: Classification
    decisions: Decisions
    clocks: list[Clock] = Field(max_length=50)
    transfer: TransferFacts


class PackageSummary(_Facts):
    """What a package holds, without personal data."""

    documents: list[DocumentFacts] = Field(max_length=100)

    def reflection_period_ends_at(self) -> datetime | None:
        """The end of the sender's reflection period, if it still ran."""
        return next((c.due_at for c in self.clocks if c.kind is DeadlineKind.reflection_period), None)


class TransferPackage(_Facts):
    """The payload of a package, version 1 (compact JSON inside the sealed message)."""

    best_interests_determination: LongText | None
    note: LongText | None
    person: dict[str, Any]
    account: dict[str, Any]
    documents: list[PackageDocument] = Field(max_length=100)

    @field_validator("documents")
    @classmethod
    def _sizes_match(cls, documents: list[PackageDocument]) -> list[PackageDocument]:
        for document in documents:
            try:
                size = len(document.content())
            except (binascii.Error, ValueError):
                raise ValueError("a document is not base64") from None
            if size != document.size:
                raise ValueError("a document's size does not match its content")
        return documents

    def summary(self) -> PackageSummary:
        facts = {name: getattr(self, name) for name in _Facts.model_fields}
        documents = [DocumentFacts(**d.model_dump(exclude={"data"})) for d in self.documents]
        return PackageSummary(**facts, documents=documents)


class UnreadablePackage(ValueError):
    """A payload that is not a version-1 package; says nothing of its content."""


def parse_package(document: object) -> TransferPackage:
    """A received payload as a package; `UnreadablePackage` (never chained: pydantic's errors quote the input,
    which is personal data) when it is not one."""
    try:
        return TransferPackage.model_validate(document)
    except ValidationError:
        pass
    raise UnreadablePackage("the package's content is not a version-1 transfer package")


def reference_of(case: Case) -> str:
    """The case reference a peer is told (and that its coordinators can say on the phone)."""
    return case.reference


def build_package(
    case: Case,
    snapshot: CaseSnapshot,
    cipher: CaseCipher,
    *,
    reason: TransferReason,
    consent: TransferConsent | None,
    best_interests: str | None,
    note: str | None,
    documents: list[tuple[Document, bytes]],
    now: datetime,
) -> TransferPackage:
    """The package of a case of ours, with the documents selected (row and plaintext)."""
    assert case.person_blob is not None and case.account_blob is not None
    preliminary = (
        PreliminaryTaken(outcome=PreliminaryOutcome(case.preliminary_outcome), at=case.preliminary_decided_at)
        if case.preliminary_outcome is not None and case.preliminary_decided_at is not None
        else None
    )
    formal = (
        FormalTaken(outcome=FormalOutcome(case.formal_outcome), at=case.formal_decided_at)
        if case.formal_outcome is not None and case.formal_decided_at is not None
        else None
    )
    return TransferPackage(
        v=PACKAGE_VERSION,
        case=CaseFacts(
            reference=reference_of(case), policy=case.policy_name, state=State(case.state), created_at=case.created_at
        ),
        classification=Classification(
            age_band=AgeBand(case.age_band),
            age_disputed=case.age_disputed,
            unaccompanied=case.unaccompanied,
            is_child=case.is_child,
            age_assessed=AgeOutcome(case.age_assessed) if case.age_assessed else None,
            gender=Gender(case.gender),
            nationality=case.nationality,
            region=case.region,
            exploitation_forms=[ExploitationForm(f) for f in case.exploitation_forms],
            indicators=list(case.indicators),
            needs=dict(case.needs),
            consent_given=case.consent_given,
        ),
        decisions=Decisions(preliminary=preliminary, formal=formal),
        clocks=[
            Clock(
                kind=c.kind,
                right=c.is_right,
                opened_at=c.opened_at,
                due_at=c.due_at,
                remaining_seconds=int(c.remaining.total_seconds()),
                paused=c.paused,
            )
            for c in running_clocks(snapshot, now)
        ],
        transfer=TransferFacts(
            reason=reason,
            consent=ConsentFacts(method=consent.method, given_at=consent.given_at) if consent else None,
            best_interests_determination_recorded=best_interests is not None,
        ),
        best_interests_determination=best_interests,
        note=note,
        person=cipher.open_json("person", case.person_blob),
        account=cipher.open_json("account", case.account_blob),
        documents=[
            PackageDocument(
                kind=DocumentKind(row.kind),
                content_type=row.content_type,
                size=len(data),
                uploaded_at=row.uploaded_at,
                data=base64.b64encode(data).decode("ascii"),
            )
            for row, data in documents
        ],
    )


# --- a received package at rest -----------------------------------------------------------------------------


def _associated(row_id: uuid.UUID) -> str:
    return transfer_package_key_context(row_id)


def keep_package(keyring: KeyRing, row: Transfer, package: TransferPackage) -> None:
    """Encrypt a received package on its row, under a new key wrapped by the active KEK."""
    key = new_case_key()
    wrapped = wrap_case_key(keyring, key, _associated(row.id))
    row.payload_kek_id, row.payload_wrapped_key = wrapped.kek_id, wrapped.blob
    row.payload_blob = encrypt_json(key, _associated(row.id), "package", package.model_dump(mode="json"))


def kept_package(keyring: KeyRing, row: Transfer) -> TransferPackage | None:
    """The received package kept on this row, or None once it was decided (its key destroyed)."""
    if row.payload_kek_id is None or row.payload_wrapped_key is None or row.payload_blob is None:
        return None
    key = unwrap_case_key(
        keyring, WrappedKey(kek_id=row.payload_kek_id, blob=row.payload_wrapped_key), _associated(row.id)
    )
    return TransferPackage.model_validate(decrypt_json(key, _associated(row.id), "package", row.payload_blob))


def forget_package(row: Transfer) -> None:
    """Destroy a received package once decided: what was accepted now lives in the new case."""
    row.payload_kek_id = row.payload_wrapped_key = row.payload_blob = None
