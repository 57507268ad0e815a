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
from sqlmodel import Session, col, select

from api.exports.fhir.checks import ExportCheckFailed, check_bundle
from api.exports.fhir.codes import LOINC, SNOMED
from api.models import AuditEvent, PlanDecision
from tests.capture.helpers import ME
from tests.clinicians.conftest import DAY1, PAINS, Followed, local_paris
from tests.clinicians.helpers import CLINICIAN_PATIENTS
from tests.factories import auth, patient_auth


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
    bundle, response = fhir_export(client, app, followed)
    assert response.headers["content-type"] == "application/fhir+json; fhirVersion=4.3"
    assert bundle.type == "collection"
    data = bundle.model_dump(mode="json")
    assert data["identifier"]["system"] == "https://backstep.example/fhir/export"
    kinds = Counter(e["resource"]["resourceType"] for e in data["entry"])
    # 16 days: back and leg pain each day, one-leg weakness on the last; the screening's
    # STarT Back total, subscore and risk; the red-flag tier; ODI percent and band.
    assert kinds["Observation"] == 2 * len(PAINS) + 1 + 3 + 1 + 2
    assert kinds["QuestionnaireResponse"] == 3 and kinds["Questionnaire"] == 3
    assert kinds["Flag"] == 2 and kinds["DetectedIssue"] == 2
    assert kinds["Procedure"] == sum(1 for i in range(len(PAINS)) if (DAY1 + timedelta(days=i)).weekday() in (0, 2, 4))
    assert kinds["Patient"] == 1 and kinds["CarePlan"] == 1 and kinds["Device"] == 1
    assert kinds["Provenance"] >= 2  # assigned, then paused by the red flag
    assert data["entry"][0]["resource"]["resourceType"] == "Patient"

    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"] == [
        {"use": "usual", "system": "https://backstep.example/fhir/patient-id", "value": str(followed.patient.id)}
    ]
    assert patient["name"] == [{"text": "Camille"}] and patient["birthDate"] == "1968"
    subject = data["entry"][0]["fullUrl"]

    observations = resources(bundle, "Observation")

    def primary(o: dict[str, Any]) -> str:
        return str(o["code"]["coding"][0]["code"])

    back = [o for o in observations if primary(o) == "back-pain"]
    leg = [o for o in observations if primary(o) == "leg-pain"]
    assert [o["valueQuantity"]["value"] for o in back] == PAINS
    assert [o["valueQuantity"]["value"] for o in leg] == [2] * len(PAINS)
    for observation in back + leg:
        assert observation["valueQuantity"]["code"] == "{score}"
        assert observation["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert {"system": LOINC, "code": "72514-3"}.items() <= observation["code"]["coding"][1].items()
        assert observation["bodySite"]["coding"][0]["system"] == SNOMED
        assert observation["subject"]["reference"] == subject
        assert observation["performer"] == [{"reference": subject}]
        assert observation["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
        # Logged at 19:00 in Paris in February: UTC+1.
        assert re.fullmatch(r"2026-02-\d\dT19:00:\d\d\+01:00", observation["effectiveDateTime"])
    assert back[0]["effectiveDateTime"].startswith(DAY1.isoformat())
    # An importer keyed on code and time sees back and leg pain as two different results.
    keys = [(primary(o), o["effectiveDateTime"]) for o in observations]
    assert len(keys) == len(set(keys))
    (weakness,) = [o for o in observations if primary(o) == "one_leg_weakness"]
    assert weakness["valueBoolean"] is True and weakness["effectiveDateTime"] == back[-1]["effectiveDateTime"]

    responses = {r["questionnaire"].rsplit("/", 1)[1]: r for r in resources(bundle, "QuestionnaireResponse")}
    start_back = {i["linkId"]: i for i in responses["start_back"]["item"]}
    assert list(start_back) == [f"q{n}" for n in range(1, 10)]
    assert start_back["q1"]["answer"] == [{"valueBoolean": True}]
    odi = [i["linkId"] for i in responses["odi"]["item"]]
    assert odi == sorted(odi, key=lambda link: int(link[1:]))  # s1, s2 ... s10, not s1, s10, s2
    scores = {
        (o["code"]["coding"][0]["code"], o["derivedFrom"][0]["reference"]): o
        for o in observations
        if "derivedFrom" in o
    }
    start_back_url = next(
        e["fullUrl"] for e in data["entry"] if e["resource"].get("questionnaire", "").endswith("start_back")
    )
    assert scores[("91351-7", start_back_url)]["valueQuantity"]["value"] == 4
    # The risk level answers from LOINC's normative list LL3578-3, Backstep's own code beside it.
    risk = scores[("91352-5", start_back_url)]["valueCodeableConcept"]["coding"]
    assert [(coding["system"], coding["code"]) for coding in risk] == [
        ("http://loinc.org", "LA8982-6"),
        (risk[1]["system"], "medium"),
    ]
    assert risk[1]["system"].endswith("start-back-risk-group")
    # LOINC's own names for its terms (loinc.org/91349-1), so a receiver checking displays agrees.
    assert {o["code"]["coding"][0]["display"] for (code, url), o in scores.items() if url == start_back_url} == {
        "Total score [STarT Back]",
        "Distress subscore [STarT Back]",
        "STarT Back Screening risk level",
    }
    assert any(
        o["code"]["coding"][0]["code"] == "odi-percent" and o["valueQuantity"]["value"] == 40.0 for o in observations
    )
    questionnaires = {q["url"] for q in resources(bundle, "Questionnaire")}
    assert {r["questionnaire"] for r in responses.values()} <= questionnaires

    (plan,) = resources(bundle, "CarePlan")
    assert plan["status"] == "on-hold" and plan["intent"] == "plan"
    assert plan["activity"] and all(a["detail"]["status"] == "on-hold" for a in plan["activity"])
    flags = {f["code"]["coding"][0]["code"]: f for f in resources(bundle, "Flag")}
    assert sorted(flags) == ["red_flag_urgent_same_day", "start_back_medium"]
    urgent = flags["red_flag_urgent_same_day"]
    priority = urgent["extension"][0]
    assert priority["url"] == "http://hl7.org/fhir/StructureDefinition/flag-priority"
    assert priority["valueCodeableConcept"]["coding"][0]["code"] == "PH"
    issues = {e["fullUrl"]: e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "DetectedIssue"}
    issue = issues[urgent["extension"][1]["valueReference"]["reference"]]
    weakness_url = next(
        e["fullUrl"]
        for e in data["entry"]
        if e["resource"] is not None
        and e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "one_leg_weakness"
    )
    assert issue["evidence"] == [{"detail": [{"reference": weakness_url}]}]
    medium_issue = issues[flags["start_back_medium"]["extension"][1]["valueReference"]["reference"]]
    assert start_back_url in {d["reference"] for d in medium_issue["evidence"][0]["detail"]}

    urls = {e["fullUrl"] for e in data["entry"]}
    assert all(r["subject"]["reference"] in urls for e in data["entry"] if "subject" in (r := e["resource"]))
    check_bundle(bundle)  # the same checks the exporter ran

    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.patient_id == followed.patient.id and event.actor_id == followed.clinician.id
    assert event.detail["format"] == "fhir" and event.detail["type"] == "collection"
    assert event.detail["resources"]["Observation"] == kinds["Observation"]


def test_a_full_log_exports_every_field_in_fhir_and_csv(
    client: TestClient, app: FastAPI, session: Session, followed: Followed
) -> None:
    """Interference, sleep, steps, activity, a flare and two medication classes, on both exports."""
    at = local_paris(followed.last_day, 20)
    body = {
        "back_pain": 5,
        "interference": 6,
        "sleep_quality": 3,
        "steps": 4200,
        "activity_minutes": 30,
        "flare": True,
        "medications": [{"class": "nsaid"}, {"class": "gabapentinoid"}],
        "symptoms": {"one_leg_weakness": True},
        "client_updated_at": at.isoformat(),
    }
    headers = patient_auth(session, app, followed.patient)
    response = client.put(f"{ME}/pain-logs/{followed.last_day.isoformat()}", json=body, headers=headers)
    assert response.status_code == 200, response.text  # replaces the logged day
    bundle, _ = fhir_export(client, app, followed)
    check_bundle(bundle)
    last = [
        o
        for o in resources(bundle, "Observation")
        if o["effectiveDateTime"].startswith(followed.last_day.isoformat()) and "derivedFrom" not in o
    ]
    values = {
        o["code"]["coding"][0]["code"]: o.get("valueQuantity", {}).get("value", o.get("valueBoolean")) for o in last
    }
    assert values == {
        "back-pain": 5,
        "interference": 6,
        "sleep-quality": 3,
        "steps": 4200,
        "activity-minutes": 30,
        "flare": True,
        "one_leg_weakness": True,
    }
    medications = {
        m["medicationCodeableConcept"]["coding"][0]["code"]: [
            c["system"] for c in m["medicationCodeableConcept"]["coding"]
        ]
        for m in resources(bundle, "MedicationStatement")
    }
    assert medications == {
        "nsaid": ["https://backstep.app/fhir/CodeSystem/medication-class", "http://www.whocc.no/atc"],
        "gabapentinoid": ["https://backstep.app/fhir/CodeSystem/medication-class"],
    }
    assert all("dosage" not in m for m in resources(bundle, "MedicationStatement"))

    response = client.get(
        f"{CLINICIAN_PATIENTS}/{followed.patient.id}/export.csv", headers=auth(app, followed.clinician)
    )
    row = list(csv.DictReader(io.StringIO(response.text)))[-1]
    assert (row["interference"], row["sleep_quality"], row["flare"]) == ("6", "3", "1")
    assert row["medications"] == "gabapentinoid;nsaid" and row["symptoms"] == "one_leg_weakness"


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
    # The same record as the FHIR export: symptoms, flare, sessions' minutes, alert lifecycle.
    assert [r["symptoms"] for r in rows] == [""] * (len(PAINS) - 1) + ["one_leg_weakness"]
    assert {r["flare"] for r in rows} == {"0"} and {r["medications"] for r in rows} == {""}
    assert {r["interference"] for r in rows} == {""} and {r["sleep_quality"] for r in rows} == {""}
    assert [int(r["exercise_minutes"]) for r in rows] == [25 * int(r["sessions"]) for r in rows]
    assert {r["alerts_acknowledged"] for r in rows} == {""} and {r["alerts_resolved"] for r in rows} == {""}
    # Every plan decision on the day it was made, in order, as the FHIR export's Provenance has them.
    decisions = session.exec(
        select(PlanDecision).where(PlanDecision.patient_id == followed.patient.id).order_by(col(PlanDecision.id))
    ).all()
    assert [a for r in rows for a in r["plan_decisions"].split(";") if a] == [d.action for d in decisions]
    assert rows[0]["plan_decisions"].startswith("assign") and rows[-1]["plan_decisions"].endswith("pause")
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


def _pain(data: dict[str, Any]) -> dict[str, Any]:
    return next(
        e["resource"]
        for e in data["entry"]
        if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][0]["code"] == "back-pain"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _pain(d)["code"]["coding"][1].update(code="72514-4"), "not coded LOINC"),
        (lambda d: _pain(d)["valueQuantity"].update(value=11), "within 0-10"),
        (lambda d: _pain(d).pop("valueQuantity"), "without a UCUM {score}"),
        (lambda d: _pain(d).update(effectiveDateTime="2026-02-02"), "without a time and offset"),
        (lambda d: _pain(d).pop("bodySite"), "no SNOMED CT body site"),
        (lambda d: _pain(d).pop("performer"), "not the performer"),
        (lambda d: _pain(d).pop("text"), "no narrative"),
        (lambda d: _first("Flag")(d)["subject"].update(reference="urn:uuid:elsewhere"), "not in the bundle"),
        (lambda d: _first("Flag")(d)["code"]["coding"][0].update(code="made_up"), "no known alert rule code"),
        (lambda d: _first("Flag")(d)["extension"].pop(0), "no standard priority"),
        (lambda d: _first("Flag")(d)["extension"].pop(1), "no detail"),
        (lambda d: _first("Patient")(d).update(telecom=[{"system": "email", "value": "a@b.c"}]), "carries telecom"),
        (lambda d: _first("Patient")(d).pop("identifier"), "no identifier"),
        (lambda d: _first("Patient")(d).update(birthDate="1968-04-01"), "more precise than a year"),
        (
            lambda d: _first("QuestionnaireResponse")(d)["item"].append(
                {"linkId": "score-total", "answer": [{"valueInteger": 4}]}
            ),
            "computed score among the answers",
        ),
        (lambda d: _first("QuestionnaireResponse")(d).update(questionnaire="https://x.example/Q"), "not in the bundle"),
        (lambda d: _first("CarePlan")(d)["activity"][0]["detail"]["code"]["coding"][0].update(code="nope"), "not in"),
        (
            lambda d: d["entry"].remove(next(e for e in d["entry"] if e["resource"]["resourceType"] == "CodeSystem")),
            "not in the bundle",
        ),
        (lambda d: d["entry"].append(d["entry"][0]), "used twice"),
        (lambda d: d["entry"][0].update(request={"method": "POST", "url": "Patient"}), "request present or missing"),
    ],
)
def test_the_exporters_checks_catch_what_the_library_does_not(
    client: TestClient, app: FastAPI, followed: Followed, change: Any, message: str
) -> None:
    bundle, _ = fhir_export(client, app, followed)
    with pytest.raises(ExportCheckFailed) as failed:
        check_bundle(_broken(bundle, change))
    assert any(message in problem for problem in failed.value.problems), failed.value.problems
