"""Staff accounts, shared by the admin API and ``backstep create-user``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from api.audit import record_audit
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


def add_staff_user(
    session: Session,
    *,
    actor: User | None,
    via: str | None = None,
    role: Role,
    email: str,
    password: str,
    display_name: str,
    clinic_id: int | None,
    now: datetime,
    settings: Settings,
) -> User:
    """The staff-account use case (admin API, ``backstep create-user``): the account, then its
    audit row. ``actor`` is the admin who acted; None with ``via`` for an operator's command."""
    user = create_staff_user(
        session,
        role=role,
        email=email,
        password=password,
        display_name=display_name,
        clinic_id=clinic_id,
        now=now,
        settings=settings,
    )
    record_audit(
        session,
        at=now,
        action="create",
        resource=f"{role}/{user.id}",
        actor=actor,
        detail={"via": via} if via is not None else None,
    )
    return user
