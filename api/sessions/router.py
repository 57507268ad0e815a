from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.activity import touch_activity
from api.audit import record_audit
from api.deps import CurrentPatient, CurrentUser, NowDep, SessionDep
from api.errors import not_found
from api.schemas import Limit, Page
from api.sessions.listing import session_page
from api.sessions.schemas import ExerciseSessionCreate, ExerciseSessionPublic, ExerciseSessionUpdate
from api.sessions.service import check_session, own_session, record_session

router = APIRouter(prefix="/me/exercise-sessions", tags=["exercise sessions"])


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/problem+json": {}}} for code in codes}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExerciseSessionPublic,
    responses={
        200: {"model": ExerciseSessionPublic, "description": "replay of a recorded session"},
        **_problems(409, 422),
    },
)
def create_session(
    body: ExerciseSessionCreate,
    user: CurrentUser,
    patient: CurrentPatient,
    session: SessionDep,
    now: NowDep,
    response: Response,
) -> ExerciseSessionPublic:
    """Record a session under the app's UUID: 201 created, 200 for a replay, 409 for a used id."""
    check_session(body, patient, now)
    written = record_session(session, patient, body, now)
    if written.status == "unchanged":
        response.status_code = status.HTTP_200_OK
        return ExerciseSessionPublic.of(written.row)
    if written.status == "updated":
        response.status_code = status.HTTP_200_OK
    touch_activity(session, patient, now)
    record_audit(
        session,
        at=now,
        action="create" if written.status == "created" else "update",
        resource=f"exercise_session/{written.row.id}",
        actor=user,
        patient_id=patient.id,
    )
    return ExerciseSessionPublic.of(written.row)


@router.get("", response_model=Page[ExerciseSessionPublic])
def list_sessions(
    patient: CurrentPatient,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[ExerciseSessionPublic]:
    """The patient's sessions, most recently performed first."""
    return session_page(session, patient, limit, cursor)


@router.get("/{session_id}", response_model=ExerciseSessionPublic, responses=_problems(404, 422))
def get_session(session_id: uuid.UUID, patient: CurrentPatient, session: SessionDep) -> ExerciseSessionPublic:
    """One of the patient's own sessions (404 for any other id)."""
    row = own_session(session, patient, session_id)
    if row is None:
        raise not_found("exercise session")
    return ExerciseSessionPublic.of(row)


@router.patch("/{session_id}", response_model=ExerciseSessionPublic, responses=_problems(404, 422))
def update_session(
    session_id: uuid.UUID,
    body: ExerciseSessionUpdate,
    user: CurrentUser,
    patient: CurrentPatient,
    session: SessionDep,
    now: NowDep,
) -> ExerciseSessionPublic:
    """Record the next-morning pain of a session (the pain-monitoring model's check)."""
    row = own_session(session, patient, session_id)
    if row is None:
        raise not_found("exercise session")
    if row.pain_next_morning != body.pain_next_morning:
        row.pain_next_morning = body.pain_next_morning
        session.add(row)
        touch_activity(session, patient, now)
        record_audit(
            session, at=now, action="update", resource=f"exercise_session/{row.id}", actor=user, patient_id=patient.id
        )
    return ExerciseSessionPublic.of(row)
