"""Staff accounts, shared by the admin API and ``backstep create-user``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.auth.service import create_user
from api.config import Settings
from api.errors import field_error
from api.models import Clinic, ClinicMember, Role, User


def create_staff_user(
    session: Session,
    *,
    role: Role,
    email: str,
    password: str,
    display_name: str,
    clinic_id: int | None,
    now: datetime,
    settings: Settings,
) -> User:
    """An admin, or a clinician who must belong to an existing clinic."""
    if role is Role.CLINICIAN:
        if clinic_id is None or session.get(Clinic, clinic_id) is None:
            raise field_error(["body", "clinic_id"], "a clinician needs an existing clinic")
    elif role is not Role.ADMIN:
        raise field_error(["body", "role"], "staff accounts are admin or clinician")
    user = create_user(
        session, email=email, password=password, display_name=display_name, role=role, now=now, settings=settings
    )
    if role is Role.CLINICIAN:
        assert user.id is not None and clinic_id is not None
        session.add(ClinicMember(user_id=user.id, clinic_id=clinic_id))
        session.flush()
    return user
