from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import EmailStr

from api.auth.schemas import Password
from api.schemas import Name, Public, Rfc3339, RowIdInput, StrictInput


class ClinicCreate(StrictInput):
    name: Name


class ClinicPublic(Public):
    id: int
    name: str
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
