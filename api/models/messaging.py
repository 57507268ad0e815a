"""Reminders, the in-app feed, push devices and the delivery outbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import JSONType, UTCDateTime, one_of
from api.rules.types import ReminderKind


class NotificationKind(StrEnum):
    DAILY_LOG_REMINDER = "daily_log_reminder"
    EXERCISE_REMINDER = "exercise_reminder"
    WEEKLY_CHECKIN = "weekly_checkin"
    NUDGE = "nudge"
    SAFETY = "safety"
    PLAN_CHANGE = "plan_change"
    CARE_TEAM_ALERT = "care_team_alert"
    MESSAGE = "message"  # a new message in the patient's conversation (never its text)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    CANCELLED = "cancelled"


class DevicePlatform(StrEnum):
    FCM = "fcm"
    WEBHOOK = "webhook"


class ReminderPreference(SQLModel, table=True):
    """Reminder times in the patient's own zone (Patient.timezone)."""

    __tablename__ = "reminder_preference"
    __table_args__ = (
        sa.CheckConstraint("weekly_checkin_weekday >= 0 AND weekly_checkin_weekday <= 6", name="weekday_range"),
    )

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    # No defaults here: ``api.reminders.service.default_preferences`` builds a new row from
    # the clinic's ``RuleSettings``, the one source of the default times.
    daily_log_enabled: bool
    daily_log_time: time
    exercise_enabled: bool
    exercise_time: time
    weekly_checkin_enabled: bool
    weekly_checkin_weekday: int  # Monday = 0 … Sunday = 6
    weekly_checkin_time: time
    quiet_start: time  # equal to quiet_end: no quiet hours
    quiet_end: time
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ReminderSchedule(SQLModel, table=True):
    """The next due instant per patient and reminder kind.

    The minute tick reads only rows whose ``next_due_at`` has passed (indexed), so a
    tick with nothing due costs one index probe whatever the number of patients.
    """

    __tablename__ = "reminder_schedule"
    __table_args__ = (one_of("kind", ReminderKind),)

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    kind: str = Field(primary_key=True, max_length=32)
    next_due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    local_date: date
    last_sent_on: date | None = None


class Device(SQLModel, table=True):
    __table_args__ = (
        one_of("platform", DevicePlatform),
        sa.UniqueConstraint("platform", "token"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    platform: str = Field(max_length=16)
    token: str = Field(max_length=4096)
    created_at: datetime = Field(sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_reason: str | None = Field(default=None, max_length=200)


class Notification(SQLModel, table=True):
    """An in-app feed item; push deliveries of it live in the outbox (``Delivery``).

    ``occurrence_key`` is unique: one reminder of a kind per patient-local day, one
    care-team message per alert and round, whatever number of schedulers race.
    """

    __table_args__ = (
        one_of("kind", NotificationKind),
        sa.Index("ix_notification_user_created", "user_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    patient_id: int | None = Field(default=None, foreign_key="patient.id", index=True, ondelete="CASCADE")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", ondelete="SET NULL")
    kind: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    safety: bool = False  # bypasses quiet hours
    occurrence_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    intended_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """Outbox row: one push of one notification to one device, retried until done.

    Dispatchers claim due rows through the partial index on pending rows, safety
    messages first (``safety`` is copied from the notification so the claim needs no
    join): a backlog of evening reminders never holds back an emergency.
    """

    __table_args__ = (
        one_of("status", DeliveryStatus),
        sa.UniqueConstraint("notification_id", "device_id"),
        sa.Index(
            "ix_delivery_pending_safety_next_attempt",
            "safety",
            "next_attempt_at",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        # The admins' dead-letter list, newest first, without scanning every sent row.
        sa.Index(
            "ix_delivery_dead",
            "id",
            sqlite_where=sa.text("status = 'dead'"),
            postgresql_where=sa.text("status = 'dead'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", ondelete="CASCADE")
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True, ondelete="SET NULL")
    status: str = Field(default=DeliveryStatus.PENDING, max_length=16)
    safety: bool = False
    attempts: int = 0  # claims so far, counted when claimed (a crash mid-send counts)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    intended_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    # Set at the first failed attempt (first failure + the retry window); a failure at or
    # after it dead-letters. An admin's requeue clears it, so the retry gets a full window.
    give_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuthorRole(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"


class Message(SQLModel, table=True):
    """One message of a patient's conversation with their care team (one per patient).

    ``client_id`` is the app's (or dashboard form's) UUID, unique within the conversation,
    so a replayed send is a no-op. ``read_at`` is when the other side first read it: the
    care team for a patient's message (any clinician of it), the patient for a clinician's.
    ``author_user_id`` is nulled if a staff account is ever deleted; the message stays in
    the patient's record. The patient's own messages go with the patient (erasure).
    """

    __tablename__ = "message"
    __table_args__ = (
        one_of("author_role", AuthorRole),
        sa.UniqueConstraint("patient_id", "client_id"),
        sa.CheckConstraint("length(body) >= 1", name="body_not_empty"),
        # The conversation, newest first, and its keyset pages.
        sa.Index("ix_message_patient_id_id", "patient_id", "id"),
        # Unread counts of a page of patients (the triage list): only unread rows are indexed.
        sa.Index(
            "ix_message_unread",
            "patient_id",
            "author_role",
            sqlite_where=sa.text("read_at IS NULL"),
            postgresql_where=sa.text("read_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    client_id: uuid.UUID
    author_role: str = Field(max_length=16)
    author_user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True, ondelete="SET NULL")
    body: str = Field(max_length=4000)
    created_at: datetime = Field(sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
