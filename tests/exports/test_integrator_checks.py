"""The integrator's checks themselves catch what they claim to (so a green demo test means something)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.exports.integrator import integrator_failures

DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div>'
PATIENT = "urn:uuid:00000000-0000-4000-8000-000000000001"
OBSERVATION = "urn:uuid:00000000-0000-4000-8000-000000000002"
FLAG = "urn:uuid:00000000-0000-4000-8000-000000000003"

GOOD: dict[str, Any] = {
    "resourceType": "Bundle",
    "id": "00000000-0000-4000-8000-000000000000",
    "type": "collection",
    "entry": [
        {
            "fullUrl": PATIENT,
            "resource": {
                "resourceType": "Patient",
                "id": PATIENT.removeprefix("urn:uuid:"),
                "text": {"status": "generated", "div": DIV},
            },
        },
        {
            "fullUrl": OBSERVATION,
            "resource": {
                "resourceType": "Observation",
                "id": OBSERVATION.removeprefix("urn:uuid:"),
                "text": {"status": "generated", "div": DIV},
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                "subject": {"reference": PATIENT},
                "valueQuantity": {"value": 3, "system": "http://unitsofmeasure.org", "code": "{score}"},
            },
        },
        {
            "fullUrl": FLAG,
            "resource": {
                "resourceType": "Flag",
                "id": FLAG.removeprefix("urn:uuid:"),
                "text": {"status": "generated", "div": DIV},
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/flag-priority",
                        "valueCodeableConcept": {
                            "coding": [{"system": "http://hl7.org/fhir/flag-priority-code", "code": "PH"}]
                        },
                    }
                ],
                "status": "active",
                "code": {"text": "x"},
                "subject": {"reference": PATIENT},
            },
        },
    ],
}


def _entry(data: dict[str, Any], n: int) -> dict[str, Any]:
    resource: dict[str, Any] = data["entry"][n]["resource"]
    return resource


def test_a_clean_bundle_passes() -> None:
    assert integrator_failures(json.dumps(GOOD)) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: _entry(d, 1).update(dataAbsentReason={"text": "x"}), "obs-6"),
        (lambda d: _entry(d, 2)["extension"][0].pop("valueCodeableConcept"), "ext-1"),
        (lambda d: _entry(d, 2).update(period={"start": "2026-02-02", "end": "2026-02-01"}), "per-1"),
        (lambda d: _entry(d, 1)["valueQuantity"].pop("system"), "qty-3"),
        (lambda d: _entry(d, 1).pop("text"), "dom-6"),
        (lambda d: _entry(d, 1)["subject"].update(reference="urn:uuid:nowhere"), "does not resolve"),
        (lambda d: _entry(d, 1).update(text={"status": "generated", "div": "<div>x</div>"}), "narrative root"),
        (
            lambda d: _entry(d, 1).update(
                text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><script/></div>'}
            ),
            "markup beyond",
        ),
        (lambda d: d["entry"][1].update(request={"method": "POST", "url": "Observation"}), "bdl-3"),
        (lambda d: _entry(d, 1).update(note=[]), "empty element"),
        (
            lambda d: _entry(d, 1)["code"]["coding"].append(
                {"system": "https://backstep.app/fhir/CodeSystem/x", "code": "y"}
            ),
            "does not resolve",
        ),
        (lambda d: d["entry"][1].update(fullUrl=PATIENT), "fullUrl and id disagree"),
        # The HL7 JSON Schema: a code outside a required binding, a malformed date.
        (lambda d: _entry(d, 1).update(status="done"), "Observation/00000000-0000-4000-8000-000000000002: schema"),
        (lambda d: _entry(d, 0).update(birthDate="1980-13"), "Patient/00000000-0000-4000-8000-000000000001: schema"),
        (lambda d: d.update(type="pile"), "Bundle: schema"),
    ],
)
def test_each_check_catches_its_fault(change: Callable[[dict[str, Any]], None], message: str) -> None:
    data = copy.deepcopy(GOOD)
    change(data)
    failures = integrator_failures(json.dumps(data))
    assert any(message in failure for failure in failures), failures
