"""Clinician endpoints: invites here; the patient list, summaries and exports from their modules."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.clinicians.invites import new_invite, shown_code
from api.clinicians.patients_router import router as patients_router
from api.clinicians.schemas import InvitePublic
from api.deps import CurrentClinician, NowDep, SessionDep, SettingsDep
from api.exports.router import router as exports_router
from api.idempotency import IdempotencyDep

router = APIRouter(prefix="/clinician", tags=["clinician"])


@router.post("/invites", status_code=status.HTTP_201_CREATED, response_model=InvitePublic)
def create_invite(
    clinician: CurrentClinician, session: SessionDep, settings: SettingsDep, now: NowDep, idempotency: IdempotencyDep
) -> InvitePublic | Response:
    """A single-use code that joins a registering patient to this clinician's care team."""
    if (replay := idempotency.begin(None)) is not None:
        return replay
    invite = new_invite(session, clinician, now, settings)
    return idempotency.complete(201, InvitePublic(code=shown_code(invite), expires_at=invite.expires_at))


router.include_router(patients_router)
router.include_router(exports_router)
