"""Helpers for the capture tests: the application clock, request bodies, row counts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlmodel import Session, SQLModel, func, select

# A Monday, noon in London (GMT in March before the clocks change).
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ME = "/api/v1/me"
# Every red-flag item of the screening, answered "no".
NO_SYMPTOMS = dict.fromkeys(
    [
        "saddle_numbness",
        "bladder_change",
        "bowel_change",
        "sexual_dysfunction",
        "both_legs_symptoms",
        "both_legs_weakness",
        "one_leg_weakness",
        "one_leg_numbness",
        "fever",
        "unexplained_weight_loss",
        "night_pain",
        "thoracic_pain",
        "pain_on_straining",
        "major_trauma",
        "minor_trauma",
        "chest_pain",
    ],
    False,
)


def set_clock(app: FastAPI, session: Session, at: datetime) -> None:
    session.rollback()  # drop a stale read snapshot: SQLite refuses to upgrade it to a write
    app.state.clock.set(at, None, session)
    session.commit()


def rows(session: Session, model: type[SQLModel], *where: Any) -> int:
    """Rows of ``model`` (matching ``where``), read in a fresh transaction."""
    session.rollback()
    query = select(func.count()).select_from(model)
    for condition in where:
        query = query.where(condition)
    return int(session.exec(query).one())


def stamp(offset_seconds: int = 0) -> str:
    """A client_updated_at: START plus an offset, RFC 3339."""
    return (START + timedelta(seconds=offset_seconds)).isoformat()


def log_body(back_pain: int = 5, *, at: int = 0, **fields: Any) -> dict[str, Any]:
    return {"back_pain": back_pain, "client_updated_at": stamp(at), **fields}


def session_body(*, performed_at: datetime | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "performed_at": (performed_at or START - timedelta(hours=2)).isoformat(),
        "duration_minutes": 20,
        "exercises": [
            {"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True},
            {"exercise_id": "bridge", "sets_done": 2, "reps_done": 8, "completed": False},
        ],
        "pain_during": 3,
    }
    body.update(fields)
    return body


def day(offset: int) -> date:
    """START's London date plus ``offset`` days."""
    return START.date() + timedelta(days=offset)
