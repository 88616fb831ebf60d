"""Anonymous notifications: an adult who does not consent is counted, never registered."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.db import transaction
from app.models import Notification
from app.security.permissions import Principal
from app.services.cases.core import append_audit
from app.services.context import ServiceContext
from app.workflow import AgeBand, ExploitationForm, Gender, Sector


@dataclass(frozen=True)
class NotificationInput:
    gender: str
    age_band: str
    nationality: str
    region: str
    exploitation_forms: list[str]


@dataclass(frozen=True)
class NotificationView:
    id: uuid.UUID
    gender: Gender
    age_band: AgeBand
    nationality: str
    region: str
    exploitation_forms: list[ExploitationForm]
    sector: Sector
    created_at: datetime


def notify(ctx: ServiceContext, principal: Principal, notification: NotificationInput) -> NotificationView:
    with transaction(ctx.sessions) as session:
        return record_notification(session, ctx, principal, notification, ctx.clock.now())


def record_notification(
    session: Session, ctx: ServiceContext, principal: Principal, notification: NotificationInput, now: datetime
) -> NotificationView:
    """The notification and its audit entry, in the caller's transaction (a referral draft turned into a
    notification is deleted in the same one)."""
    row = Notification(
        id=uuid.uuid4(),
        organisation_id=principal.organisation_id,
        sector=principal.sector.value,
        gender=notification.gender,
        age_band=notification.age_band,
        nationality=notification.nationality,
        region=notification.region,
        exploitation_forms=sorted(notification.exploitation_forms),
        created_at=now,
    )
    session.add(row)
    append_audit(session, ctx, principal, "notification.created", details={}, now=now)
    return NotificationView(
        row.id,
        Gender(row.gender),
        AgeBand(row.age_band),
        row.nationality,
        row.region,
        [ExploitationForm(form) for form in row.exploitation_forms],
        principal.sector,
        now,
    )
