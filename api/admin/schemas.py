from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr, Field

from api.auth.schemas import Password
from api.i18n.fields import CountryCode, LocaleTag
from api.schemas import Name, Public, Rfc3339, RowIdInput, StrictInput


class ClinicCreate(StrictInput):
    name: Name
    country: CountryCode = Field(
        default="GB", description="ISO 3166-1 alpha-2: the emergency and urgent-care numbers its patients are given"
    )
    locale: LocaleTag | None = Field(
        default=None, description="default locale of its new patients (BCP 47); by default the country's language"
    )


class ClinicPublic(Public):
    id: int
    name: str
    country: str
    default_locale: str
    created_at: datetime


class ClinicianCreate(StrictInput):
    email: EmailStr
    password: Password
    display_name: Name
    clinic_id: RowIdInput


class ClinicianPublic(Public):
    id: int
    email: str
    role: str
    display_name: str
    clinic_id: int


class AuditEventPublic(Public):
    id: int
    at: datetime
    actor_id: int | None
    actor_role: str | None
    patient_id: int | None
    action: str
    resource: str
    request_id: str | None
    detail: dict[str, Any]


class TestClockSet(StrictInput):
    now: Rfc3339


class TestClockPublic(Public):
    __test__ = False

    now: datetime
    test_clock_enabled: bool


class DeadLetterPublic(Public):
    """A delivery that was given up on: who, what kind, where, and why; never the message text."""

    id: int
    notification_id: int
    user_id: int = Field(description="the recipient (patient or clinician) account")
    kind: str
    safety: bool
    platform: str | None = Field(description="`fcm` or `webhook`; null when the device was removed")
    device_id: int | None
    device_retired_at: datetime | None
    status: str = Field(description="`dead`, or `pending` right after a requeue")
    attempts: int
    created_at: datetime
    intended_at: datetime
    failed_at: datetime | None
    give_up_at: datetime | None = Field(description="end of the retry window (null: not opened, or reset)")
    next_attempt_at: datetime
    last_error: str | None = Field(description="why it was given up: provider status or configuration, no PHI")
