"""Object-level access, deterministically: every route that names one of patient A's objects
by id is 404 for patient B and for a clinician outside A's care team, changes nothing,
and works for A's own side (the Schemathesis run probes the same at random).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Alert, Device, ExerciseSession, Notification
from tests.reliability.world import World, build_world


def routes(w: World) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, path, body, whose route): "me" routes belong to A, "clinician" routes to A's clinician."""
    pid = w.patient_a_id
    return [
        ("GET", f"/api/v1/me/exercise-sessions/{w.session_id}", None, "me"),
        ("PATCH", f"/api/v1/me/exercise-sessions/{w.session_id}", {"pain_next_morning": 2}, "me"),
        ("POST", f"/api/v1/me/notifications/{w.notification_id}/read", None, "me"),
        ("DELETE", f"/api/v1/me/devices/{w.device_id}", None, "me"),
        ("GET", f"/api/v1/clinician/alerts/{w.alert_id}", None, "clinician"),
        ("POST", f"/api/v1/clinician/alerts/{w.alert_id}/acknowledge", {"note": "seen"}, "clinician"),
        ("POST", f"/api/v1/clinician/alerts/{w.alert_id}/resolve", {"note": "done"}, "clinician"),
        ("GET", f"/api/v1/clinician/patients/{pid}", None, "clinician"),
        ("GET", f"/api/v1/clinician/patients/{pid}/plan", None, "clinician"),
        ("POST", f"/api/v1/clinician/patients/{pid}/plan", {"action": "resume", "reason": "reviewed"}, "clinician"),
    ]


def snapshot(session: Session, w: World) -> tuple[Any, ...]:
    session.rollback()
    alert = session.get(Alert, w.alert_id, populate_existing=True)
    device = session.get(Device, w.device_id, populate_existing=True)
    notification = session.get(Notification, w.notification_id, populate_existing=True)
    exercise = session.exec(select(ExerciseSession)).all()
    assert alert is not None and device is not None and notification is not None
    state = (
        alert.status,
        alert.acknowledged_at,
        device.retired_at,
        notification.read_at,
        sorted((str(s.id), s.pain_next_morning) for s in exercise),
    )
    session.rollback()
    return state


def test_patient_b_and_an_unassigned_clinician_get_404_and_change_nothing(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    w = build_world(app, client, session)
    before = snapshot(session, w)
    for method, path, body, side in routes(w):
        outsider = w.b if side == "me" else w.c2
        response = client.request(method, path, json=body, headers=outsider)
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"
    assert snapshot(session, w) == before
    for method, path, body, side in routes(w):
        owner = w.a if side == "me" else w.c1
        response = client.request(method, path, json=body, headers=owner)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
