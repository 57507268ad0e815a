from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from api.models import Patient
from tests.capture.helpers import START, set_clock
from tests.factories import make_patient, patient_auth


@pytest.fixture
def clock_at_start(app: FastAPI, session: Session) -> None:
    set_clock(app, session, START)


@pytest.fixture
def patient(app: FastAPI, session: Session, clock_at_start: None) -> Patient:
    return make_patient(session, app)


@pytest.fixture
def headers(app: FastAPI, session: Session, patient: Patient) -> dict[str, str]:
    return patient_auth(session, app, patient)
