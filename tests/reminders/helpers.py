"""Arranging reminder scenarios: the clock, plans, logs and sessions, and running the tick."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.config import Settings
from api.models import (
    ExerciseSession,
    Notification,
    PainLog,
    Patient,
    Plan,
    PlanStatus,
    ReminderPreference,
    ReminderSchedule,
)
from api.reminders.service import reschedule_patient
from api.reminders.tick import run_reminder_tick
from api.rules.settings import DEFAULT_RULES

LOG, EXERCISE, WEEKLY = "daily_log_reminder", "exercise_reminder", "weekly_checkin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def set_clock(app: FastAPI, session: Session, instant: datetime) -> None:
    app.state.clock.set(instant, None, session)
    session.commit()


def fresh(session: Session) -> Session:
    """Commit what the test arranged and end the read snapshot, so later reads see other writers."""
    session.commit()
    session.expire_all()
    return session


def schedule(session: Session, patient_id: int) -> dict[str, ReminderSchedule]:
    fresh(session)
    rows = session.exec(select(ReminderSchedule).where(ReminderSchedule.patient_id == patient_id)).all()
    return {row.kind: row for row in rows}


def reminders(session: Session, patient_id: int, kind: str | None = None) -> list[Notification]:
    fresh(session)
    query = select(Notification).where(Notification.patient_id == patient_id).order_by(col(Notification.id))
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(session.exec(query).all())


def tick(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    return run_reminder_tick(engine, settings, now)


def set_prefs(session: Session, patient: Patient, now: datetime, **values: object) -> None:
    """Change stored preferences and reschedule, as PUT /me/reminders does."""
    assert patient.id is not None
    prefs = session.get(ReminderPreference, patient.id)
    assert prefs is not None
    for name, value in values.items():
        setattr(prefs, name, value)
    session.add(prefs)
    session.flush()
    reschedule_patient(session, patient.id, now, DEFAULT_RULES)
    session.commit()


def give_plan(
    session: Session, patient: Patient, now: datetime, sessions_per_week: int = 3, status: str = PlanStatus.ACTIVE
) -> Plan:
    """A plan row (issue 5 owns plan logic; reminders only read sessions per week and status)."""
    assert patient.id is not None
    today = now.date()
    plan = Plan(
        patient_id=patient.id,
        template_id="graded_exercise",
        level=1,
        status=status,
        sessions_per_week=sessions_per_week,
        started_on=today,
        level_started_on=today,
        next_review_on=today,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.flush()
    reschedule_patient(session, patient.id, now, DEFAULT_RULES)
    session.commit()
    return plan


def log_pain(session: Session, patient: Patient, on: date, at: datetime) -> None:
    assert patient.id is not None
    session.add(
        PainLog(
            patient_id=patient.id,
            log_date=on,
            back_pain=4,
            client_updated_at=at,
            content_hash=hashlib.sha256(f"{patient.id}:{on}".encode()).hexdigest(),
            created_at=at,
            updated_at=at,
        )
    )
    session.commit()


def log_session(session: Session, patient: Patient, on: date, at: datetime) -> None:
    assert patient.id is not None
    session.add(
        ExerciseSession(
            id=uuid.uuid4(),
            patient_id=patient.id,
            performed_at=at,
            performed_on=on,
            duration_minutes=20,
            exercises=[],
            pain_during=2,
            body_hash="0" * 64,
            created_at=at,
        )
    )
    session.commit()


def hhmm(value: str) -> time:
    return time(int(value[:2]), int(value[3:]))
