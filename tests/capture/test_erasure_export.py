"""DELETE /me erases every personal row; GET /me/export contains everything."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.auth.throttle import account_prefix
from api.models import AuditEvent, Delivery, LoginThrottle, Notification, Patient, User, metadata
from api.patients.erasure import personal_references
from tests.capture.helpers import ME, day, log_body, rows, session_body
from tests.factories import PASSWORD, auth, make_admin, make_clinician, make_patient, patient_user


@dataclass
class Rich:
    patient: Patient
    user: User
    headers: dict[str, str]
    session_id: str


def build_rich_patient(client: TestClient, app: FastAPI, session: Session, clinician: User, name: str) -> Rich:
    """A patient with a row in every table a patient can reach, through the API."""
    patient = make_patient(session, app, clinician, name=name)
    user = patient_user(session, patient)
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong password"})  # a throttle row
    assert client.patch(ME, json={"timezone": "Europe/Paris", "birth_year": 1970}, headers=headers).status_code == 200
    assert (
        client.post(
            "/api/v1/me/devices", json={"platform": "fcm", "token": f"token-{name}"}, headers=headers
        ).status_code
        == 201
    )
    start_back = {f"q{i}": True for i in range(1, 9)} | {"q9": "extremely"}
    assert (
        client.post(
            f"{ME}/screenings", json={"instrument": "start_back", "answers": start_back}, headers=headers
        ).status_code
        == 201
    )
    assert (
        client.post(f"{ME}/screenings", json={"instrument": "odi", "answers": {"s1": 3}}, headers=headers).status_code
        == 201
    )
    for offset in range(-14, 0):  # reaches programme day 14: a checkpoint result
        client.put(f"{ME}/pain-logs/{day(offset)}", json=log_body(6, note=f"{name} diary"), headers=headers)
    body = session_body(note=f"{name} session")
    assert client.post(f"{ME}/exercise-sessions", json=body, headers=headers).status_code == 201
    emergency = client.put(
        f"{ME}/pain-logs/{day(0)}", json=log_body(8, symptoms={"saddle_numbness": True}), headers=headers
    )
    assert emergency.json()["triage"]["tier"] == "emergency"
    message = {"body": f"{name} asks about swimming", "client_id": str(uuid.uuid4())}
    assert client.post(f"{ME}/messages", json=message, headers=headers).status_code == 201
    reply = {"body": f"Swimming is fine, {name}", "client_id": str(uuid.uuid4())}
    assert (
        client.post(
            f"/api/v1/clinician/patients/{patient.id}/messages", json=reply, headers=auth(app, clinician)
        ).status_code
        == 201
    )
    session.rollback()
    return Rich(patient, user, headers, body["id"])


def referencing_rows(session: Session, user_id: int, patient_id: int) -> dict[str, int]:
    """Rows in any table whose foreign keys point at this user or patient (SET NULL ones too)."""
    session.rollback()
    found: dict[str, int] = {}
    for table in metadata.sorted_tables:
        conditions = [
            fk.parent == (patient_id if fk.column.table.name == "patient" else user_id)
            for fk in table.foreign_keys
            if fk.column.table.name in ("patient", "app_user")
        ]
        if table.name == "patient":
            conditions.append(table.c.id == patient_id)
        if table.name == "app_user":
            conditions.append(table.c.id == user_id)
        if conditions:
            n = session.execute(sa.select(sa.func.count()).select_from(table).where(sa.or_(*conditions))).scalar_one()
            if n:
                found[table.name] = int(n)
    return found


def test_erasure_leaves_no_personal_rows(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    clinician = make_clinician(session, app)
    me = build_rich_patient(client, app, session, clinician, "Alice")
    other = build_rich_patient(client, app, session, clinician, "Bob")
    assert me.patient.id is not None and me.user.id is not None
    user_id, patient_id, email = me.user.id, me.patient.id, me.user.email
    before = referencing_rows(session, user_id, patient_id)
    for table in (
        "pain_log",
        "exercise_session",
        "screening",
        "plan",
        "plan_decision",
        "alert",
        "notification",
        "device",
        "refresh_token",
        "reminder_preference",
        "care_team_member",
        "checkpoint_result",
        "message",
    ):
        assert before.get(table), f"the scenario should put a row in {table}"
    other_before = referencing_rows(session, other.user.id, other.patient.id)  # type: ignore[arg-type]
    deliveries_before = rows(session, Delivery)

    wrong = client.request("DELETE", ME, json={"password": "not it"}, headers=me.headers)
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "wrong_password"
    assert referencing_rows(session, user_id, patient_id) == before

    throttled = col(LoginThrottle.key).startswith(account_prefix(email))  # keyed by a hash of the e-mail
    assert rows(session, LoginThrottle, throttled) == 1  # the scenario's failed login
    erased = client.request("DELETE", ME, json={"password": PASSWORD}, headers=me.headers)
    assert erased.status_code == 204
    assert referencing_rows(session, user_id, patient_id) == {}
    assert rows(session, LoginThrottle, throttled) == 0
    # The care team's messages about the patient and their pushes are gone too.
    assert rows(session, Notification, Notification.patient_id == patient_id) == 0
    assert rows(session, Delivery) < deliveries_before
    # Nobody else lost anything.
    assert referencing_rows(session, other.user.id, other.patient.id) == other_before  # type: ignore[arg-type]
    assert client.get(f"{ME}/exercise-sessions/{other.session_id}", headers=other.headers).status_code == 200
    # The audit trail keeps ids and counts, never who the patient was.
    events = session.exec(select(AuditEvent).where(AuditEvent.patient_id == patient_id)).all()
    erase = [e for e in events if e.action == "erase"]
    assert len(erase) == 1
    assert erase[0].detail["patient_id"] == patient_id and erase[0].detail["rows"]["pain_log"] == 15
    trail = str([(e.resource, e.detail) for e in events])
    assert email not in trail and "Alice" not in trail
    # The old token is dead, and a new login is impossible.
    assert client.get(ME, headers=me.headers).status_code == 401
    assert client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401


def test_wrong_passwords_lock_the_erasure_like_a_login(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    for _ in range(5):
        assert client.request("DELETE", ME, json={"password": "guess"}, headers=headers).status_code == 403
    locked = client.request("DELETE", ME, json={"password": PASSWORD}, headers=headers)
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers
    assert rows(session, Patient) == 1


@pytest.mark.parametrize("body", [{}, {"password": ""}, {"password": 123}, {"password": "x", "reason": "bye"}])
def test_bad_erasure_requests(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = client.request("DELETE", ME, json=body, headers=headers)
    assert response.status_code == 422
    assert rows(session, Patient) == 1


def test_staff_cannot_erase_themselves(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    for user in (make_clinician(session, app), make_admin(session, app)):
        response = client.request("DELETE", ME, json={"password": PASSWORD}, headers=auth(app, user))
        assert response.status_code == 403
        assert response.json()["code"] == "staff_erasure_not_allowed"
    assert rows(session, User) == 2


def test_the_export_contains_everything(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    clinician = make_clinician(session, app)
    me = build_rich_patient(client, app, session, clinician, "Carol")
    build_rich_patient(client, app, session, clinician, "Dave")
    response = client.get(f"{ME}/export", headers=me.headers)
    assert response.status_code == 200
    export = response.json()
    assert export["schema_version"] == "1"
    assert export["generated_at"].startswith("2026-03-02")
    assert export["account"]["email"] == me.user.email
    assert export["profile"]["timezone"] == "Europe/Paris" and export["profile"]["birth_year"] == 1970
    assert export["profile"]["programme_started_on"] == str(day(-14))
    assert [s["instrument"] for s in export["screenings"]] == ["start_back", "odi"]
    assert len(export["pain_logs"]) == 15
    assert export["pain_logs"][0]["note"] == "Carol diary"
    assert export["pain_logs"][-1]["symptoms"]["saddle_numbness"] is True
    assert [s["id"] for s in export["exercise_sessions"]] == [me.session_id]
    assert export["plan"]["template_id"] == "graded-exercise-with-education"
    assert export["plan"]["status"] == "paused"
    assert [d["action"] for d in export["plan_decisions"]] == ["assign", "pause"]
    assert {a["rule"] for a in export["alerts"]} >= {"start_back_high", "red_flag_emergency"}
    assert export["reminders"]["daily_log_time"] == "20:00"
    assert any(n["kind"] == "safety" for n in export["notifications"])
    assert export["devices"] == [
        {
            "id": export["devices"][0]["id"],
            "platform": "fcm",
            "created_at": export["devices"][0]["created_at"],
            "retired_at": None,
            "retired_reason": None,
        }
    ]
    assert [(m["author_role"], m["body"]) for m in export["messages"]] == [
        ("patient", "Carol asks about swimming"),
        ("clinician", "Swimming is fine, Carol"),
    ]
    assert any(n["kind"] == "message" for n in export["notifications"])
    assert "token-Carol" not in response.text
    assert "Dave" not in response.text
    session.rollback()
    assert rows(session, AuditEvent, AuditEvent.action == "export") == 1


def test_the_export_is_for_patients(client: TestClient, app: FastAPI, session: Session, clock_at_start: None) -> None:
    assert client.get(f"{ME}/export", headers=auth(app, make_clinician(session, app))).status_code == 403


def test_every_personal_reference_is_erased_by_the_database(engine: Any) -> None:
    # Every foreign key to a patient or a user either cascades or is nulled: a new table
    # without one would make the erasure fail loudly instead of leaving rows behind.
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name in ("patient", "app_user"):
                assert fk.ondelete in ("CASCADE", "SET NULL"), f"{table.name}.{fk.parent.name}"
    assert personal_references()
