"""Plain typed factories for arranging test data, and auth helpers.

Factories write through the same services the API uses and commit, so what they
build is what a real request would have built.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session, select

from api.admin.service import create_staff_user
from api.auth.service import register_patient
from api.config import Settings
from api.models import CareTeamMember, Clinic, ClinicMember, Patient, Role, User
from api.reminders.service import reschedule_patient
from api.security import create_access_token

PASSWORD = "correct horse battery"
_sequence = itertools.count(1)


def unique_email(prefix: str) -> str:
    return f"{prefix}{next(_sequence)}@example.org"


def app_now(app: FastAPI) -> datetime:
    moment: datetime = app.state.clock.now()
    return moment


def app_settings(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings


def make_clinic(session: Session, app: FastAPI, name: str = "Test clinic") -> Clinic:
    clinic = Clinic(name=name, created_at=app_now(app))
    session.add(clinic)
    session.commit()
    return clinic


def make_admin(session: Session, app: FastAPI) -> User:
    user = create_staff_user(
        session,
        role=Role.ADMIN,
        email=unique_email("admin"),
        password=PASSWORD,
        display_name="Admin",
        clinic_id=None,
        now=app_now(app),
        settings=app_settings(app),
    )
    session.commit()
    return user


def make_clinician(session: Session, app: FastAPI, clinic: Clinic | None = None, name: str = "Clinician") -> User:
    clinic = clinic or make_clinic(session, app)
    user = create_staff_user(
        session,
        role=Role.CLINICIAN,
        email=unique_email("physio"),
        password=PASSWORD,
        display_name=name,
        clinic_id=clinic.id,
        now=app_now(app),
        settings=app_settings(app),
    )
    session.commit()
    return user


def make_patient(
    session: Session,
    app: FastAPI,
    clinician: User | None = None,
    *,
    name: str = "Patient",
    timezone: str = "Europe/London",
    birth_year: int | None = 1980,
    cancer_history: bool = False,
    osteoporosis_or_steroids: bool = False,
) -> Patient:
    """A registered patient, in ``clinician``'s care team when one is given."""
    now = app_now(app)
    _user, patient = register_patient(
        session,
        email=unique_email("patient"),
        password=PASSWORD,
        display_name=name,
        invite_code=None,
        now=now,
        settings=app_settings(app),
    )
    patient.timezone = timezone
    patient.birth_year = birth_year
    patient.cancer_history = cancer_history
    patient.osteoporosis_or_steroids = osteoporosis_or_steroids
    if clinician is not None:
        assert patient.id is not None and clinician.id is not None
        patient.clinic_id = session.exec(
            select(ClinicMember.clinic_id).where(ClinicMember.user_id == clinician.id)
        ).first()
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=clinician.id, created_at=now))
    session.add(patient)
    session.flush()
    assert patient.id is not None
    reschedule_patient(session, patient.id, now, app_settings(app).rules)  # the zone may have changed
    session.commit()
    return patient


def patient_user(session: Session, patient: Patient) -> User:
    user = session.get(User, patient.user_id)
    assert user is not None
    return user


def auth(app: FastAPI, user: User) -> dict[str, str]:
    """Authorization headers for ``user``, minted directly (no login round trip)."""
    assert user.id is not None
    wall_now = app.state.clock.wall_now()  # tokens live on the wall clock, not the test clock
    token, _ = create_access_token(user.id, user.role, wall_now, app_settings(app), token_version=user.token_version)
    return {"Authorization": f"Bearer {token}"}


def patient_auth(session: Session, app: FastAPI, patient: Patient) -> dict[str, str]:
    return auth(app, patient_user(session, patient))


def assert_field_refused(response: Any, loc: list[Any], context: object = None) -> None:
    """SPEC §4: a 422 problem (application/problem+json) whose errors name ``loc``."""
    why = context if context is not None else response.text
    assert response.status_code == 422, why
    assert response.headers["content-type"] == "application/problem+json", why
    body = response.json()
    assert body["code"] == "validation_error", why
    assert loc in [e["loc"] for e in body["errors"]], (why, body["errors"])
