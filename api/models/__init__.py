"""All tables, in one package so relationships never create import cycles.

``base`` holds the metadata (with its naming convention) and the column types;
``accounts`` the people and access; ``clinical`` the patient record; ``messaging``
the reminders, notifications and their outbox; ``ops`` audit and bookkeeping.
Import tables from here, not from the submodules.
"""

from api.models.accounts import (
    CareTeamMember,
    Clinic,
    ClinicMember,
    DashboardSession,
    Invite,
    LoginThrottle,
    Patient,
    RecoveryCode,
    RefreshToken,
    Role,
    User,
    UserTotp,
)
from api.models.base import NAMING_CONVENTION, JSONType, UTCDateTime, metadata
from api.models.clinical import (
    ActorType,
    Alert,
    AlertStatus,
    CheckpointResult,
    ExerciseSession,
    Instrument,
    PainLog,
    PatientIdentifier,
    PatientState,
    Plan,
    PlanDecision,
    PlanStatus,
    Screening,
)
from api.models.messaging import (
    AuthorRole,
    Delivery,
    DeliveryStatus,
    Device,
    DevicePlatform,
    Message,
    Notification,
    NotificationKind,
    ReminderPreference,
    ReminderSchedule,
)
from api.models.ops import AuditEvent, IdempotencyKey, SweepZone, TestClock

__all__ = [
    "NAMING_CONVENTION",
    "ActorType",
    "Alert",
    "AlertStatus",
    "AuditEvent",
    "AuthorRole",
    "CareTeamMember",
    "CheckpointResult",
    "Clinic",
    "ClinicMember",
    "DashboardSession",
    "Delivery",
    "DeliveryStatus",
    "Device",
    "DevicePlatform",
    "ExerciseSession",
    "IdempotencyKey",
    "Instrument",
    "Invite",
    "JSONType",
    "LoginThrottle",
    "Message",
    "Notification",
    "NotificationKind",
    "PainLog",
    "Patient",
    "PatientIdentifier",
    "PatientState",
    "Plan",
    "PlanDecision",
    "PlanStatus",
    "RecoveryCode",
    "RefreshToken",
    "ReminderPreference",
    "ReminderSchedule",
    "Role",
    "Screening",
    "SweepZone",
    "TestClock",
    "UTCDateTime",
    "User",
    "UserTotp",
    "metadata",
]
