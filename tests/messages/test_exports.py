"""Messages in the FHIR export (Communication) and in the patient's own export, on both databases."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session

from tests.exports.integrator import integrator_failures
from tests.messages.helpers import ME, clinician_path, make_team, new_message


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_the_conversation_exports_as_communications_an_ehr_can_import(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    team = make_team(app, session)
    asked = client.post(ME, json=new_message("Is <b>swimming</b> fine?"), headers=team.patient_headers)
    answer = client.post(clinician_path(team.patient), json=new_message("Yes, gently."), headers=team.clinician_headers)
    assert asked.status_code == answer.status_code == 201
    read = {"up_to_id": answer.json()["message"]["id"]}
    assert client.post(f"{ME}/read", json=read, headers=team.patient_headers).status_code == 200

    for kind in ("collection", "transaction"):
        response = client.get(
            f"/api/v1/clinician/patients/{team.patient.id}/export.fhir",
            params={"type": kind},
            headers=team.clinician_headers,
        )
        assert response.status_code == 200, response.text
        assert integrator_failures(response.content) == []
        bundle = response.json()
        Bundle.model_validate(bundle)  # the library reads it back
        urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        patient_url = next(u for u, r in urls.items() if r["resourceType"] == "Patient")
        messages = _resources(bundle, "Communication")
        assert [m["payload"][0]["contentString"] for m in messages] == ["Is <b>swimming</b> fine?", "Yes, gently."]
        from_patient, from_physio = messages
        assert from_patient["sender"]["reference"] == patient_url and "recipient" not in from_patient
        assert "received" not in from_patient
        sender = urls[from_physio["sender"]["reference"]]
        assert sender["resourceType"] == "Practitioner" and sender["name"] == [{"text": "Sam Okafor"}]
        assert from_physio["recipient"] == [{"reference": patient_url}]
        assert from_physio["received"] and from_physio["status"] == "completed"
        assert all(m["subject"]["reference"] == patient_url for m in messages)
        assert "&lt;b&gt;swimming" in from_patient["text"]["div"]  # escaped, never markup
