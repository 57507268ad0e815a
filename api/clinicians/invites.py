"""Invite codes: single-use codes that join a registering patient to a clinician's care team."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, select

from api.audit import record_audit
from api.config import Settings
from api.errors import Problem
from api.models import ClinicMember, Invite, User

# No 0/O, 1/I/L: codes are read out over the phone and typed on a phone keyboard.
_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def shown_code(invite: Invite) -> str:
    """The code as a person reads it, in two groups (registration accepts it with or without the dash)."""
    return f"{invite.code[:5]}-{invite.code[5:]}"


def new_invite(session: Session, clinician: User, now: datetime, settings: Settings) -> Invite:
    """A fresh invite to the clinician's clinic and care team (audited); 409 ``no_clinic`` without a clinic."""
    membership = session.exec(select(ClinicMember).where(ClinicMember.user_id == clinician.id)).first()
    if membership is None:
        raise Problem(409, "no_clinic", "this clinician account belongs to no clinic")
    assert clinician.id is not None
    invite = Invite(
        code="".join(secrets.choice(_INVITE_ALPHABET) for _ in range(10)),
        clinic_id=membership.clinic_id,
        clinician_id=clinician.id,
        created_at=now,
        expires_at=now + timedelta(days=settings.invite_days),
    )
    session.add(invite)
    session.flush()
    record_audit(session, at=now, action="create", resource=f"invite/{invite.id}", actor=clinician)
    return invite
