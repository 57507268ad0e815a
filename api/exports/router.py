"""``GET /clinician/patients/{patient_id}/export.fhir`` and ``/export.csv`` (care team only, audited)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep, SettingsDep
from api.exports.download import download
from api.exports.fhir.checks import ResourceType
from api.exports.service import FHIR_JSON, export_csv, export_fhir

router = APIRouter(prefix="/clinician/patients/{patient_id}", tags=["clinician"])


def _content(media_type: str, schema: dict[str, Any], description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": schema}}, "description": description}}


class FhirResource(BaseModel):
    """One FHIR R4B resource; every element beyond ``resourceType`` and ``id`` is FHIR's own."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)

    resourceType: ResourceType
    id: str
    text: dict[str, str] = Field(description="generated XHTML narrative")


class FhirBundleEntry(BaseModel):
    """In a ``transaction`` Bundle each entry also has FHIR's ``request``: ``POST`` with
    ``ifNoneExist`` (a conditional create on the identifier, or ``url`` for CodeSystem and
    Questionnaire; Provenance, which has no identifier, is posted as is)."""

    model_config = ConfigDict(extra="allow")

    fullUrl: str = Field(description="`urn:uuid:` URL, stable across exports; references point at it")
    resource: FhirResource


class FhirIdentifier(BaseModel):
    system: str
    value: str


class FhirBundle(BaseModel):
    """A FHIR R4B Bundle (docs/fhir.md): the Patient first, the rules engine and clinicians,
    Observations, MedicationStatements, Procedures, QuestionnaireResponses, the CarePlan
    and its Provenance, a Flag and DetectedIssue per alert, then the Questionnaires and
    CodeSystems they use."""

    resourceType: Literal["Bundle"]
    id: str
    identifier: FhirIdentifier
    type: Literal["collection", "transaction"]
    timestamp: datetime = Field(description="when the export was made, in the patient's UTC offset")
    entry: list[FhirBundleEntry]


class FhirJsonResponse(JSONResponse):
    """Names the media type in the OpenAPI document; the handler sends the checked body as is."""

    media_type = FHIR_JSON


@router.get(
    "/export.fhir",
    response_class=FhirJsonResponse,
    response_model=None,
    responses={200: {"model": FhirBundle, "description": "a FHIR R4B Bundle of the patient's whole record"}},
)
def export_patient_fhir(
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    bundle_type: Literal["collection", "transaction"] = Query(
        default="collection",
        alias="type",
        description="`collection` to read or archive; `transaction` to POST to a FHIR server's base "
        "(conditional creates on the identifiers: importing twice creates nothing twice)",
    ),
) -> Response:
    """The patient's whole record as a FHIR R4B Bundle (`application/fhir+json; fhirVersion=4.3`):
    Patient with its identifiers, pain, symptom, sleep, interference and flare Observations,
    medications by class, exercise sessions, screenings with their scores, the CarePlan with
    its decision history, every alert with its evidence and lifecycle (docs/fhir.md)."""
    return download(export_fhir(session, patient, clinician, now, bundle_type, settings.fhir_identifier_base))


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
