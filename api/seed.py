"""``backstep seed-demo``: a demo clinic whose patients exercise every rule.

Idempotent: a second run finds the demo admin and only prints the logins again.
Never run against production data (refused when the environment is production).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import Session, select

from api.admin.service import create_staff_user
from api.auth.service import register_patient
from api.clock import Clock
from api.config import Environment, Settings
from api.db import make_engine, session_scope
from api.models import CareTeamMember, Clinic, Role, User

DEMO_DOMAIN = "demo.backstep.app"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
# Demo-only credentials, printed by `make run`; seed-demo refuses to run in production.
ADMIN_PASSWORD = "demo-admin-password"  # noqa: S105
CLINICIAN_PASSWORD = "demo-physio-password"  # noqa: S105
PATIENT_PASSWORD = "demo-patient-password"  # noqa: S105


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str
    name: str


def seed_demo(settings: Settings) -> Iterator[str]:
    if settings.environment is Environment.PRODUCTION:
        raise SystemExit("seed-demo refuses to run in production")
    engine = make_engine(settings)
    clock = Clock(engine, test_clock_enabled=settings.allow_test_clock)
    try:
        with session_scope(engine) as session:
            if session.exec(select(User).where(User.email == ADMIN_EMAIL)).first() is None:
                _create_demo_clinic(session, settings, clock)
                yield "demo clinic created"
            else:
                yield "demo clinic already present"
    finally:
        engine.dispose()
    yield "demo logins (password in brackets):"
    for login in demo_logins():
        yield f"  {login.role:<9} {login.email:<40} [{login.password}]  {login.name}"


def demo_logins() -> list[DemoLogin]:
    return [
        DemoLogin("admin", ADMIN_EMAIL, ADMIN_PASSWORD, "Demo administrator"),
        DemoLogin("clinician", f"physio@{DEMO_DOMAIN}", CLINICIAN_PASSWORD, "Sam Okafor (physiotherapist)"),
        DemoLogin("clinician", f"physio2@{DEMO_DOMAIN}", CLINICIAN_PASSWORD, "Priya Shah (physiotherapist)"),
        DemoLogin("patient", f"alex@{DEMO_DOMAIN}", PATIENT_PASSWORD, "Alex Turner (patient)"),
        DemoLogin("patient", f"jordan@{DEMO_DOMAIN}", PATIENT_PASSWORD, "Jordan Lee (patient)"),
    ]


def _create_demo_clinic(session: Session, settings: Settings, clock: Clock) -> None:
    now = clock.now()
    clinic = Clinic(name="Riverside Physiotherapy (demo)", created_at=now)
    session.add(clinic)
    session.flush()
    logins = demo_logins()
    create_staff_user(
        session,
        role=Role.ADMIN,
        email=logins[0].email,
        password=logins[0].password,
        display_name=logins[0].name,
        clinic_id=None,
        now=now,
        settings=settings,
    )
    clinicians = [
        create_staff_user(
            session,
            role=Role.CLINICIAN,
            email=login.email,
            password=login.password,
            display_name=login.name.split(" (")[0],
            clinic_id=clinic.id,
            now=now,
            settings=settings,
        )
        for login in logins[1:3]
    ]
    for login in logins[3:]:
        _user, patient = register_patient(
            session,
            email=login.email,
            password=login.password,
            display_name=login.name.split(" (")[0],
            invite_code=None,
            now=now,
            settings=settings,
        )
        patient.clinic_id = clinic.id
        assert patient.id is not None and clinicians[0].id is not None
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=clinicians[0].id, created_at=now))
    session.flush()
