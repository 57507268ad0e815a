"""Issue 19: the (English) dashboard shows which language the patient reads Backstep in."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import User
from tests.dashboard.conftest import log_in
from tests.factories import auth, make_patient


def test_the_patient_page_and_summary_show_the_patient_locale(
    web: TestClient, client: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    patient = make_patient(session, app, physio, name="Lena Berg")
    patient.locale = "de-DE"
    session.add(patient)
    session.commit()
    log_in(web, physio)
    page = web.get(f"/dashboard/patients/{patient.id}").text
    assert "Reads Backstep in German (Germany) · de-DE" in page
    summary = client.get(f"/api/v1/clinician/patients/{patient.id}", headers=auth(app, physio)).json()
    assert summary["patient"]["locale"] == "de-DE"
