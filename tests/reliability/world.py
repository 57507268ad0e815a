"""Two patients and two clinicians with real records, built through the API.

Patient A is in clinician 1's care team, patient B in clinician 2's: so clinician 2 is
"an unassigned clinician" for everything of A's, and B is "another patient". A has a
plan (STarT Back), logs (one reporting night pain, so an urgent alert exists), an
exercise session, a push device and notifications.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import Alert, Notification
from tests.factories import auth, make_admin, make_clinic, make_clinician, make_patient, patient_auth

# A Wednesday, noon in London.
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
ME = "/api/v1/me"


@dataclass(frozen=True)
class World:
    """Ids and tokens only: no ORM rows, which would lazily hold a connection open."""

    patient_a_id: int
    patient_b_id: int
    a: dict[str, str]
    b: dict[str, str]
    c1: dict[str, str]
    c2: dict[str, str]
    admin_headers: dict[str, str]
    session_id: str
    alert_id: int
    notification_id: int
    device_id: int


def build_world(app: FastAPI, client: TestClient, session: Session) -> World:
    app.state.clock.set(NOW, None, session)
    session.commit()
    clinic = make_clinic(session, app)
    c1, c2 = make_clinician(session, app, clinic, "Physio one"), make_clinician(session, app, clinic, "Physio two")
    patient_a, patient_b = make_patient(session, app, c1, name="Ann"), make_patient(session, app, c2, name="Ben")
    admin = make_admin(session, app)
    a, b = patient_auth(session, app, patient_a), patient_auth(session, app, patient_b)
    answers = {f"q{i}": i % 2 == 0 for i in range(1, 9)} | {"q9": "very_much"}
    for headers in (a, b):
        screened = client.post(
            f"{ME}/screenings", json={"instrument": "start_back", "answers": answers}, headers=headers
        )
        assert screened.status_code == 201, screened.text
        for back in range(3, 0, -1):
            on = (NOW - timedelta(days=back)).date()
            body = {"back_pain": 4 + back, "client_updated_at": (NOW - timedelta(hours=back)).isoformat()}
            assert client.put(f"{ME}/pain-logs/{on}", json=body, headers=headers).status_code == 201
    today = NOW.date()
    body = {"back_pain": 6, "symptoms": {"night_pain": True}, "client_updated_at": NOW.isoformat()}
    assert client.put(f"{ME}/pain-logs/{today}", json=body, headers=a).status_code == 201
    session_id = str(uuid.uuid4())
    exercise = {
        "id": session_id,
        "performed_at": (NOW - timedelta(hours=3)).isoformat(),
        "duration_minutes": 20,
        "exercises": [{"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True}],
        "pain_during": 3,
    }
    assert client.post(f"{ME}/exercise-sessions", json=exercise, headers=a).status_code == 201
    device = client.post(f"{ME}/devices", json={"platform": "webhook", "token": "device-of-a"}, headers=a)
    assert device.status_code == 201, device.text
    session.rollback()
    alert = session.exec(select(Alert).where(Alert.patient_id == patient_a.id)).first()
    notification = session.exec(
        select(Notification).where(Notification.user_id == patient_a.user_id).order_by(col(Notification.id))
    ).first()
    assert alert is not None and alert.id is not None
    assert notification is not None and notification.id is not None
    session.rollback()
    assert patient_a.id is not None and patient_b.id is not None
    world = World(
        patient_a_id=patient_a.id,
        patient_b_id=patient_b.id,
        a=a,
        b=b,
        c1=auth(app, c1),
        c2=auth(app, c2),
        admin_headers=auth(app, admin),
        session_id=session_id,
        alert_id=alert.id,
        notification_id=notification.id,
        device_id=int(device.json()["id"]),
    )
    session.rollback()
    return world
