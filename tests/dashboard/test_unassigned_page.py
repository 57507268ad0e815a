"""The admins' unassigned-patients page: the queue, the assign form, and who may see it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEvent, CareTeamMember
from api.rules.types import Symptom
from tests.alerts.helpers import at_local, day, notifications, report
from tests.dashboard.conftest import LOGIN, form_token
from tests.dashboard.test_pages import assert_no_inline_code
from tests.factories import PASSWORD, make_admin, make_clinic, make_clinician, make_patient

QUEUE = "/dashboard/unassigned"
XSS = "<script>alert(1)</script>"


def _sign_in(web: TestClient, email: str) -> str:
    token = form_token(web.get(LOGIN).text)
    response = web.post(LOGIN, data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return form_token(web.get(QUEUE).text) if response.headers["location"] == QUEUE else ""


def test_the_admin_sees_the_queue_and_assigns_a_physiotherapist(
    web: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    clinic = make_clinic(session, app, "Riverside")
    physio = make_clinician(session, app, clinic, name="Sam Okafor")
    patient = make_patient(session, app, name=XSS)
    calm = make_patient(session, app, name="Calm Carla")
    report(session, patient, day(2), Symptom.BLADDER_CHANGE, now=at_local(day(2), 23))
    csrf = _sign_in(web, admin.email)

    page = web.get(QUEUE)
    assert page.status_code == 200
    html = page.text
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_no_inline_code(html)
    assert html.index(f'data-patient-id="{patient.id}"') < html.index(f'data-patient-id="{calm.id}"')
    assert "Emergency" in html and "Red flag: possible emergency" in html
    assert "Sam Okafor (Riverside)" in html
    shown = session.exec(select(AuditEvent.patient_id).where(AuditEvent.resource == "dashboard/unassigned")).all()
    assert set(shown) == {patient.id, calm.id}  # one event per patient shown, on each view

    refused = web.post(f"{QUEUE}/{patient.id}/assign", data={"clinician_id": str(physio.id), "csrf_token": "x"})
    assert refused.status_code == 403
    empty = web.post(f"{QUEUE}/{patient.id}/assign", data={"clinician_id": "", "csrf_token": csrf})
    assert empty.status_code == 422 and "Choose a physiotherapist" in empty.text
    wrong = web.post(f"{QUEUE}/{patient.id}/assign", data={"clinician_id": str(admin.id), "csrf_token": csrf})
    assert wrong.status_code == 422 and "not an active clinician" in wrong.text

    done = web.post(f"{QUEUE}/{patient.id}/assign", data={"clinician_id": str(physio.id), "csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == f"{QUEUE}?assigned=1"
    after = web.get(done.headers["location"]).text
    assert "Physiotherapist assigned" in after and f'data-patient-id="{patient.id}"' not in after
    session.rollback()
    assert session.exec(select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)).one()
    [told] = notifications(session, user_id=physio.id)
    assert told.data["audience"] == "care_team"


def test_a_clinician_cannot_see_or_use_the_queue(web: TestClient, app: FastAPI, session: Session) -> None:
    physio = make_clinician(session, app)
    patient = make_patient(session, app)
    token = form_token(web.get(LOGIN).text)
    web.post(LOGIN, data={"email": physio.email, "password": PASSWORD, "csrf_token": token})
    csrf = form_token(web.get("/dashboard/patients").text)
    assert web.get(QUEUE).status_code == 404
    response = web.post(f"{QUEUE}/{patient.id}/assign", data={"clinician_id": str(physio.id), "csrf_token": csrf})
    assert response.status_code == 404
    session.rollback()
    assert session.exec(select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)).first() is None


def test_the_queue_needs_a_session(web: TestClient) -> None:
    response = web.get(QUEUE)
    assert response.status_code == 303 and response.headers["location"] == LOGIN
