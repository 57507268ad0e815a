"""Recording exercise sessions, keyed by the app's UUID so a replay is a no-op.

Identity is the id plus a hash of the canonical body. The insert is ``ON CONFLICT (id)
DO NOTHING``; when it conflicts, the stored row's owner and hash (both immutable) say
whether this is a replay (200) or a different session under a used id (409). A session
id owned by another patient gets exactly the same 409 as a changed body: nothing about
that row is read back or changed.

``pain_next_morning`` is not part of the hash: the app sends it the next morning, either
by re-sending the session (e.g. from the offline queue) or with PATCH.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from api.errors import Problem
from api.models import ExerciseSession, Patient
from api.sessions.schemas import ExerciseSessionCreate
from api.upsert import insert_for
from exercise_library import get_library

BACKDATE_DAYS = 30

SessionStatus = Literal["created", "updated", "unchanged"]


class SessionIdConflict(Problem):
    def __init__(self) -> None:
        super().__init__(
            409,
            "session_id_conflict",
            "this session id is already used by a different session; generate a new id for a new session",
        )


@dataclass(frozen=True, slots=True)
class SessionWrite:
    status: SessionStatus
    row: ExerciseSession


def session_errors(
    body: ExerciseSessionCreate, patient: Patient, now: datetime, loc: list[str | int]
) -> list[dict[str, Any]]:
    """Checks that need the library or the clock: each problem as ``{loc, msg}``."""
    errors: list[dict[str, Any]] = []
    exercises = get_library().exercises
    for index, item in enumerate(body.exercises):
        if item.exercise_id not in exercises:
            errors.append({"loc": [*loc, "exercises", index, "exercise_id"], "msg": "unknown exercise id"})
    zone = ZoneInfo(patient.timezone)
    today = now.astimezone(zone).date()
    performed_on = body.performed_at.astimezone(zone).date()
    if performed_on > today:
        errors.append({"loc": [*loc, "performed_at"], "msg": "cannot be in the future"})
    elif performed_on < today - timedelta(days=BACKDATE_DAYS):
        errors.append(
            {"loc": [*loc, "performed_at"], "msg": f"sessions can be recorded at most {BACKDATE_DAYS} days back"}
        )
    return errors


def check_session(body: ExerciseSessionCreate, patient: Patient, now: datetime) -> None:
    errors = session_errors(body, patient, now, ["body"])
    if errors:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        raise Problem(422, "validation_error", f"invalid fields: {fields}", errors=errors)


def body_hash(body: ExerciseSessionCreate) -> str:
    """SHA-256 of the canonical session (id and pain_next_morning excluded)."""
    canonical = body.model_dump(mode="json", exclude={"id", "pain_next_morning"})
    canonical["performed_at"] = body.performed_at.astimezone(UTC).isoformat()
    encoded = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def performed_on(body: ExerciseSessionCreate, patient: Patient) -> date:
    return body.performed_at.astimezone(ZoneInfo(patient.timezone)).date()


def record_session(session: Session, patient: Patient, body: ExerciseSessionCreate, now: datetime) -> SessionWrite:
    """Store a validated session: ``created``, a replay (``unchanged``, or ``updated`` when
    it brings a new ``pain_next_morning``), or ``SessionIdConflict``."""
    digest = body_hash(body)
    values = body.model_dump(mode="python", exclude={"exercises"})
    values.update(
        patient_id=patient.id,
        performed_on=performed_on(body, patient),
        exercises=[item.model_dump(mode="json") for item in body.exercises],
        body_hash=digest,
        created_at=now,
    )
    stmt = (
        insert_for(session, ExerciseSession)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(ExerciseSession)
    )
    created = session.scalars(stmt, execution_options={"populate_existing": True}).first()
    if created is not None:
        return SessionWrite("created", created)
    stored = own_session(session, patient, body.id)
    if stored is None or stored.body_hash != digest:
        raise SessionIdConflict()
    if body.pain_next_morning is not None and body.pain_next_morning != stored.pain_next_morning:
        stored.pain_next_morning = body.pain_next_morning
        session.add(stored)
        session.flush()
        return SessionWrite("updated", stored)
    return SessionWrite("unchanged", stored)


def own_session(session: Session, patient: Patient, session_id: uuid.UUID) -> ExerciseSession | None:
    """The session with this id if it is the patient's own; None otherwise (never a hint)."""
    return session.exec(
        select(ExerciseSession)
        .where(ExerciseSession.id == session_id, ExerciseSession.patient_id == patient.id)
        .execution_options(populate_existing=True)
    ).first()
