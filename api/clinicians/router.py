"""Clinician endpoints: invites.

The patient list and records (``api.clinicians.patients_router``) and the exports
(``api.exports.router``) are included by ``api.main`` right after this router: no router
includes or imports another, so the exports domain never depends on the clinicians one.
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.clinicians.invites import new_invite, shown_code
from api.clinicians.schemas import InvitePublic
from api.deps import CurrentClinician, NowDep, SessionDep, SettingsDep
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
