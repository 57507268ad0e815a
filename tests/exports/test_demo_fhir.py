"""Every demo patient's FHIR export, checked as an EHR integrator would (tests/exports/integrator.py).

The demo clinic (``backstep seed-demo``: 36 patients, every rule, tier, alert status and
plan decision) is seeded once per database (and per pytest-xdist worker that runs some of
these tests); each patient is exported through the API by their physiotherapist, as a
``collection`` and as a ``transaction``, and each Bundle must validate against the
official HL7 FHIR JSON Schema with 0 errors, round-trip through ``fhir.resources`` R4B and
pass the core invariants, references and canonicals. One test per patient, so the workers
share the checking; one more on what the whole clinic's exports cover together.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.demo.caseload import CASELOAD
from api.demo.stories import STORIES
from api.main import create_app
from api.models import Patient, User
from api.rules.types import RuleCode
from api.seed import CLINICIAN_PASSWORD, CLINICIANS, DEMO_DOMAIN, seed_demo
from tests.conftest import Backend, fresh_database, test_settings
from tests.exports.integrator import integrator_failures

pytestmark = pytest.mark.slow

PATIENT_KEYS = [story.key for story in (*STORIES, *CASELOAD)]


@dataclass
class DemoClinic:
    client: TestClient
    # Each demo patient (by the e-mail's local part) with the headers of their physiotherapist,
    # as the physiotherapists' own lists give them.
    patients: dict[str, tuple[int, dict[str, str]]]
    # Each export made (patient key, bundle type), already checked by the integrator.
    bodies: dict[tuple[str, str], bytes] = field(default_factory=dict)

    def export(self, key: str, kind: str) -> bytes:
        """The patient's Bundle through the API, checked as an integrator would (once per worker)."""
        if (key, kind) not in self.bodies:
            patient_id, headers = self.patients[key]
            response = self.client.get(
                f"/api/v1/clinician/patients/{patient_id}/export.fhir", params={"type": kind}, headers=headers
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/fhir+json; fhirVersion=4.3"
            failures = integrator_failures(response.content)
            assert not failures, (key, kind, failures[:20])
            self.bodies[key, kind] = response.content
        return self.bodies[key, kind]


@pytest.fixture(scope="module")
def demo(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoClinic]:
    settings = test_settings(fresh_database(backend, tmp_path_factory.mktemp("demo")))
    lines = list(seed_demo(settings))  # a generator: the clinic is seeded as it is consumed
    assert lines[0] == "demo clinic created"
    app = create_app(settings)
    with Session(app.state.engine) as session:
        emails = dict(session.exec(select(Patient.id, User.email).join(User, col(User.id) == Patient.user_id)).all())
    with TestClient(app) as client:
        patients: dict[str, tuple[int, dict[str, str]]] = {}
        for key, _ in CLINICIANS:
            login = client.post(
                "/api/v1/auth/login", json={"email": f"{key}@{DEMO_DOMAIN}", "password": CLINICIAN_PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            for row in client.get("/api/v1/clinician/patients", headers=headers).json()["items"]:
                email = emails[row["patient_id"]]
                assert email.endswith(f"@{DEMO_DOMAIN}")
                patients[email.removesuffix(f"@{DEMO_DOMAIN}")] = (row["patient_id"], headers)
        # Every demo patient is on a physiotherapist's list, and is tested below.
        assert sorted(patients) == sorted(PATIENT_KEYS) and len(patients) == 36
        yield DemoClinic(client, patients)


def _csv_rows(demo: DemoClinic) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for patient_id, headers in demo.patients.values():
        response = demo.client.get(f"/api/v1/clinician/patients/{patient_id}/export.csv", headers=headers)
        assert response.status_code == 200
        rows.extend(csv.DictReader(io.StringIO(response.text)))
    return rows


def _resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.mark.parametrize("key", PATIENT_KEYS)
def test_the_demo_patient_exports_bundles_an_ehr_can_import(demo: DemoClinic, key: str) -> None:
    collection = json.loads(demo.export(key, "collection"))
    assert collection["type"] == "collection" and collection["entry"][0]["resource"]["resourceType"] == "Patient"
    # Importers keyed on code and time: no two results share both.
    keys = [
        (o["code"]["coding"][0]["system"], o["code"]["coding"][0]["code"], o["effectiveDateTime"])
        for o in _resources(collection, "Observation")
    ]
    assert len(keys) == len(set(keys))
    for plan in _resources(collection, "CarePlan"):
        assert plan["status"] != "completed" or "end" in plan["period"]
    issues = {e["fullUrl"]: e["resource"] for e in collection["entry"]}
    for flag in _resources(collection, "Flag"):
        issue = issues[flag["extension"][1]["valueReference"]["reference"]]
        actions = {m["action"]["coding"][0]["code"] for m in issue.get("mitigation", [])}
        assert (flag["status"] == "inactive") == ("resolved" in actions) == ("end" in flag["period"])
        assert all("author" in m for m in issue.get("mitigation", []))

    bundle = json.loads(demo.export(key, "transaction"))
    assert bundle["type"] == "transaction"
    assert [e["fullUrl"] for e in bundle["entry"]] == [e["fullUrl"] for e in collection["entry"]]
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


def test_the_demo_exports_together_show_every_resource_rule_and_alert_status(demo: DemoClinic) -> None:
    """What the clinic's exports show together (each one is checked by the test above: the
    exports this worker has not made yet are made, and checked, here)."""
    collections = {key: json.loads(demo.export(key, "collection")) for key in PATIENT_KEYS}
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
        issues = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
        for flag in _resources(bundle, "Flag"):
            issue = issues[flag["extension"][1]["valueReference"]["reference"]]
            rule = flag["code"]["coding"][0]["code"]
            actions = {m["action"]["coding"][0]["code"] for m in issue.get("mitigation", [])}
            statuses.add((flag["status"], "acknowledged" in actions, "resolved" in actions))
            if issue.get("evidence"):
                rules_with_evidence.add(rule)
    # Every rule points at what triggered it, except ``silent`` (its evidence is an absence of logs).
    raised = {f["code"]["coding"][0]["code"] for b in collections.values() for f in _resources(b, "Flag")}
    assert raised == {str(r) for r in RuleCode}
    assert rules_with_evidence == raised - {RuleCode.SILENT}
    # New, acknowledged and resolved alerts are told apart.
    assert {("active", False, False), ("active", True, False), ("inactive", True, True)} <= statuses

    # The CSV carries the same record: alert lifecycle, symptoms, medications, flares, plan decisions.
    rows = _csv_rows(demo)
    for column in ("alerts_acknowledged", "alerts_resolved", "symptoms", "medications", "plan_decisions"):
        assert any(r[column] for r in rows), column
    assert any(r["flare"] == "1" for r in rows)
    # Every plan decision is in both: one Provenance each in FHIR, one action code each in the CSV.
    decided = [a for r in rows for a in r["plan_decisions"].split(";") if a]
    assert len(decided) == sum(len(_resources(b, "Provenance")) for b in collections.values()) > 0
