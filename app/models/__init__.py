"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from app.models.accounts import AccessToken, LoginThrottle, Organisation, User, UserRole, WebSession
from app.models.alerts import DeadlineAlert
from app.models.base import Base
from app.models.cases import (
    AuditEntry,
    AuditHead,
    Case,
    CaseHistory,
    CaseKey,
    CaseNumber,
    CaseStateCount,
    Deadline,
    IdempotencyRecord,
    Notification,
    Panel,
    PanelSeat,
)
from app.models.drafts import ReferralDraft
from app.models.justice import JusticeMilestone
from app.models.keys import KeyCheck
from app.models.policies import PolicyVersion
from app.models.support import Document, Interview, NeedsAssessment, Provider, ServiceReferral, SupportNeed
from app.models.transfers import OutboxMessage, Peer, SeenMessage, Transfer

__all__ = [
    "AccessToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseHistory",
    "CaseKey",
    "CaseNumber",
    "CaseStateCount",
    "Deadline",
    "DeadlineAlert",
    "Document",
    "IdempotencyRecord",
    "Interview",
    "JusticeMilestone",
    "KeyCheck",
    "LoginThrottle",
    "NeedsAssessment",
    "Notification",
    "Organisation",
    "OutboxMessage",
    "Panel",
    "PanelSeat",
    "Peer",
    "PolicyVersion",
    "Provider",
    "ReferralDraft",
    "SeenMessage",
    "ServiceReferral",
    "SupportNeed",
    "Transfer",
    "User",
    "UserRole",
    "WebSession",
]
