"""Two (or three) instances of the service for the transfer tests: each its own database, key file, settings and
accounts, registered with each other as peers; a courier that carries messages between them in-process; and
counters of what a refused message must leave unchanged.

Everything is obviously fictional: the person and story below are what the leak checks search for.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from app.api.problems import status_of
from app.clock import FrozenClock
from app.config import load_settings
from app.models import AuditEntry, Case, OutboxMessage, SeenMessage, Transfer
from app.security.permissions import Principal
from app.services import cases, documents, transfers
from app.services.audit import AuditEntryView, list_entries
from app.services.context import ServiceContext
from app.services.instance import local_identity
from app.services.transfers import Answer, ConsentInput, InboxRefusal, TransferRequest
from app.workflow.transfers import ConsentMethod, TransferReason
from tests.factories import World, event, referral_input

SECRET_NAME = "Quillon Varmadottir"
SECRET_STORY = "locked in the back room of the Orrible laundry on Tenmark quay"
CHILD_NAME = "Pemberly Oshwyn"
CHILD_STORY = "sent to beg at the Glissade fountain every morning"
BEST_INTERESTS = "reunification with the aunt named in the file, school place held (fictional)"


@dataclass
class Instance:
    """One instance of the service and the people who work on it."""

    label: str
    ctx: ServiceContext
    referrer: Principal
    coordinator: Principal
    assessor: Principal
    auditor: Principal

    @property
    def line(self) -> str:
        return local_identity(self.ctx.settings, self.ctx.keyring).to_line()

    @property
    def url(self) -> str:
        assert self.ctx.settings.public_url is not None
        return self.ctx.settings.public_url


def make_instance(
    label: str,
    database_url: str,
    directory: Path,
    clock: FrozenClock,
    *,
    policy: str,
    country: str,
    url: str,
    **overrides: object,
) -> Instance:
    """An instance named after `label`, with its key file under `directory/label`; `overrides` as `NRM_*`."""
    settings = load_settings(
        database_url=database_url,
        key_file=directory / label / "nrm.keys",
        policy=policy,
        instance_name=f"Focal point {label.upper()} (test)",
        instance_country=country,
        public_url=url,
        **overrides,
    )
    ctx = ServiceContext.build(settings, clock)
    world = World(ctx)
    return Instance(
        label=label,
        ctx=ctx,
        referrer=world.principal(f"referrer-{label}", ["referrer"], f"NGO {label}", "ngo"),
        coordinator=world.principal(f"coordinator-{label}", ["coordinator"], f"Secretariat {label}", "coordination"),
        assessor=world.principal(f"assessor-{label}", ["assessor"], f"Social services {label}", "social_services"),
        auditor=world.principal(f"auditor-{label}", ["auditor"], f"Inspection {label}", "coordination"),
    )


def pair(a: Instance, b: Instance) -> None:
    """Each registers the other, under the other's label (the fingerprint read out of band, as it were)."""
    transfers.add_peer(a.ctx, b.label, b.line)
    transfers.add_peer(b.ctx, a.label, a.line)


class InProcessCourier:
    """Carries messages to the instance whose public URL the inbox URL starts with, through the same service
    the HTTP inbox calls; `down` makes every peer unreachable. Keeps every message it carried."""

    def __init__(self, *instances: Instance) -> None:
        self.instances = list(instances)
        self.down = False
        self.carried: list[bytes] = []

    def deliver(self, url: str, data: bytes) -> Answer:
        if self.down:
            return Answer(None, "unreachable")
        self.carried.append(data)
        target = next(i for i in self.instances if url.startswith(i.url))
        try:
            transfers.receive(target.ctx, data)
        except InboxRefusal as refusal:
            return Answer(status_of(refusal)[0], refusal.code)
        return Answer(202)


# --- cases -------------------------------------------------------------------------------------------------


def adult_in_recovery(instance: Instance) -> uuid.UUID:
    """An adult referred with a (fictional) name and story, with reasonable grounds found: the reflection period
    runs."""
    body = referral_input(
        person={**referral_input().person, "full_name": SECRET_NAME, "date_of_birth": "1990-04-02"},
        account={**referral_input().account, "what_happened": SECRET_STORY},
        needs={**referral_input().needs, "shelter_needed": True},
    )
    case_id = cases.refer(instance.ctx, instance.referrer, body).view.id
    event(instance.ctx, instance.coordinator, case_id, "assign_assessor", assessor_id=str(instance.assessor.user_id))
    event(instance.ctx, instance.assessor, case_id, "preliminary_decision", outcome="positive", reasons="grounds")
    return case_id


def child_referred(instance: Instance) -> uuid.UUID:
    """An unaccompanied child referred (no consent needed), not yet assessed."""
    body = referral_input(
        person={**referral_input().person, "full_name": CHILD_NAME},
        account={**referral_input().account, "what_happened": CHILD_STORY},
        age_band="15-17",
        unaccompanied=True,
        consent_given=False,
    )
    return cases.refer(instance.ctx, instance.referrer, body).view.id


def attach(instance: Instance, case_id: uuid.UUID, text: str) -> uuid.UUID:
    """A plain-text evidence document on the case."""
    view = documents.upload(instance.ctx, instance.referrer, case_id, "evidence", "text/plain", [text.encode()])
    return view.id


def adult_request(peer: str, *document_ids: uuid.UUID, clock: FrozenClock) -> TransferRequest:
    return TransferRequest(
        peer=peer,
        reason=TransferReason.person_relocated,
        consent=ConsentInput(how=ConsentMethod.in_writing, at=clock.now() - timedelta(hours=2)),
        documents=tuple(document_ids),
    )


def child_request(peer: str) -> TransferRequest:
    return TransferRequest(peer=peer, reason=TransferReason.family_there, best_interests_determination=BEST_INTERESTS)


# --- what a refusal must leave unchanged -------------------------------------------------------------------


def footprint(instance: Instance) -> dict[str, int]:
    """Rows of every table a message could change (the audit log apart: a refusal adds one entry)."""
    with instance.ctx.sessions() as session:
        return {
            table.__tablename__: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (Case, Transfer, SeenMessage, OutboxMessage)
        } | {
            "states": hash(tuple(session.scalars(select(Transfer.state).order_by(Transfer.id)))),
            "cases": hash(tuple(session.scalars(select(Case.state).order_by(Case.id)))),
        }


def audit_entries(instance: Instance) -> list[AuditEntryView]:
    return list_entries(instance.ctx, case_id=None, after=None, limit=10_000)


def audit_count(instance: Instance) -> int:
    with instance.ctx.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def audit_text(instance: Instance) -> str:
    """Every audit entry as JSON, to search for personal data."""
    return json.dumps([entry.__dict__ for entry in audit_entries(instance)], default=str)


def with_transfer_id(instance: Instance, transfer_id: uuid.UUID) -> list[str]:
    """The actions of the audit entries that name this transfer."""
    return [e.action for e in audit_entries(instance) if e.details.get("transfer_id") == str(transfer_id)]


def details_of(entries: list[AuditEntryView], action: str) -> dict[str, Any]:
    found = [e for e in entries if e.action == action]
    assert found, f"no {action} entry"
    return dict(found[-1].details)
