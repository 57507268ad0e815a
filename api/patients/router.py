from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import select

from api.deps import CurrentUser, SessionDep
from api.models import Patient
from api.patients.schemas import MePublic, PatientProfilePublic

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MePublic)
def get_me(user: CurrentUser, session: SessionDep) -> MePublic:
    """The caller's account and, for patients, their profile."""
    patient = session.exec(select(Patient).where(Patient.user_id == user.id)).first()
    assert user.id is not None
    return MePublic(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=user.role,
        patient=PatientProfilePublic.model_validate(patient) if patient else None,
    )
