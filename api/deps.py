"""Request dependencies: session, clock, settings, and who is calling.

Authorisation lives here so routers cannot forget it: ``CurrentPatient`` is the
caller's own patient row; ``PatientInCare`` resolves a ``{patient_id}`` path
parameter only for clinicians in that patient's care team (404 otherwise, never a
hint that the patient exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.clock import Clock
from api.config import Settings
from api.db import session_scope
from api.errors import Problem, not_found
from api.models import CareTeamMember, Patient, Role, User
from api.schemas import MAX_ROW_ID
from api.security import AccessClaims, decode_access_token

# A row id in a path: ids above the INTEGER keys' range are a 422, never a database error.
RowIdPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
RowIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)]  # an optional id in a query string

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


# Dependencies that only read the application's state are ``async``: FastAPI runs them on
# the event loop instead of hopping onto a worker thread for each one. Those that may touch
# the database (the session, the test clock, the caller's account) stay sync.


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_engine(request: Request) -> Engine:
    return _engine(request)


async def get_clock(request: Request) -> Clock:
    return _clock(request)


def get_now(request: Request) -> datetime:
    """One application instant per request, so every rule in it agrees on "now"."""
    return _clock(request).now()


def get_session(request: Request, _now: Annotated[datetime, Depends(get_now)]) -> Iterator[Session]:
    """The request's unit of work; commits before the response is sent.

    The application instant is fixed first: with the test clock on, reading it takes a
    pooled connection of its own, which must never be waited for while this session
    holds one (concurrent requests would exhaust the pool waiting on each other).
    """
    with session_scope(_engine(request)) as session:
        yield session


async def get_wall_now(request: Request) -> datetime:
    """The real instant, for security lifetimes (tokens, sessions, lock-outs): the test clock
    moves rules, validation and jobs, never who is logged in."""
    return _clock(request).wall_now()


async def get_client_ip(request: Request) -> str | None:
    """The caller's address: the peer, or what a trusted proxy says it is.

    ``X-Forwarded-For`` was already applied (or ignored) by the proxy-headers middleware,
    which believes it only from ``BACKSTEP_TRUSTED_PROXIES`` (``api.main``).
    """
    return request.client.host if request.client else None


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
NowDep = Annotated[datetime, Depends(get_now)]
WallNowDep = Annotated[datetime, Depends(get_wall_now)]
ClientIpDep = Annotated[str | None, Depends(get_client_ip)]


def _unauthenticated(detail: str = "missing or invalid access token") -> Problem:
    return Problem(401, "unauthenticated", detail, headers={"WWW-Authenticate": "Bearer"})


BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _claims(settings: Settings, wall_now: datetime, credentials: HTTPAuthorizationCredentials | None) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthenticated()
    claims = decode_access_token(credentials.credentials, wall_now, settings)
    if claims is None:
        raise _unauthenticated()
    return claims


def _checked(user: User | None, claims: AccessClaims) -> User:
    # An erased or deactivated account, a role change, a logout or a revoked refresh
    # family (token_version moved on) invalidates old tokens: all on the one row read.
    if user is None or not user.is_active or user.role != claims.role or user.token_version != claims.token_version:
        raise _unauthenticated()
    return user


def get_current_user(session: SessionDep, settings: SettingsDep, wall_now: WallNowDep, credentials: BearerDep) -> User:
    claims = _claims(settings, wall_now, credentials)
    return _checked(session.get(User, claims.user_id), claims)


CurrentUser = Annotated[User, Depends(get_current_user)]


def _require_role(user: User, role: Role) -> User:
    if user.role != role:
        raise Problem(403, "forbidden", f"this endpoint is for the {role} role")
    return user


def get_current_patient(user: CurrentUser, session: SessionDep) -> Patient:
    _require_role(user, Role.PATIENT)
    patient = session.exec(select(Patient).where(Patient.user_id == user.id)).first()
    if patient is None:
        raise _unauthenticated()
    return patient


def get_current_clinician(user: CurrentUser) -> User:
    return _require_role(user, Role.CLINICIAN)


def get_current_admin(user: CurrentUser) -> User:
    return _require_role(user, Role.ADMIN)


CurrentPatient = Annotated[Patient, Depends(get_current_patient)]


@dataclass(frozen=True, slots=True)
class WritingPatient:
    """A patient writing capture data: their account and their patient row, row-locked."""

    user: User
    patient: Patient


def get_writing_patient(
    session: SessionDep, settings: SettingsDep, wall_now: WallNowDep, credentials: BearerDep
) -> WritingPatient:
    """``CurrentUser`` and ``CurrentPatient`` in one statement that also locks the patient row.

    Every capture write locks the patient row first (then alerts, then the plan), so
    taking the lock with authentication costs no statement and lets everything the write
    loads afterwards see the writes that committed before it.
    """
    claims = _claims(settings, wall_now, credentials)
    row = session.exec(
        select(User, Patient)
        .join(Patient, col(Patient.user_id) == col(User.id))
        .where(col(User.id) == claims.user_id)
        .with_for_update(of=Patient, key_share=True)
    ).first()
    if row is None:  # not a patient, or no such account: say which, as the separate dependencies do
        _require_role(_checked(session.get(User, claims.user_id), claims), Role.PATIENT)
        raise _unauthenticated()
    user = _require_role(_checked(row[0], claims), Role.PATIENT)
    return WritingPatient(user=user, patient=row[1])


PatientWriter = Annotated[WritingPatient, Depends(get_writing_patient)]
CurrentClinician = Annotated[User, Depends(get_current_clinician)]
CurrentAdmin = Annotated[User, Depends(get_current_admin)]


def patient_in_care(session: Session, clinician_id: int, patient_id: int) -> Patient | None:
    """The patient if this clinician is in their care team, else None."""
    return session.exec(
        select(Patient)
        .join(CareTeamMember, CareTeamMember.patient_id == Patient.id)  # type: ignore[arg-type]
        .where(Patient.id == patient_id, CareTeamMember.clinician_id == clinician_id)
    ).first()


def get_patient_in_care(
    clinician: CurrentClinician,
    session: SessionDep,
    patient_id: RowIdPath,
) -> Patient:
    assert clinician.id is not None
    patient = patient_in_care(session, clinician.id, patient_id)
    if patient is None:
        raise not_found("patient")
    return patient


PatientInCare = Annotated[Patient, Depends(get_patient_in_care)]
