"""A patient's programme driven through the real patient API with the application clock."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Patient
from tests.capture.helpers import ME, NO_SYMPTOMS
from tests.clinicians.helpers import set_clock
from tests.factories import patient_auth


def local(patient: Patient, on: date, hour: int) -> datetime:
    return datetime.combine(on, time(hour), ZoneInfo(patient.timezone))


def screen(client: TestClient, app: FastAPI, session: Session, patient: Patient, at: datetime) -> None:
    """STarT Back (medium risk: assigns the plan and a routine alert), red flags (none) and ODI."""
    set_clock(app, session, at)
    headers = patient_auth(session, app, patient)
    start_back = {f"q{i}": i <= 4 for i in range(1, 9)} | {"q9": "moderately"}
    bodies: list[dict[str, Any]] = [
        {"instrument": "start_back", "answers": start_back},
        {"instrument": "red_flags", "answers": NO_SYMPTOMS},
        {"instrument": "odi", "answers": {f"s{i}": 2 for i in range(1, 11)}},
    ]
    for body in bodies:
        response = client.post(f"{ME}/screenings", json=body, headers=headers)
        assert response.status_code == 201, response.text


def log_days(
    client: TestClient,
    app: FastAPI,
    session: Session,
    patient: Patient,
    first: date,
    pains: Sequence[int | None],
    *,
    leg: int | None = 2,
    sessions_on: frozenset[int] = frozenset({0, 2, 4}),
    last_symptoms: dict[str, bool] | None = None,
) -> None:
    """One evening per day: the day's log (None: skipped) and a session on the planned weekdays."""
    for i, back in enumerate(pains):
        on = first + timedelta(days=i)
        at = local(patient, on, 19)
        set_clock(app, session, at)
        headers = patient_auth(session, app, patient)
        if back is not None:
            body: dict[str, Any] = {"back_pain": back, "client_updated_at": at.isoformat()}
            if leg is not None:
                body["leg_pain"] = leg
            if last_symptoms and i == len(pains) - 1:
                body["symptoms"] = last_symptoms
            response = client.put(f"{ME}/pain-logs/{on.isoformat()}", json=body, headers=headers)
            assert response.status_code == 201, response.text
        if on.weekday() in sessions_on:
            done = {
                "id": str(uuid.uuid4()),
                "performed_at": local(patient, on, 18).isoformat(),
                "duration_minutes": 25,
                "exercises": [{"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True}],
                "pain_during": 3,
                "rpe": 4,
            }
            response = client.post(f"{ME}/exercise-sessions", json=done, headers=headers)
            assert response.status_code == 201, response.text
