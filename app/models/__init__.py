"""SQLAlchemy models. Importing this package registers every table on `Base.metadata`."""

from app.models.accounts import AccessToken, LoginFailure, Organisation, User, UserRole
from app.models.base import Base
from app.models.cases import (
    AuditEntry,
    AuditHead,
    Case,
    CaseHistory,
    CaseKey,
    Deadline,
    IdempotencyRecord,
    Notification,
    Panel,
    PanelSeat,
)

__all__ = [
    "AccessToken",
    "AuditEntry",
    "AuditHead",
    "Base",
    "Case",
    "CaseHistory",
    "CaseKey",
    "Deadline",
    "IdempotencyRecord",
    "LoginFailure",
    "Notification",
    "Organisation",
    "Panel",
    "PanelSeat",
    "User",
    "UserRole",
]
