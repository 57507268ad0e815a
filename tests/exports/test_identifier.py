"""The patient's external identifier: set by the care team, validated, audited, exported, erased."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent, PatientIdentifier
from tests.factories import PASSWORD, auth, make_clinic, make_clinician, make_patient, patient_user

NHS = {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9434765919"}


def _url(patient_id: int | None) -> str:
    return f"/api/v1/clinician/patients/{patient_id}/identifier"


def test_the_care_team_sets_replaces_and_removes_it_and_the_export_carries_it(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app, make_clinic(session, app))
    patient = make_patient(session, app, clinician)
    headers = auth(app, clinician)
    assert client.get(_url(patient.id), headers=headers).status_code == 404

    response = client.put(_url(patient.id), json=NHS, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["system"] == NHS["system"] and response.json()["value"] == NHS["value"]
    assert client.get(_url(patient.id), headers=headers).json()["value"] == NHS["value"]

    export = client.get(f"/api/v1/clinician/patients/{patient.id}/export.fhir", headers=headers).json()
    identifiers = export["entry"][0]["resource"]["identifier"]
    assert identifiers[1] == {"use": "official", **NHS}

    oid = {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "1-80-01-75-123-456"}
    assert client.put(_url(patient.id), json=oid, headers=headers).json()["system"] == oid["system"]
    assert client.delete(_url(patient.id), headers=headers).status_code == 204
    assert client.delete(_url(patient.id), headers=headers).status_code == 404
    export = client.get(f"/api/v1/clinician/patients/{patient.id}/export.fhir", headers=headers).json()
    assert len(export["entry"][0]["resource"]["identifier"]) == 1

    session.rollback()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.resource == f"patient/{patient.id}/identifier").order_by(col(AuditEvent.id))
    ).all()
    assert [e.action for e in events] == ["identifier_set", "identifier_set", "identifier_removed"]
    assert all(e.actor_id == clinician.id for e in events)
    # The audit trail names the system, never the number itself.
    assert all(NHS["value"] not in str(e.detail) and oid["value"] not in str(e.detail) for e in events)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"system": "nhs-number", "value": "9434765919"}, "system"),
        ({"system": "ftp://x.example/id", "value": "9434765919"}, "system"),
        ({"system": "https://fhir.nhs.uk/Id/nhs number", "value": "9434765919"}, "system"),
        ({"system": "https://x.example/" + "a" * 200, "value": "1"}, "system"),
        ({"system": NHS["system"], "value": ""}, "value"),
        ({"system": NHS["system"], "value": "943 476 5919"}, "value"),
        ({"system": NHS["system"], "value": "9" * 65}, "value"),
        ({"system": NHS["system"], "value": "=cmd"}, "value"),
        ({"system": NHS["system"]}, "value"),
        ({"system": NHS["system"], "value": 9434765919}, "value"),
        ({**NHS, "extra": 1}, "extra"),
        # This deployment's own namespace holds its own patient ids: never the clinic's.
        ({"system": "https://backstep.example/fhir/patient-id", "value": "12"}, "system"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, app: FastAPI, session: Session, body: dict[str, Any], field: str
) -> None:
    clinician = make_clinician(session, app, make_clinic(session, app))
    patient = make_patient(session, app, clinician)
    response = client.put(_url(patient.id), json=body, headers=auth(app, clinician))
    assert response.status_code == 422, response.text
    assert field in response.text
    session.rollback()
    assert session.get(PatientIdentifier, patient.id) is None


def test_outside_clinicians_and_patients_get_404(client: TestClient, app: FastAPI, session: Session) -> None:
    clinic = make_clinic(session, app)
    clinician = make_clinician(session, app, clinic)
    outsider = make_clinician(session, app, clinic, name="Outsider")
    patient = make_patient(session, app, clinician)
    for method in ("GET", "PUT", "DELETE"):
        kwargs: dict[str, Any] = {"json": NHS} if method == "PUT" else {}
        assert client.request(method, _url(patient.id), headers=auth(app, outsider), **kwargs).status_code == 404
    own = auth(app, patient_user(session, patient))
    assert client.put(_url(patient.id), json=NHS, headers=own).status_code == 403  # not a clinician
    session.rollback()
    assert session.get(PatientIdentifier, patient.id) is None


def test_it_is_erased_with_the_patient(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app, make_clinic(session, app))
    patient = make_patient(session, app, clinician)
    assert client.put(_url(patient.id), json=NHS, headers=auth(app, clinician)).status_code == 200
    headers = auth(app, patient_user(session, patient))
    erased = client.request("DELETE", "/api/v1/me", json={"password": PASSWORD}, headers=headers)
    assert erased.status_code == 204, erased.text
    session.rollback()
    assert session.exec(select(PatientIdentifier)).all() == []
