"""Clinician overrides: set_level, pause, resume, assign_template, each with a reason; audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEvent, Notification, Patient, Plan, PlanDecision, User
from tests.factories import assert_field_refused, auth, make_clinician, make_patient
from tests.plans.helpers import START, assign, at_local, count, decisions, plan_of, set_clock

DAY = timedelta(days=1)
NOW = at_local(START + 3 * DAY, hour=10)


@pytest.fixture
def clinician(app: FastAPI, session: Session) -> User:
    set_clock(app, session, NOW)
    return make_clinician(session, app)


@pytest.fixture
def patient(app: FastAPI, session: Session, clinician: User) -> Patient:
    patient = make_patient(session, app, clinician)
    assign(app, patient, "medium")
    return patient


def post(client: TestClient, app: FastAPI, clinician: User, patient: Patient, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/clinician/patients/{patient.id}/plan", headers=auth(app, clinician), json=body)


def snapshot(session: Session) -> tuple[int, int, int, tuple[Any, ...]]:
    plans = session.exec(select(Plan.level, Plan.status, Plan.template_id)).all()
    session.commit()
    return count(session, PlanDecision), count(session, AuditEvent), count(session, Notification), tuple(plans)


def test_set_level_records_a_clinician_decision_and_an_audit_event(
    client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient
) -> None:
    response = post(
        client, app, clinician, patient, {"action": "set_level", "level": 3, "reason": "doing well in clinic"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["level"], body["status"], body["level_started_on"]) == (3, "active", (START + 3 * DAY).isoformat())
    assert body["next_review_on"] == (START + 10 * DAY).isoformat()
    assert body["last_decision"] == {
        "action": "set_level",
        "reasons": ["doing well in clinic"],
        "actor": "clinician",
        "decided_at": body["last_decision"]["decided_at"],
    }
    decision = decisions(session, patient)[-1]
    assert (decision.actor_type, decision.actor_id, decision.from_level, decision.to_level) == (
        "clinician",
        clinician.id,
        1,
        3,
    )
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "plan_set_level")).one()
    session.commit()
    assert (audit.actor_id, audit.patient_id) == (clinician.id, patient.id)
    assert audit.detail == {
        "decision_id": decision.id,
        "action": "set_level",
        "from_level": 1,
        "to_level": 3,
        "to_status": "active",
    }


def test_pause_and_resume(
    client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient
) -> None:
    paused = post(client, app, clinician, patient, {"action": "pause", "reason": "awaiting MRI"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    assert paused.json()["next_review_on"] is None
    again = post(client, app, clinician, patient, {"action": "pause", "reason": "twice"})
    assert again.status_code == 409 and again.json()["code"] == "plan_already_paused"
    resumed = post(client, app, clinician, patient, {"action": "resume", "reason": "MRI clear"})
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    assert resumed.json()["next_review_on"] == (START + 10 * DAY).isoformat()
    not_paused = post(client, app, clinician, patient, {"action": "resume", "reason": "again"})
    assert not_paused.status_code == 409 and not_paused.json()["code"] == "plan_not_paused"
    assert [(d.action, d.actor_type) for d in decisions(session, patient)] == [
        ("assign", "system"),
        ("pause", "clinician"),
        ("resume", "clinician"),
    ]


def test_assign_template(client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient) -> None:
    response = post(
        client,
        app,
        clinician,
        patient,
        {"action": "assign_template", "template_id": "graded-exercise-with-education", "level": 2, "reason": "fearful"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["template_id"], body["level"], body["started_on"]) == (
        "graded-exercise-with-education",
        2,
        (START + 3 * DAY).isoformat(),
    )
    same = post(
        client,
        app,
        clinician,
        patient,
        {"action": "assign_template", "template_id": body["template_id"], "reason": "x"},
    )
    assert same.status_code == 409 and same.json()["code"] == "template_unchanged"
    # A re-screen in a new risk group no longer overrides the clinician's choice.
    assert assign(app, patient, "low", START + 4 * DAY) is None
    assert plan_of(session, patient).template_id == "graded-exercise-with-education"


def test_assign_template_starts_a_plan_for_a_patient_without_one(
    client: TestClient, app: FastAPI, session: Session, clinician: User
) -> None:
    patient = make_patient(session, app, clinician)
    response = post(
        client, app, clinician, patient, {"action": "assign_template", "template_id": "self-management", "reason": "r"}
    )
    assert response.status_code == 200 and response.json()["level"] == 1
    assert [(d.action, d.from_level, d.to_level) for d in decisions(session, patient)] == [("assign", None, 1)]


@pytest.mark.parametrize("action", ["set_level", "pause", "resume"])
def test_acting_on_a_patient_without_a_plan_is_409(
    client: TestClient, app: FastAPI, session: Session, clinician: User, action: str
) -> None:
    patient = make_patient(session, app, clinician)
    body: dict[str, Any] = {"action": action, "reason": "r"} | ({"level": 2} if action == "set_level" else {})
    response = post(client, app, clinician, patient, body)
    assert response.status_code == 409 and response.json()["code"] == "no_plan"
    assert count(session, PlanDecision) == 0


def test_set_level_to_the_current_level_is_409(
    client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient
) -> None:
    response = post(client, app, clinician, patient, {"action": "set_level", "level": 1, "reason": "r"})
    assert response.status_code == 409 and response.json()["code"] == "level_unchanged"


BAD_BODIES = [
    ({"action": "set_level", "level": 6, "reason": "r"}, ["body", "level"]),  # graded exercise has 5 levels
    ({"action": "set_level", "level": 0, "reason": "r"}, ["body", "level"]),
    ({"action": "set_level", "level": False, "reason": "r"}, ["body", "level"]),
    ({"action": "set_level", "level": "2", "reason": "r"}, ["body", "level"]),
    ({"action": "set_level", "reason": "r"}, ["body", "level"]),
    ({"action": "set_level", "level": 2, "template_id": "self-management", "reason": "r"}, ["body", "template_id"]),
    ({"action": "assign_template", "template_id": "no-such-plan", "reason": "r"}, ["body", "template_id"]),
    ({"action": "assign_template", "reason": "r"}, ["body", "template_id"]),
    ({"action": "assign_template", "template_id": "self-management", "level": 4, "reason": "r"}, ["body", "level"]),
    ({"action": "pause", "level": 2, "reason": "r"}, ["body", "level"]),
    ({"action": "resume", "template_id": "self-management", "reason": "r"}, ["body", "template_id"]),
    ({"action": "set_level", "level": 2}, ["body", "reason"]),
    ({"action": "set_level", "level": 2, "reason": "   "}, ["body", "reason"]),
    ({"action": "set_level", "level": 2, "reason": "x" * 501}, ["body", "reason"]),
    ({"action": "progress", "reason": "r"}, ["body", "action"]),
    ({"action": "pause", "reason": "r", "note": "extra"}, ["body", "note"]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_BODIES)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient,
    app: FastAPI,
    session: Session,
    clinician: User,
    patient: Patient,
    body: dict[str, Any],
    loc: list[str],
) -> None:
    before = snapshot(session)
    response = post(client, app, clinician, patient, body)
    assert_field_refused(response, loc)
    assert snapshot(session) == before


def test_history_for_the_clinician_is_audited(
    client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient
) -> None:
    post(client, app, clinician, patient, {"action": "pause", "reason": "r"})
    response = client.get(f"/api/v1/clinician/patients/{patient.id}/plan/history", headers=auth(app, clinician))
    assert response.status_code == 200
    assert [d["action"] for d in response.json()["items"]] == ["pause", "assign"]
    assert response.json()["items"][0]["actor_id"] == clinician.id
    plan = client.get(f"/api/v1/clinician/patients/{patient.id}/plan", headers=auth(app, clinician))
    assert plan.status_code == 200 and plan.json()["status"] == "paused"
    reads = session.exec(select(AuditEvent.resource).where(AuditEvent.action == "read")).all()
    session.commit()
    assert sorted(reads) == sorted(["plan_history", f"plan/{plan.json()['id']}"])


def test_a_clinician_outside_the_care_team_gets_404_and_changes_nothing(
    client: TestClient, app: FastAPI, session: Session, patient: Patient
) -> None:
    outsider = make_clinician(session, app, name="Outsider")
    before = snapshot(session)
    response = post(client, app, outsider, patient, {"action": "pause", "reason": "r"})
    assert response.status_code == 404
    history = client.get(f"/api/v1/clinician/patients/{patient.id}/plan/history", headers=auth(app, outsider))
    assert history.status_code == 404
    assert snapshot(session) == before


def test_the_patient_is_told_about_a_clinician_change_without_the_clinicians_words(
    client: TestClient, app: FastAPI, session: Session, clinician: User, patient: Patient
) -> None:
    post(client, app, clinician, patient, {"action": "set_level", "level": 2, "reason": "private clinical note"})
    rows = session.exec(select(Notification).where(Notification.kind == "plan_change")).all()
    session.commit()
    bodies = [n.title + " " + n.body for n in rows]
    assert any("level 2" in text for text in bodies)
    assert not any("private clinical note" in text for text in bodies)
