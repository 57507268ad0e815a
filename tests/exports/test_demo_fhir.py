"""Every demo patient's FHIR export, checked as an EHR integrator would (tests/exports/integrator.py).

The demo clinic (``backstep seed-demo``: 36 patients, every rule, tier, alert status and
plan decision) is seeded once per database; each patient is exported through the API by
their physiotherapist, as a ``collection`` and as a ``transaction``, and each Bundle must
validate against the official HL7 FHIR JSON Schema with 0 errors, round-trip through
``fhir.resources`` R4B and pass the core invariants, references and canonicals.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.rules.types import RuleCode
from api.seed import CLINICIAN_PASSWORD, CLINICIANS, DEMO_DOMAIN, seed_demo
from tests.exports.integrator import integrator_failures

pytestmark = pytest.mark.slow


def _exports(client: TestClient, kind: str) -> dict[str, dict[str, Any]]:
    bundles: dict[str, dict[str, Any]] = {}
    for key, _ in CLINICIANS:
        login = client.post(
            "/api/v1/auth/login", json={"email": f"{key}@{DEMO_DOMAIN}", "password": CLINICIAN_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for row in client.get("/api/v1/clinician/patients", headers=headers).json()["items"]:
            response = client.get(
                f"/api/v1/clinician/patients/{row['patient_id']}/export.fhir", params={"type": kind}, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/fhir+json; fhirVersion=4.3"
            failures = integrator_failures(response.content)
            assert not failures, (row["patient_id"], failures[:20])
            bundles[str(row["patient_id"])] = json.loads(response.content)
    return bundles


def _csv_rows(client: TestClient) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for key, _ in CLINICIANS:
        login = client.post(
            "/api/v1/auth/login", json={"email": f"{key}@{DEMO_DOMAIN}", "password": CLINICIAN_PASSWORD}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for row in client.get("/api/v1/clinician/patients", headers=headers).json()["items"]:
            response = client.get(f"/api/v1/clinician/patients/{row['patient_id']}/export.csv", headers=headers)
            assert response.status_code == 200
            rows.extend(csv.DictReader(io.StringIO(response.text)))
    return rows


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_every_demo_patient_exports_a_bundle_an_ehr_can_import(settings: Settings, client: TestClient) -> None:
    lines = list(seed_demo(settings))  # a generator: the clinic is seeded as it is consumed
    assert lines[0] == "demo clinic created"
    collections = _exports(client, "collection")
    assert len(collections) == 36

    kinds = Counter(e["resource"]["resourceType"] for b in collections.values() for e in b["entry"])
    assert set(kinds) == {
        "Patient",
        "Device",
        "Practitioner",
        "Observation",
        "MedicationStatement",
        "Procedure",
        "QuestionnaireResponse",
        "Questionnaire",
        "CarePlan",
        "Provenance",
        "DetectedIssue",
        "Flag",
        "Communication",
        "CodeSystem",
    }
    rules_with_evidence: set[str] = set()
    statuses: set[tuple[str, bool, bool]] = set()
    for bundle in collections.values():
        assert bundle["type"] == "collection" and bundle["entry"][0]["resource"]["resourceType"] == "Patient"
        # Importers keyed on code and time: no two results share both.
        keys = [
            (o["code"]["coding"][0]["system"], o["code"]["coding"][0]["code"], o["effectiveDateTime"])
            for o in _resources(bundle, "Observation")
        ]
        assert len(keys) == len(set(keys))
        for plan in _resources(bundle, "CarePlan"):
            assert plan["status"] != "completed" or "end" in plan["period"]
        issues = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        for flag in _resources(bundle, "Flag"):
            issue = issues[flag["extension"][1]["valueReference"]["reference"]]
            rule = flag["code"]["coding"][0]["code"]
            actions = {m["action"]["coding"][0]["code"] for m in issue.get("mitigation", [])}
            statuses.add((flag["status"], "acknowledged" in actions, "resolved" in actions))
            assert (flag["status"] == "inactive") == ("resolved" in actions) == ("end" in flag["period"])
            assert all("author" in m for m in issue.get("mitigation", []))
            if issue.get("evidence"):
                rules_with_evidence.add(rule)
    # Every rule points at what triggered it, except ``silent`` (its evidence is an absence of logs).
    raised = {f["code"]["coding"][0]["code"] for b in collections.values() for f in _resources(b, "Flag")}
    assert raised == {str(r) for r in RuleCode}
    assert rules_with_evidence == raised - {RuleCode.SILENT}
    # New, acknowledged and resolved alerts are told apart.
    assert {("active", False, False), ("active", True, False), ("inactive", True, True)} <= statuses

    transactions = _exports(client, "transaction")
    for patient_id, bundle in transactions.items():
        assert bundle["type"] == "transaction"
        assert [e["fullUrl"] for e in bundle["entry"]] == [e["fullUrl"] for e in collections[patient_id]["entry"]]
        conditions = [e["request"].get("ifNoneExist") for e in bundle["entry"]]
        assert all(e["request"]["method"] == "POST" for e in bundle["entry"])
        # Every entry but Provenance (no identifier in R4B) is a conditional create, each on its own key.
        unconditional = [e["resource"]["resourceType"] for e in bundle["entry"] if "ifNoneExist" not in e["request"]]
        assert set(unconditional) <= {"Provenance"}
        present = [c for c in conditions if c]
        assert len(present) == len(set(present))
        patient = bundle["entry"][0]
        assert patient["request"]["ifNoneExist"] == (
            f"identifier=https://backstep.example/fhir/patient-id|{patient['resource']['identifier'][0]['value']}"
        )

    # The CSV carries the same record: alert lifecycle, symptoms, medications, flares, plan decisions.
    rows = _csv_rows(client)
    for column in ("alerts_acknowledged", "alerts_resolved", "symptoms", "medications", "plan_decisions"):
        assert any(r[column] for r in rows), column
    assert any(r["flare"] == "1" for r in rows)
    # Every plan decision is in both: one Provenance each in FHIR, one action code each in the CSV.
    decided = [a for r in rows for a in r["plan_decisions"].split(";") if a]
    assert len(decided) == sum(len(_resources(b, "Provenance")) for b in collections.values()) > 0
