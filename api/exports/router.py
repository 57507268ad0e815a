"""``GET /clinician/patients/{patient_id}/export.fhir`` and ``/export.csv`` (care team only, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep
from api.exports.download import download
from api.exports.service import FHIR_JSON, export_csv, export_fhir

router = APIRouter(prefix="/clinician/patients/{patient_id}", tags=["clinician"])


def _content(media_type: str, schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": schema}}, "description": description}}


class FhirResource(BaseModel):
    """One FHIR R4B resource; every element beyond ``resourceType`` and ``id`` is FHIR's own."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)

    resourceType: Literal["Patient", "Observation", "QuestionnaireResponse", "CarePlan", "Flag"]
    id: str


class FhirBundleEntry(BaseModel):
    fullUrl: str = Field(description="`urn:uuid:` URL, stable across exports; references point at it")
    resource: FhirResource


class FhirBundle(BaseModel):
    """A FHIR R4B ``collection`` Bundle: the Patient first, then pain Observations,
    QuestionnaireResponses, the CarePlan and a Flag per open alert."""

    resourceType: Literal["Bundle"]
    id: str
    type: Literal["collection"]
    timestamp: datetime = Field(description="when the export was made, in the patient's UTC offset")
    entry: list[FhirBundleEntry]


class FhirJsonResponse(JSONResponse):
    """Names the media type in the OpenAPI document; the handler sends the checked body as is."""

    media_type = FHIR_JSON


@router.get(
    "/export.fhir",
    response_class=FhirJsonResponse,
    response_model=None,
    responses={200: {"model": FhirBundle, "description": "a FHIR R4B Bundle (collection) of the patient's record"}},
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
