"""Clinician alert endpoints: the list, acknowledge and resolve; lifecycle 409s, access 404s, audit."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Alert, AlertStatus, AuditEvent, Patient, User
from api.rules.types import RuleCode, Symptom
from tests.alerts.helpers import alerts_of, count, day, report
from tests.factories import auth, make_clinician, make_patient, patient_auth

ALERTS = "/api/v1/clinician/alerts"


def _setup(app: FastAPI, session: Session) -> tuple[User, User, Patient, Alert]:
    own = make_clinician(session, app, name="Own")
    outsider = make_clinician(session, app, name="Outsider")
    patient = make_patient(session, app, own)
    report(session, patient, day(2), Symptom.BLADDER_CHANGE)
    [alert] = alerts_of(session, patient)
    return own, outsider, patient, alert


def test_lifecycle_open_acknowledged_resolved_with_409s(client: TestClient, app: FastAPI, session: Session) -> None:
    own, _, patient, alert = _setup(app, session)
    headers = auth(app, own)
    acked = client.post(f"{ALERTS}/{alert.id}/acknowledge", json={"note": "calling now"}, headers=headers)
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == own.id
    assert body["note"] == "calling now" and body["rule"] == "red_flag_emergency" and body["tier"] == "emergency"
    assert set(body) >= {"id", "patient_id", "rule", "tier", "status", "opened_at", "evidence", "ruleset_version"}

    twice = client.post(f"{ALERTS}/{alert.id}/acknowledge", json={}, headers=headers)
    assert twice.status_code == 409 and twice.json()["code"] == "alert_acknowledged"

    resolved = client.post(f"{ALERTS}/{alert.id}/resolve", json={"note": "MRI clear"}, headers=headers)
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved" and resolved.json()["note"] == "MRI clear"
    assert resolved.json()["acknowledge_note"] == "calling now"

    for action, payload in (("acknowledge", {}), ("resolve", {"note": "again"})):
        response = client.post(f"{ALERTS}/{alert.id}/{action}", json=payload, headers=headers)
        assert response.status_code == 409, action
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "alert_resolved"
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.patient_id == patient.id)).all()
    assert actions.count("acknowledge_alert") == 1 and actions.count("resolve_alert") == 1


def test_an_open_alert_can_be_resolved_in_one_step(client: TestClient, app: FastAPI, session: Session) -> None:
    own, _, _, alert = _setup(app, session)
    response = client.post(f"{ALERTS}/{alert.id}/resolve", json={"note": "handled by phone"}, headers=auth(app, own))
    body = response.json()
    assert response.status_code == 200 and body["status"] == "resolved"
    assert body["acknowledged_by"] == body["resolved_by"] == own.id
    assert body["acknowledged_at"] == body["resolved_at"]


def test_resolve_needs_a_note_and_bad_input_writes_nothing(client: TestClient, app: FastAPI, session: Session) -> None:
    own, _, _, alert = _setup(app, session)
    headers = auth(app, own)
    audits = count(session, AuditEvent)
    for payload in ({}, {"note": ""}, {"note": "   "}, {"note": 7}, {"note": "ok", "extra": 1}, {"note": "x" * 2001}):
        response = client.post(f"{ALERTS}/{alert.id}/resolve", json=payload, headers=headers)
        assert response.status_code == 422, payload
        assert any(e["loc"][:1] == ["body"] for e in response.json()["errors"])
    bad_ack = client.post(f"{ALERTS}/{alert.id}/acknowledge", json={"note": False}, headers=headers)
    assert bad_ack.status_code == 422 and bad_ack.json()["errors"][0]["loc"] == ["body", "note"]
    assert alerts_of(session, alert_patient(session, alert))[0].status == AlertStatus.OPEN
    assert count(session, AuditEvent) == audits


def alert_patient(session: Session, alert: Alert) -> Patient:
    patient = session.get(Patient, alert.patient_id)
    assert patient is not None
    return patient


def test_a_clinician_outside_the_care_team_cannot_list_read_acknowledge_or_resolve(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    _, outsider, patient, alert = _setup(app, session)
    headers = auth(app, outsider)
    listed = client.get(ALERTS, headers=headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert client.get(f"{ALERTS}?patient_id={patient.id}", headers=headers).json()["items"] == []
    assert client.get(f"{ALERTS}/{alert.id}", headers=headers).status_code == 404
    for action, payload in (("acknowledge", {}), ("resolve", {"note": "not mine"})):
        response = client.post(f"{ALERTS}/{alert.id}/{action}", json=payload, headers=headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    missing = client.post(f"{ALERTS}/{(alert.id or 0) + 999}/acknowledge", json={}, headers=headers)
    assert missing.status_code == 404
    assert alerts_of(session, patient)[0].status == AlertStatus.OPEN


def test_a_patient_cannot_use_the_clinician_alert_routes(client: TestClient, app: FastAPI, session: Session) -> None:
    _, _, patient, alert = _setup(app, session)
    headers = patient_auth(session, app, patient)
    assert client.get(ALERTS, headers=headers).status_code == 403
    assert client.post(f"{ALERTS}/{alert.id}/acknowledge", json={}, headers=headers).status_code == 403


def test_the_list_is_most_urgent_first_filtered_and_paginated(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    own = make_clinician(session, app)
    first = make_patient(session, app, own)
    second = make_patient(session, app, own, osteoporosis_or_steroids=True)
    report(session, first, day(2), Symptom.FEVER)  # urgent same day
    report(session, second, day(2), Symptom.MINOR_TRAUMA)  # urgent within days
    report(session, second, day(3), Symptom.CHEST_PAIN)  # emergency
    report(session, first, day(4), Symptom.SADDLE_NUMBNESS)  # emergency, newer
    [old_emergency] = alerts_of(session, second, RuleCode.RED_FLAG_EMERGENCY)
    headers = auth(app, own)
    client.post(f"{ALERTS}/{old_emergency.id}/resolve", json={"note": "fine"}, headers=headers)

    seen: list[tuple[str, str, int]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(ALERTS, params=params, headers=headers).json()
        seen += [(a["status"], a["tier"], a["patient_id"]) for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [
        ("open", "emergency", first.id),
        ("open", "urgent_same_day", first.id),
        ("open", "urgent_days", second.id),
        ("resolved", "emergency", second.id),
    ]
    open_only = client.get(ALERTS, params={"status": "open", "tier": ["emergency", "urgent_days"]}, headers=headers)
    assert [(a["tier"], a["patient_id"]) for a in open_only.json()["items"]] == [
        ("emergency", first.id),
        ("urgent_days", second.id),
    ]
    by_patient = client.get(ALERTS, params={"patient_id": second.id}, headers=headers).json()["items"]
    assert {a["patient_id"] for a in by_patient} == {second.id}
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "list_alerts")).all()
    assert {e.patient_id for e in reads} == {first.id, second.id}


def test_bad_list_parameters_are_422(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_clinician(session, app))
    for params in (
        {"status": "closed"},
        {"tier": "none"},
        {"limit": 0},
        {"cursor": "not-a-cursor!"},
        {"patient_id": 0},
    ):
        response = client.get(ALERTS, params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["loc"][0] == "query"


def test_an_alert_read_is_audited(client: TestClient, app: FastAPI, session: Session) -> None:
    own, _, patient, alert = _setup(app, session)
    response = client.get(f"{ALERTS}/{alert.id}", headers=auth(app, own))
    assert response.status_code == 200 and response.json()["evidence"]["triggers"] == ["bladder_change"]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "read_alert")).one()
    assert (event.actor_id, event.patient_id) == (own.id, patient.id)
