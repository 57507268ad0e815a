"""A patient with two weeks and two days of real history, shared by the detail and export tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Patient, User
from tests.clinicians.helpers import set_clock
from tests.clinicians.journey import log_days, screen
from tests.factories import make_clinic, make_clinician, make_patient

PARIS = ZoneInfo("Europe/Paris")
DAY1 = date(2026, 2, 2)  # a Monday; Paris is UTC+1 all February
PAINS = [6, 6, 6, 6, 6, 6, 6, 4, 4, 4, 4, 4, 4, 4, 4, 5]


@dataclass(frozen=True)
class Followed:
    clinician: User
    outsider: User
    patient: Patient
    other_patient: Patient
    now: datetime

    @property
    def last_day(self) -> date:
        return DAY1 + timedelta(days=len(PAINS) - 1)


@pytest.fixture
def followed(client: TestClient, app: FastAPI, session: Session) -> Followed:
    """Registered on day 1 in Paris, screened (STarT Back medium), 16 days of logs and
    Mon/Wed/Fri sessions, new one-leg weakness on day 16 (urgent same day: plan paused)."""
    set_clock(app, session, local_paris(DAY1, 8))
    clinic = make_clinic(session, app)
    clinician = make_clinician(session, app, clinic, name="Physio")
    outsider = make_clinician(session, app, clinic, name="Outsider")
    patient = make_patient(session, app, clinician, name="Camille", timezone="Europe/Paris", birth_year=1968)
    other = make_patient(session, app, clinician, name="Other")
    screen(client, app, session, patient, local_paris(DAY1, 9))
    log_days(client, app, session, patient, DAY1, PAINS, last_symptoms={"one_leg_weakness": True})
    now = local_paris(DAY1 + timedelta(days=len(PAINS) - 1), 21)
    set_clock(app, session, now)
    return Followed(clinician, outsider, patient, other, now)


def local_paris(on: date, hour: int) -> datetime:
    return datetime.combine(on, time(hour), PARIS)
