"""Every clinician read of patient data is an audit event, and the admin can find it."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEvent
from tests.clinicians.conftest import Followed
from tests.clinicians.helpers import CLINICIAN_PATIENTS
from tests.factories import auth, make_admin

READS = ["", "/pain-logs", "/exercise-sessions", "/plan", "/plan/history", "/export.fhir", "/export.csv"]


def test_each_clinician_read_records_who_what_whom_and_the_request(
    client: TestClient, app: FastAPI, session: Session, followed: Followed
) -> None:
    headers = auth(app, followed.clinician)
    request_ids = []
    for suffix in READS:
        response = client.get(f"{CLINICIAN_PATIENTS}/{followed.patient.id}{suffix}", headers=headers)
        assert response.status_code == 200, (suffix, response.text)
        request_ids.append(response.headers["x-request-id"])
    session.rollback()
    events = session.exec(select(AuditEvent).where(AuditEvent.actor_id == followed.clinician.id)).all()
    by_request = {e.request_id: e for e in events}
    for suffix, request_id in zip(READS, request_ids, strict=True):
        event = by_request.get(request_id)
        assert event is not None, f"GET …{suffix} was not audited"
        assert event.actor_role == "clinician" and event.patient_id == followed.patient.id, suffix
        assert event.action in ("read", "export") and event.resource, suffix
        assert "Camille" not in str(event.detail), suffix  # ids and outcomes only


def test_the_admin_filters_the_trail(client: TestClient, app: FastAPI, session: Session, followed: Followed) -> None:
    client.get(f"{CLINICIAN_PATIENTS}/{followed.patient.id}", headers=auth(app, followed.clinician))
    client.get(f"{CLINICIAN_PATIENTS}/{followed.patient.id}/export.csv", headers=auth(app, followed.clinician))
    session.rollback()
    admin = make_admin(session, app)
    headers = auth(app, admin)
    url = "/api/v1/admin/audit"

    def actions(**params: str | int | None) -> list[str]:
        response = client.get(url, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [e["action"] for e in response.json()["items"]]

    mine = actions(actor_id=followed.clinician.id, patient_id=followed.patient.id)
    assert mine[:2] == ["export", "read"]
    assert actions(actor_id=followed.clinician.id, action="export") == ["export"]
    assert set(actions(patient_id=followed.patient.id)) >= {"export", "read", "create"}
    now = followed.now
    assert actions(action="export", since=(now - timedelta(minutes=5)).isoformat()) == ["export"]
    assert actions(action="export", until=(now - timedelta(minutes=5)).isoformat()) == []
    naive = client.get(url, headers=headers, params={"since": "2026-02-17T10:00:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["loc"] == ["query", "since"]
    assert actions(since=now.isoformat(), until=now.isoformat()) == []  # an empty range matches nothing
    assert client.get(url, headers=auth(app, followed.clinician)).status_code == 403
