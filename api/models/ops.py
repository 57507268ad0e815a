"""Bookkeeping: audit trail, idempotency keys, the shared test clock."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import JSONType, UTCDateTime


class AuditEvent(SQLModel, table=True):
    """Who read or changed what, and when.

    Actor and patient are plain ids (no foreign keys) so the trail survives an
    erasure; ``detail`` never holds patient-identifying text.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_patient_at", "patient_id", "at"),
        sa.Index("ix_audit_event_actor_at", "actor_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: int | None = None
    actor_role: str | None = Field(default=None, max_length=16)
    patient_id: int | None = None
    action: str = Field(max_length=64)
    resource: str = Field(max_length=200)
    request_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class IdempotencyKey(SQLModel, table=True):
    """A stored response for a client-supplied ``Idempotency-Key`` header."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", ondelete="CASCADE")
    key: str = Field(max_length=200)
    method: str = Field(max_length=8)
    path: str = Field(max_length=500)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: Any = Field(default=None, sa_type=JSONType, nullable=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class TestClock(SQLModel, table=True):
    """The application clock override (non-production only), shared by every process.

    The clock reads ``now_at + (real now - set_at)``: time keeps running from the
    instant an admin set, so scheduled jobs still advance during a demo.
    """

    __tablename__ = "test_clock"
    __test__ = False  # not a pytest test class

    id: int = Field(default=1, primary_key=True)
    now_at: datetime = Field(sa_type=UTCDateTime)
    set_at: datetime = Field(sa_type=UTCDateTime)
    set_by: int | None = None


class SweepZone(SQLModel, table=True):
    """The local date each time zone was last swept through by the escalation sweep.

    The hourly sweep only works on zones whose local date has moved since; the
    crossing windows of the time-based rules (silence at 3 and 7 days...) run from this
    date to today, so a missed night is caught up rather than skipped.
    """

    __tablename__ = "sweep_zone"

    timezone: str = Field(primary_key=True, max_length=64)
    swept_on: date
    swept_at: datetime = Field(sa_type=UTCDateTime)
