"""A patient, their physiotherapist, an outsider and another patient, for the messaging tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import Session, select

from api.models import AuditEvent, CareTeamMember, Delivery, Message, Notification, Patient, User
from tests.factories import auth, make_clinic, make_clinician, make_patient, patient_auth

ME = "/api/v1/me/messages"


def clinician_path(patient: Patient) -> str:
    return f"/api/v1/clinician/patients/{patient.id}/messages"


def new_message(body: str = "Is it normal that the bridge exercise makes my hamstrings ache?") -> dict[str, Any]:
    return {"body": body, "client_id": str(uuid.uuid4())}


@dataclass(frozen=True)
class Team:
    clinician: User
    colleague: User  # same clinic, also in the care team
    outsider: User  # same clinic, not in the care team
    patient: Patient
    other: Patient  # another patient of the same clinician
    patient_headers: dict[str, str]
    other_headers: dict[str, str]
    clinician_headers: dict[str, str]
    colleague_headers: dict[str, str]
    outsider_headers: dict[str, str]


def make_team(app: FastAPI, session: Session) -> Team:
    clinic = make_clinic(session, app)
    clinician = make_clinician(session, app, clinic, name="Sam Okafor")
    colleague = make_clinician(session, app, clinic, name="Priya Shah")
    outsider = make_clinician(session, app, clinic, name="Outsider")
    patient = make_patient(session, app, clinician, name="Camille Laurent")
    assert patient.id is not None and colleague.id is not None
    session.add(CareTeamMember(patient_id=patient.id, clinician_id=colleague.id, created_at=patient.created_at))
    session.commit()
    other = make_patient(session, app, clinician, name="Other Patient")
    return Team(
        clinician=clinician,
        colleague=colleague,
        outsider=outsider,
        patient=patient,
        other=other,
        patient_headers=patient_auth(session, app, patient),
        other_headers=patient_auth(session, app, other),
        clinician_headers=auth(app, clinician),
        colleague_headers=auth(app, colleague),
        outsider_headers=auth(app, outsider),
    )


def counts(session: Session) -> dict[str, int]:
    session.rollback()
    return {
        table.__name__: int(session.exec(select(func.count()).select_from(table)).one())
        for table in (Message, Notification, Delivery, AuditEvent)
    }
