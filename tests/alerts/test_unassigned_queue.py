"""The unassigned-patients queue: who hears about a patient no physiotherapist follows.

Their alerts go to every active admin (and their clinic's clinicians if they have a
clinic), are re-notified like any urgent alert, are listed for admins only, and an
admin's assignment hands them to a care team (audited).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.alerts.renotify import renotify_unacknowledged
from api.models import AuditEvent, CareTeamMember, User
from api.rules.types import Symptom
from tests.alerts.helpers import alerts_of, at_local, day, engine_of, fresh, notifications, report
from tests.factories import auth, make_admin, make_clinic, make_clinician, make_patient, patient_auth

QUEUE = "/api/v1/admin/unassigned-patients"
OPENED = at_local(day(2), 23)


def _assign(patient_id: int | None) -> str:
    return f"/api/v1/admin/patients/{patient_id}/care-team"


def test_the_queue_lists_unassigned_patients_most_urgent_first_for_admins_only(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    physio = make_clinician(session, app)
    followed = make_patient(session, app, physio, name="Followed")
    quiet = make_patient(session, app, name="Quiet")
    urgent = make_patient(session, app, name="Urgent")
    emergency = make_patient(session, app, name="Emergency")
    report(session, urgent, day(2), Symptom.FEVER, now=OPENED)
    report(session, emergency, day(2), Symptom.BLADDER_CHANGE, now=OPENED)
    report(session, followed, day(2), Symptom.BLADDER_CHANGE, now=OPENED)

    response = client.get(QUEUE, headers=auth(app, admin))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["patient_id"] for i in items] == [emergency.id, urgent.id, quiet.id]
    assert [i["priority"] for i in items] == ["emergency", "urgent_same_day", "none"]
    assert items[0]["display_name"] == "Emergency" and items[0]["clinic_id"] is None
    [alert] = items[0]["alerts"]
    assert alert["rule"] == "red_flag_emergency" and alert["status"] == "open" and "evidence" not in alert
    audited = session.exec(select(AuditEvent.patient_id).where(AuditEvent.action == "list_unassigned")).all()
    assert sorted(i or 0 for i in audited) == sorted(p.id or 0 for p in (emergency, urgent, quiet))

    first = client.get(QUEUE, params={"limit": 2}, headers=auth(app, admin)).json()
    rest = client.get(QUEUE, params={"limit": 2, "cursor": first["next_cursor"]}, headers=auth(app, admin)).json()
    assert [i["patient_id"] for i in first["items"] + rest["items"]] == [emergency.id, urgent.id, quiet.id]
    assert rest["next_cursor"] is None

    for outsider in (auth(app, physio), patient_auth(session, app, emergency)):
        assert client.get(QUEUE, headers=outsider).status_code == 403
        refused = client.post(_assign(emergency.id), json={"clinician_id": physio.id}, headers=outsider)
        assert refused.status_code == 403


def test_an_unassigned_patients_emergency_reaches_the_admins_and_is_renotified_to_them(
    app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    retired = make_admin(session, app)
    retired.is_active = False
    session.add(retired)
    session.commit()
    bystander = make_clinician(session, app)
    patient = make_patient(session, app)  # registered without an invite: no clinic, no care team
    report(session, patient, day(2), Symptom.SADDLE_NUMBNESS, now=OPENED)
    [alert] = alerts_of(session, patient)
    [first] = notifications(session, user_id=admin.id)
    assert first.occurrence_key == f"alert:{alert.id}:round:0:user:{admin.id}" and first.safety
    assert "no care team" in first.body and first.data["audience"] == "unassigned_queue"
    assert notifications(session, user_id=retired.id) == []
    assert notifications(session, user_id=bystander.id) == []

    due = renotify_unacknowledged(
        engine_of(app), OPENED + timedelta(minutes=30), emergency_minutes=30, urgent_minutes=240
    )
    assert due == 1
    assert [n.occurrence_key for n in notifications(session, user_id=admin.id)][-1] == (
        f"alert:{alert.id}:round:1:user:{admin.id}"
    )
    assert notifications(session, user_id=bystander.id) == []


def test_a_patient_whose_physiotherapist_left_goes_to_the_clinic_and_the_admins(app: FastAPI, session: Session) -> None:
    admin = make_admin(session, app)
    clinic = make_clinic(session, app)
    left = make_clinician(session, app, clinic, name="Left")
    colleague = make_clinician(session, app, clinic, name="Colleague")
    patient = make_patient(session, app, left)
    left.is_active = False
    session.add(left)
    session.commit()
    outcome = report(session, patient, day(2), Symptom.BOWEL_CHANGE, now=OPENED)
    [to_colleague] = notifications(session, user_id=colleague.id)
    assert "no care team" in to_colleague.body and to_colleague.data["audience"] == "clinic"
    assert len(notifications(session, user_id=admin.id)) == 1
    assert notifications(session, user_id=left.id) == []
    assert "physiotherapists of your clinic have been told" in outcome.advice


def test_assigning_a_clinician_hands_the_alerts_to_the_care_team(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    clinic = make_clinic(session, app, "North")
    physio = make_clinician(session, app, clinic, name="Sam Okafor")
    patient = make_patient(session, app)
    report(session, patient, day(2), Symptom.NIGHT_PAIN, now=OPENED)
    [alert] = alerts_of(session, patient)

    response = client.post(_assign(patient.id), json={"clinician_id": physio.id}, headers=auth(app, admin))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["clinic_id"] == clinic.id and body["alerts_notified"] == 1
    assert body["care_team"]["followed_by_clinician"] is True
    assert body["care_team"]["clinicians"] == [{"id": physio.id, "display_name": "Sam Okafor"}]
    assert fresh(session, patient).clinic_id == clinic.id
    [told] = notifications(session, user_id=physio.id)
    assert told.alert_id == alert.id and told.data["audience"] == "care_team"
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "assign_care_team")).all()
    assert event.actor_id == admin.id and event.patient_id == patient.id
    assert event.detail == {"clinician_id": physio.id, "clinic_id": clinic.id}

    # the physiotherapist now sees the patient; the queue no longer lists them
    assert client.get(f"/api/v1/clinician/patients/{patient.id}", headers=auth(app, physio)).status_code == 200
    assert client.get(QUEUE, headers=auth(app, admin)).json()["items"] == []
    me = client.get("/api/v1/me", headers=patient_auth(session, app, patient)).json()
    assert me["patient"]["care_team"]["followed_by_clinician"] is True

    again = client.post(_assign(patient.id), json={"clinician_id": physio.id}, headers=auth(app, admin))
    assert again.status_code == 200 and again.json()["alerts_notified"] == 0
    assert len(session.exec(select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)).all()) == 1


def test_assignment_refuses_what_is_not_an_active_clinician_of_the_patients_clinic(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    own = make_clinician(session, app, name="Own")
    other = make_clinician(session, app, name="Other clinic")
    gone = make_clinician(session, app, name="Gone")
    gone.is_active = False
    session.add(gone)
    session.commit()
    patient = make_patient(session, app, own)
    headers = auth(app, admin)
    for clinician_id in (other.id, gone.id, admin.id, 2_000_000):
        refused = client.post(_assign(patient.id), json={"clinician_id": clinician_id}, headers=headers)
        assert refused.status_code == 422, clinician_id
        assert refused.json()["errors"][0]["loc"] == ["body", "clinician_id"]
    missing = client.post(_assign(2_000_000), json={"clinician_id": own.id}, headers=headers)
    assert missing.status_code == 404
    bad = client.post(_assign(patient.id), json={"clinician_id": "7"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "clinician_id"]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "assign_care_team")).all() == []
    user = session.get(User, patient.user_id)
    assert user is not None
