from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from sqlmodel import Session, select

from api.audit import record_audit
from api.auth import throttle
from api.care_team.service import care_team_status
from api.deps import ClientIpDep, CurrentPatient, CurrentUser, NowDep, SessionDep, SettingsDep, WallNowDep
from api.errors import Problem, problem_response
from api.models import Patient, Role, User
from api.patients.erasure import erase_patient
from api.patients.export import ExportPublic, build_export
from api.patients.profile import update_profile
from api.patients.progress import progress_for
from api.patients.schemas import EraseRequest, MePublic, MeUpdate, PatientMePublic, ProgressPublic
from api.security import verify_password

router = APIRouter(tags=["me"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/problem+json": {}}} for code in codes}


def _patient_of(session: Session, user: User) -> Patient | None:
    return session.exec(select(Patient).where(Patient.user_id == user.id)).first()


def _me(session: Session, user: User, patient: Patient | None) -> MePublic:
    assert user.id is not None
    shown = None
    if patient is not None:
        shown = PatientMePublic.model_validate(
            {**PatientMePublic.profile_of(patient), "care_team": care_team_status(session, patient)}
        )
    return MePublic(id=user.id, email=user.email, display_name=user.display_name, role=user.role, patient=shown)


@router.get("/me", response_model=MePublic)
def get_me(user: CurrentUser, session: SessionDep) -> MePublic:
    """The caller's account and, for patients, their profile."""
    return _me(session, user, _patient_of(session, user))


@router.patch("/me", response_model=MePublic, responses=_problems(422))
def update_me(body: MeUpdate, user: CurrentUser, session: SessionDep, settings: SettingsDep, now: NowDep) -> MePublic:
    """Change the given profile fields only (null clears ``birth_year`` or ``episode_started_on``).

    A new time zone moves every reminder to the same local times in that zone. Staff
    accounts may change ``display_name`` only.
    """
    patient = _patient_of(session, user)
    update_profile(session, user, patient, body, now, settings.rules)
    return _me(session, user, patient)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        204: {"description": "the account and all personal data are erased"},
        **_problems(403, 422, 429),
    },
)
def erase_me(
    body: EraseRequest,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
    client_ip: ClientIpDep,
) -> Response:
    """Erase the caller's account and every row of personal data, after confirming the password.

    Patients only: staff accounts are deactivated by an admin, because their decisions and
    notes are part of their patients' records. A wrong password is 403 and erases
    nothing; failures count with this client's failed logins on the account (the same waits).
    """
    if user.role != Role.PATIENT:
        raise Problem(
            403, "staff_erasure_not_allowed", "staff accounts cannot erase themselves; an admin deactivates them"
        )
    patient = _patient_of(session, user)
    if patient is None:
        raise Problem(401, "unauthenticated", "missing or invalid access token")
    attempt = throttle.begin(session, user.email, client_ip, settings, wall_now)
    if attempt.retry_after is not None:
        headers = {"Retry-After": str(attempt.retry_after)}
        return problem_response(
            Problem(429, "too_many_attempts", "too many wrong passwords; try again later", headers=headers)
        )
    if not verify_password(body.password, user.password_hash, settings):
        throttle.failed(session, attempt, settings, wall_now)
        # Returned, not raised: the failure must be committed to count.
        return problem_response(Problem(403, "wrong_password", "the password is wrong; nothing was erased"))
    erase_patient(session, user, patient, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/export", response_model=ExportPublic)
def export_me(user: CurrentUser, patient: CurrentPatient, session: SessionDep, now: NowDep) -> ExportPublic:
    """Everything stored about the caller, as one JSON document (with a schema version)."""
    document = build_export(session, user, patient, now)
    record_audit(session, at=now, action="export", resource="export", actor=user, patient_id=patient.id)
    return document


@router.get("/me/progress", response_model=ProgressPublic)
def get_progress(
    patient: CurrentPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    days: Annotated[int, Query(ge=7, le=365, description="length of the daily series, ending today")] = 90,
) -> ProgressPublic:
    """Pain now against the programme's first week, the classification, and adherence."""
    return progress_for(session, patient, now, settings.rules, days)
