"""``GET /clinician/patients/{patient_id}/export.fhir`` and ``/export.csv`` (care team only, audited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep
from api.exports.service import FHIR_JSON, Export, export_csv, export_fhir

# Included by api.clinicians.router under its "/clinician" prefix.
router = APIRouter(prefix="/patients/{patient_id}", tags=["clinician"])


def download(export: Export) -> Response:
    return Response(
        export.body,
        media_type=export.media_type,
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"', "Cache-Control": "no-store"},
    )


def _content(media_type: str, schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": schema}}, "description": description}}


_BUNDLE = {
    "type": "object",
    "required": ["resourceType", "type"],
    "properties": {"resourceType": {"const": "Bundle"}, "type": {"const": "collection"}, "entry": {"type": "array"}},
}


@router.get(
    "/export.fhir",
    response_class=Response,
    responses=_content(FHIR_JSON, _BUNDLE, "a FHIR R4B Bundle (collection) of the patient's record"),
)
def export_patient_fhir(
    patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> Response:
    """The patient's record as a FHIR R4B Bundle: Patient, pain Observations (LOINC 72514-3,
    back and leg), a QuestionnaireResponse per screening, the CarePlan and a Flag per open alert."""
    return download(export_fhir(session, patient, clinician, now))


@router.get(
    "/export.csv",
    response_class=Response,
    responses=_content("text/csv", {"type": "string"}, "one row per local day from programme start to today"),
)
def export_patient_csv(
    patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> Response:
    """Day by day: date, back pain, leg pain, sessions done, plan level and status, alerts opened."""
    return download(export_csv(session, patient, clinician, now))
