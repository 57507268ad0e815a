"""FHIR and CSV exports, read back with fhir.resources and the csv module; the exporter's own checks."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session, select

from api.exports.checks import ExportCheckFailed, check_bundle
from api.exports.fhir import LOINC, SNOMED
from api.models import AuditEvent
from tests.clinicians.conftest import DAY1, PAINS, Followed
from tests.clinicians.helpers import CLINICIAN_PATIENTS
from tests.factories import auth


def fhir_export(client: TestClient, app: FastAPI, followed: Followed) -> tuple[Bundle, Any]:
    response = client.get(
        f"{CLINICIAN_PATIENTS}/{followed.patient.id}/export.fhir", headers=auth(app, followed.clinician)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert response.headers["content-disposition"].startswith('attachment; filename="backstep-patient-')
    assert response.headers["cache-control"] == "no-store"
    return Bundle.model_validate_json(response.content), response


def resources(bundle: Bundle, kind: str) -> list[dict[str, Any]]:
    data = bundle.model_dump(mode="json")
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def test_the_fhir_bundle_reads_back_with_codes_values_and_references(
    client: TestClient, app: FastAPI, session: Session, followed: Followed
) -> None:
    bundle, _ = fhir_export(client, app, followed)
    assert bundle.type == "collection"
    data = bundle.model_dump(mode="json")
    kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
    assert kinds == {"Patient": 1, "Observation": 2 * len(PAINS), "QuestionnaireResponse": 3, "CarePlan": 1, "Flag": 2}

    (patient,) = resources(bundle, "Patient")
    assert set(patient) == {"resourceType", "id", "name", "birthDate"}
    assert patient["name"] == [{"text": "Camille"}] and patient["birthDate"] == "1968"
    subject = next(e["fullUrl"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")

    observations = resources(bundle, "Observation")
    back = [o for o in observations if o["bodySite"]["coding"][0]["code"] == "77568009"]
    leg = [o for o in observations if o["bodySite"]["coding"][0]["code"] == "61685007"]
    assert [o["valueInteger"] for o in back] == PAINS
    assert [o["valueInteger"] for o in leg] == [2] * len(PAINS)
    for observation in observations:
        assert {"system": LOINC, "code": "72514-3"}.items() <= observation["code"]["coding"][0].items()
        assert observation["bodySite"]["coding"][0]["system"] == SNOMED
        assert observation["subject"]["reference"] == subject
        # Logged at 19:00 in Paris in February: UTC+1.
        assert re.fullmatch(r"2026-02-\d\dT19:00:\d\d\+01:00", observation["effectiveDateTime"])
    assert back[0]["effectiveDateTime"].startswith(DAY1.isoformat())
    assert {o["code"]["coding"][1]["code"] for o in leg} == {"leg-pain"}

    responses = {r["questionnaire"].rsplit("/", 1)[1]: r for r in resources(bundle, "QuestionnaireResponse")}
    start_back = {i["linkId"]: i for i in responses["start_back"]["item"]}
    assert start_back["q1"]["answer"] == [{"valueBoolean": True}]
    assert start_back["score-total"]["answer"] == [{"valueInteger": 4}]
    assert start_back["score-risk_group"]["answer"][0]["valueCoding"]["code"] == "medium"
    assert {i["linkId"]: i for i in responses["odi"]["item"]}["score-percent"]["answer"] == [{"valueDecimal": 40.0}]
    assert {i["linkId"]: i for i in responses["red_flags"]["item"]}["score-tier"]["answer"][0]["valueCoding"][
        "code"
    ] == "none"

    (plan,) = resources(bundle, "CarePlan")
    assert plan["status"] == "on-hold" and plan["intent"] == "plan"
    assert plan["activity"] and all(a["detail"]["status"] == "on-hold" for a in plan["activity"])
    flags = resources(bundle, "Flag")
    assert sorted(f["code"]["coding"][0]["code"] for f in flags) == ["red_flag_urgent_same_day", "start_back_medium"]

    urls = {e["fullUrl"] for e in data["entry"]}
    assert all(r["subject"]["reference"] in urls for e in data["entry"] if "subject" in (r := e["resource"]))
    check_bundle(bundle)  # the same checks the exporter ran

    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.patient_id == followed.patient.id and event.actor_id == followed.clinician.id
    assert event.detail["format"] == "fhir" and event.detail["resources"]["Observation"] == 2 * len(PAINS)


def test_the_same_record_exports_the_same_identifiers(client: TestClient, app: FastAPI, followed: Followed) -> None:
    first, _ = fhir_export(client, app, followed)
    second, _ = fhir_export(client, app, followed)
    assert [e.fullUrl for e in first.entry or []] == [e.fullUrl for e in second.entry or []]


def test_the_csv_has_one_row_per_local_day(
    client: TestClient, app: FastAPI, session: Session, followed: Followed
) -> None:
    response = client.get(
        f"{CLINICIAN_PATIENTS}/{followed.patient.id}/export.csv", headers=auth(app, followed.clinician)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["date"] for r in rows] == [(DAY1 + timedelta(days=i)).isoformat() for i in range(len(PAINS))]
    assert [int(r["back_pain"]) for r in rows] == PAINS
    assert {r["leg_pain"] for r in rows} == {"2"}
    assert [int(r["sessions"]) for r in rows] == [
        1 if (DAY1 + timedelta(days=i)).weekday() in (0, 2, 4) else 0 for i in range(len(PAINS))
    ]
    assert rows[0]["plan_level"] == "1" and rows[0]["plan_status"] == "active"
    assert rows[-1]["plan_status"] == "paused"
    assert rows[0]["alerts_opened"] == "start_back_medium (routine)"
    assert rows[-1]["alerts_opened"] == "red_flag_urgent_same_day (urgent_same_day)"
    assert all(r["alerts_opened"] == "" for r in rows[1:-1])
    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.resource == f"patient/{followed.patient.id}/export.csv" and event.detail == {
        "format": "csv",
        "rows": 16,
    }


def _broken(bundle: Bundle, change: Any) -> Bundle:
    data = bundle.model_dump(mode="json")
    change(data)
    return Bundle.model_validate(data)


def _first(kind: str) -> Any:
    def pick(data: dict[str, Any]) -> dict[str, Any]:
        return next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind)

    return pick


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _first("Observation")(d)["code"]["coding"][0].update(code="72514-4"), "not coded LOINC"),
        (lambda d: _first("Observation")(d).update(valueInteger=11), "is not an integer 0-10"),
        (lambda d: _first("Observation")(d).update(effectiveDateTime="2026-02-02"), "without a time and offset"),
        (lambda d: _first("Observation")(d).pop("bodySite"), "no SNOMED CT body site"),
        (lambda d: _first("Flag")(d)["subject"].update(reference="urn:uuid:elsewhere"), "not in the bundle"),
        (lambda d: _first("Flag")(d)["code"]["coding"][0].update(code="made_up"), "no known alert rule code"),
        (lambda d: _first("Patient")(d).update(telecom=[{"system": "email", "value": "a@b.c"}]), "carries telecom"),
        (lambda d: _first("Patient")(d).update(birthDate="1968-04-01"), "more precise than a year"),
        (lambda d: _first("QuestionnaireResponse")(d).update(item=[{"linkId": "q1"}]), "no score item"),
        (lambda d: d["entry"].append(d["entry"][0]), "used twice"),
    ],
)
def test_the_exporters_checks_catch_what_the_library_does_not(
    client: TestClient, app: FastAPI, followed: Followed, change: Any, message: str
) -> None:
    bundle, _ = fhir_export(client, app, followed)
    with pytest.raises(ExportCheckFailed) as failed:
        check_bundle(_broken(bundle, change))
    assert any(message in problem for problem in failed.value.problems), failed.value.problems
