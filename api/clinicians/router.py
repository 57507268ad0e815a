from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import APIRouter, Response, status
from sqlmodel import select

from api.audit import record_audit
from api.clinicians.schemas import InvitePublic
from api.deps import CurrentClinician, NowDep, SessionDep, SettingsDep
from api.errors import Problem
from api.idempotency import IdempotencyDep
from api.models import ClinicMember, Invite

router = APIRouter(prefix="/clinician", tags=["clinician"])

# No 0/O, 1/I/L: codes are read out over the phone and typed on a phone keyboard.
_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@router.post("/invites", status_code=status.HTTP_201_CREATED, response_model=InvitePublic)
def create_invite(
    clinician: CurrentClinician, session: SessionDep, settings: SettingsDep, now: NowDep, idempotency: IdempotencyDep
) -> InvitePublic | Response:
    """A single-use code that joins a registering patient to this clinician's care team."""
    if (replay := idempotency.begin(None)) is not None:
        return replay
    membership = session.exec(select(ClinicMember).where(ClinicMember.user_id == clinician.id)).first()
    if membership is None:
        raise Problem(409, "no_clinic", "this clinician account belongs to no clinic")
    assert clinician.id is not None
    code = "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(10))
    invite = Invite(
        code=code,
        clinic_id=membership.clinic_id,
        clinician_id=clinician.id,
        created_at=now,
        expires_at=now + timedelta(days=settings.invite_days),
    )
    session.add(invite)
    session.flush()
    record_audit(session, at=now, action="create", resource=f"invite/{invite.id}", actor=clinician)
    return idempotency.complete(201, InvitePublic(code=f"{code[:5]}-{code[5:]}", expires_at=invite.expires_at))
