"""``PUT``/``GET``/``DELETE /clinician/patients/{patient_id}/identifier``: the patient's external identifier.

The clinic records one identifier the patient has elsewhere (a national health number, a
hospital number), with the URI of its system, so a receiving EHR can match the FHIR export
to its own patient (``Patient.identifier``, ``use`` ``official``). Care team only; every
change is audited with the system but never the value (the value identifies a person); the
row goes with the patient on erasure (foreign key cascade).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import Field

from api.audit import record_audit
from api.deps import CurrentClinician, NowDep, PatientInCare, SessionDep, SettingsDep
from api.errors import Problem
from api.models import PatientIdentifier, User
from api.schemas import Public, StrictInput

router = APIRouter(prefix="/clinician/patients/{patient_id}", tags=["clinician"])

# An absolute http(s) URI or an OID URN: what FHIR's Identifier.system takes in practice.
_SYSTEM = r"^(https?://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?|urn:oid:[0-2](\.(0|[1-9][0-9]*))+)$"
# Letters, digits and the separators national numbers use; no spaces or control characters.
_VALUE = r"^[A-Za-z0-9](?:[A-Za-z0-9.\-/]{0,62}[A-Za-z0-9])?$"


class PatientIdentifierIn(StrictInput):
    system: str = Field(
        max_length=200,
        pattern=_SYSTEM,
        description="URI of the identifier's system, e.g. `https://fhir.nhs.uk/Id/nhs-number` or "
        "`urn:oid:1.2.250.1.213.1.4.8`",
        examples=["https://fhir.nhs.uk/Id/nhs-number"],
    )
    value: str = Field(max_length=64, pattern=_VALUE, description="the identifier as issued", examples=["9434765919"])


class PatientIdentifierPublic(Public):
    system: str
    value: str
    updated_at: datetime


def _audit(session: SessionDep, clinician: User, patient_id: int, now: datetime, action: str, system: str) -> None:
    record_audit(
        session,
        at=now,
        action=action,
        resource=f"patient/{patient_id}/identifier",
        actor=clinician,
        patient_id=patient_id,
        detail={"system": system},
    )


@router.get(
    "/identifier",
    response_model=PatientIdentifierPublic,
    responses={404: {"description": "not in your care, or no identifier recorded"}},
)
def get_patient_identifier(patient: PatientInCare, session: SessionDep) -> PatientIdentifierPublic:
    """The external identifier recorded for the patient (404 if none)."""
    row = session.get(PatientIdentifier, patient.id)
    if row is None:
        raise Problem(404, "not_found", "no identifier recorded for this patient")
    return PatientIdentifierPublic.model_validate(row, from_attributes=True)


@router.put("/identifier", response_model=PatientIdentifierPublic)
def put_patient_identifier(
    body: PatientIdentifierIn,
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> PatientIdentifierPublic:
    """Record or replace the patient's external identifier (exported as `Patient.identifier`)."""
    assert patient.id is not None
    own = settings.fhir_identifier_base.rstrip("/")
    if body.system == own or body.system.startswith(own + "/"):
        errors = [{"loc": ["body", "system"], "msg": "this deployment's own identifier namespace"}]
        raise Problem(422, "validation_error", "invalid fields: system", errors=errors)
    row = session.get(PatientIdentifier, patient.id)
    if row is None:
        row = PatientIdentifier(patient_id=patient.id, system=body.system, value=body.value, updated_at=now)
    row.system, row.value, row.updated_by, row.updated_at = body.system, body.value, clinician.id, now
    session.add(row)
    session.flush()
    _audit(session, clinician, patient.id, now, "identifier_set", body.system)
    return PatientIdentifierPublic.model_validate(row, from_attributes=True)


@router.delete("/identifier", status_code=204, response_class=Response)
def delete_patient_identifier(
    patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> Response:
    """Remove the patient's external identifier (no content; 404 if none was recorded)."""
    assert patient.id is not None
    row = session.get(PatientIdentifier, patient.id)
    if row is None:
        raise Problem(404, "not_found", "no identifier recorded for this patient")
    session.delete(row)
    session.flush()
    _audit(session, clinician, patient.id, now, "identifier_removed", row.system)
    return Response(status_code=204)
