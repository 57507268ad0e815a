"""A patient's exercise sessions, most recently performed first: read by the patient and their care team."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from api.models import ExerciseSession, Patient
from api.pagination import Keyset
from api.schemas import Page
from api.sessions.schemas import ExerciseSessionPublic


def session_page(session: Session, patient: Patient, limit: int, cursor: str | None) -> Page[ExerciseSessionPublic]:
    keyset = Keyset(cursor, limit, at=datetime, id=uuid.UUID)
    performed, row_id = col(ExerciseSession.performed_at), col(ExerciseSession.id)
    query = (
        select(ExerciseSession)
        .where(ExerciseSession.patient_id == patient.id)
        .order_by(performed.desc(), row_id.desc())
        .limit(keyset.fetch)
    )
    if keyset.after is not None:
        at, last_id = keyset.after["at"], keyset.after["id"]
        query = query.where((performed < at) | ((performed == at) & (row_id < last_id)))
    rows, next_cursor = keyset.page(
        session.exec(query).all(), lambda r: {"at": r.performed_at.isoformat(), "id": str(r.id)}
    )
    return Page[ExerciseSessionPublic](items=[ExerciseSessionPublic.of(r) for r in rows], next_cursor=next_cursor)
