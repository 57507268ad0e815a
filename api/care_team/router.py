"""Admin API of the unassigned-patients queue: list it, assign a clinician (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from api.audit import record_audit_for_patients
from api.care_team.schemas import CareTeamPublic
from api.care_team.service import assign_clinician
from api.care_team.unassigned import UnassignedPatientPublic, unassigned_page
from api.deps import CurrentAdmin, NowDep, RowIdPath, SessionDep
from api.errors import not_found
from api.models import Patient
from api.schemas import Limit, Page, Public, RowIdInput, StrictInput

router = APIRouter(prefix="/admin", tags=["admin"])

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"content": {"application/problem+json": {}}} for code in (403, 404, 422)
}


class CareTeamAssign(StrictInput):
    clinician_id: RowIdInput = Field(description="an active clinician; of the patient's clinic if they have one")


class CareTeamAssigned(Public):
    patient_id: int
    clinic_id: int | None
    care_team: CareTeamPublic
    alerts_notified: int = Field(description="unresolved emergency/urgent alerts sent to the new care team now")


@router.get("/unassigned-patients", response_model=Page[UnassignedPatientPublic], responses=_PROBLEMS)
def list_unassigned(
    admin: CurrentAdmin,
    session: SessionDep,
    now: NowDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[UnassignedPatientPublic]:
    """Patients no active clinician follows, most urgent unresolved alert first, with those alerts.

    Their alerts are sent to every active admin (and re-sent while unacknowledged);
    assign a clinician to hand them to a care team. Every patient shown is audited.
    """
    page = unassigned_page(session, limit=limit, cursor=cursor)
    record_audit_for_patients(
        session,
        at=now,
        action="list_unassigned",
        resource="admin/unassigned-patients",
        actor=admin,
        patient_ids=[row.patient_id for row in page.rows],
    )
    return Page[UnassignedPatientPublic](items=page.rows, next_cursor=page.next_cursor)


@router.post(
    "/patients/{patient_id}/care-team",
    response_model=CareTeamAssigned,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": CareTeamAssigned, "description": "already in the care team"}, **_PROBLEMS},
)
def assign_care_team(
    patient_id: RowIdPath,
    body: CareTeamAssign,
    admin: CurrentAdmin,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> CareTeamAssigned:
    """Add a clinician to the patient's care team (audited): 201, or 200 when already a member.

    A patient without a clinic joins the clinician's; a clinician of another clinic than
    the patient's is refused. The patient's unresolved emergency and urgent alerts go to
    the new care team at once.
    """
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise not_found("patient")
    assigned = assign_clinician(session, admin, patient, body.clinician_id, now)
    if not assigned.added:
        response.status_code = status.HTTP_200_OK
    return CareTeamAssigned(
        patient_id=patient_id,
        clinic_id=patient.clinic_id,
        care_team=assigned.care_team,
        alerts_notified=assigned.alerts_notified,
    )
