from __future__ import annotations

from datetime import date

from api.schemas import Public


class PatientProfilePublic(Public):
    id: int
    timezone: str
    birth_year: int | None
    episode_started_on: date | None
    cancer_history: bool
    osteoporosis_or_steroids: bool
    risk_group: str | None
    clinic_id: int | None


class MePublic(Public):
    id: int
    email: str
    display_name: str
    role: str
    patient: PatientProfilePublic | None
