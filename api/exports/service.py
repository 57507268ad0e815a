"""Build, check and audit a patient's export (shared by the API and the web dashboard)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlmodel import Session

from api.audit import record_audit
from api.config import get_settings
from api.errors import Problem
from api.exports.daily_csv import daily_csv
from api.exports.fhir import BundleType, build_bundle
from api.exports.fhir.checks import ExportCheckFailed, check_bundle_json
from api.exports.record import load_record
from api.models import Patient, User

# The media type names the FHIR version (R4B is 4.3), so a receiver need not guess it.
FHIR_JSON = "application/fhir+json; fhirVersion=4.3"
CSV = "text/csv; charset=utf-8"

_log = structlog.get_logger("api.exports")


@dataclass(frozen=True, slots=True)
class Export:
    body: str
    media_type: str
    filename: str


def _filename(patient: Patient, now: datetime, extension: str) -> str:
    return f"backstep-patient-{patient.id}-{now.date().isoformat()}.{extension}"


def export_fhir(
    session: Session,
    patient: Patient,
    clinician: User,
    now: datetime,
    kind: BundleType = "collection",
    identifier_base: str | None = None,
) -> Export:
    record = load_record(session, patient, now)
    bundle = build_bundle(record, now, identifier_base or get_settings().fhir_identifier_base, kind)
    # Serialised once: the checks read the body that is sent (the Bundle's ``model_dump``
    # in JSON mode is the same data, at the cost of a second walk of some 2,000 elements).
    body = bundle.model_dump_json()
    try:
        check_bundle_json(json.loads(body))
    except ExportCheckFailed as failed:
        _log.error("fhir_export_refused", patient_id=patient.id, problems=len(failed.problems))
        raise Problem(500, "export_check_failed", "the FHIR export failed its own checks; nothing was sent") from failed
    entries = bundle.entry or []
    counts: dict[str, int] = {}
    for entry in entries:
        resource_type = entry.resource.get_resource_type()  # type: ignore[union-attr]
        counts[resource_type] = counts.get(resource_type, 0) + 1
    record_audit(
        session,
        at=now,
        action="export",
        resource=f"patient/{patient.id}/export.fhir",
        actor=clinician,
        patient_id=patient.id,
        detail={"format": "fhir", "type": kind, "resources": counts},
    )
    return Export(
        body,
        FHIR_JSON,
        _filename(patient, now, "fhir.json" if kind == "collection" else f"{kind}.fhir.json"),
    )


def export_csv(session: Session, patient: Patient, clinician: User, now: datetime) -> Export:
    record = load_record(session, patient, now)
    body = daily_csv(record)
    record_audit(
        session,
        at=now,
        action="export",
        resource=f"patient/{patient.id}/export.csv",
        actor=clinician,
        patient_id=patient.id,
        detail={"format": "csv", "rows": body.count("\r\n") - 1},
    )
    return Export(body, CSV, _filename(patient, now, "csv"))
