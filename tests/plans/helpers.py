"""Small factories for plan tests: pain logs and exercise sessions written straight to the
tables (the capture API belongs to another issue), the application clock, and the sweep."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from api.db import session_scope
from api.jobs import JobContext, JobResult, run_job
from api.models import ExerciseSession, PainLog, Patient, Plan, PlanDecision
from api.plans.assign import assign_plan_for_risk_group
from api.plans.flare import FlareCheck, flare_check
from api.rules.settings import DEFAULT_RULES

# A Monday: planned days for 3 sessions a week are Monday, Wednesday and Friday.
START = date(2026, 3, 2)


def at_local(on: date, timezone: str = "Europe/London", hour: int = 12) -> datetime:
    """An aware instant at ``hour`` o'clock local time on ``on``."""
    return datetime.combine(on, time(hour), ZoneInfo(timezone))


def set_clock(app: FastAPI, session: Session, instant: datetime) -> None:
    app.state.clock.set(instant, None, session)
    session.commit()


def engine_of(app: FastAPI) -> Engine:
    engine: Engine = app.state.engine
    return engine


def log_pain(
    session: Session,
    patient: Patient,
    on: date,
    back_pain: int,
    *,
    flare: bool = False,
    activity_minutes: int | None = None,
    commit: bool = True,
) -> PainLog:
    """Insert or replace the patient's log for ``on``."""
    assert patient.id is not None
    existing = session.exec(select(PainLog).where(PainLog.patient_id == patient.id, PainLog.log_date == on)).first()
    moment = at_local(on, patient.timezone, 20)
    log = existing or PainLog(
        patient_id=patient.id,
        log_date=on,
        back_pain=back_pain,
        content_hash="",
        client_updated_at=moment,
        created_at=moment,
        updated_at=moment,
    )
    log.back_pain = back_pain
    log.flare = flare
    log.activity_minutes = activity_minutes
    log.content_hash = hashlib.sha256(f"{on}|{back_pain}|{flare}|{activity_minutes}".encode()).hexdigest()
    session.add(log)
    if commit:
        session.commit()
    else:
        session.flush()
    return log


def log_days(
    session: Session,
    patient: Patient,
    first: date,
    pains: Iterable[int],
    *,
    activity_minutes: int | None = None,
) -> None:
    """One log per consecutive day from ``first``."""
    for offset, pain in enumerate(pains):
        log_pain(
            session, patient, first + timedelta(days=offset), pain, activity_minutes=activity_minutes, commit=False
        )
    session.commit()


def log_session(
    session: Session,
    patient: Patient,
    on: date,
    pain_during: int,
    *,
    next_morning: int | None = None,
    rpe: int | None = 4,
    difficulty: str | None = "about_right",
) -> ExerciseSession:
    assert patient.id is not None
    moment = at_local(on, patient.timezone, 18)
    row = ExerciseSession(
        id=uuid.uuid4(),
        patient_id=patient.id,
        performed_at=moment,
        performed_on=on,
        duration_minutes=30,
        exercises=[{"exercise_id": "bridge", "sets_done": 2, "reps_done": 10, "completed": True}],
        pain_during=pain_during,
        pain_next_morning=next_morning,
        rpe=rpe,
        difficulty=difficulty,
        body_hash=uuid.uuid4().hex,
        created_at=moment,
    )
    session.add(row)
    session.commit()
    return row


def week(
    session: Session,
    patient: Patient,
    first: date,
    *,
    pain: int = 3,
    sessions: Iterable[int] = (2, 2, 2),
    days: Iterable[int] = (0, 2, 4),
    walking: int | None = 20,
    rpe: int | None = 4,
) -> None:
    """A week of daily logs at ``pain`` and sessions (pain during) on the given day offsets."""
    log_days(session, patient, first, [pain] * 7, activity_minutes=walking)
    for offset, during in zip(days, sessions, strict=False):
        log_session(session, patient, first + timedelta(days=offset), during, rpe=rpe)


def assign(app: FastAPI, patient: Patient, risk_group: str, on: date = START) -> PlanDecision | None:
    with session_scope(engine_of(app)) as db:
        fresh = db.get(Patient, patient.id)
        assert fresh is not None
        return assign_plan_for_risk_group(db, fresh, risk_group, at_local(on, patient.timezone, 9), rules=DEFAULT_RULES)


def pain_log_check(app: FastAPI, patient: Patient, on: date, back_pain: int, *, flare: bool = False) -> FlareCheck:
    """Log pain for ``on`` and run the flare protocol at noon local on ``on`` (a same-day log)."""
    return pain_log_check_at(app, patient, on, back_pain, at_local(on, patient.timezone), flare=flare)


def pain_log_check_at(
    app: FastAPI, patient: Patient, on: date, back_pain: int, now: datetime, *, flare: bool = False
) -> FlareCheck:
    with session_scope(engine_of(app)) as db:
        fresh = db.get(Patient, patient.id)
        assert fresh is not None
        log = log_pain(db, fresh, on, back_pain, flare=flare, commit=False)
        return flare_check(db, fresh, log, now, rules=DEFAULT_RULES)


def sweep(app: FastAPI, now: datetime) -> JobResult:
    return run_job("sweep", JobContext(app.state.engine, app.state.settings, app.state.clock), now)


def plan_of(session: Session, patient: Patient) -> Plan:
    session.rollback()  # read what the last transaction committed
    plan = session.exec(
        select(Plan).where(Plan.patient_id == patient.id).execution_options(populate_existing=True)
    ).one()
    session.commit()
    return plan


def decisions(session: Session, patient: Patient) -> list[PlanDecision]:
    session.rollback()
    rows = list(
        session.exec(
            select(PlanDecision)
            .where(PlanDecision.patient_id == patient.id)
            .order_by(col(PlanDecision.id))
            .execution_options(populate_existing=True)
        ).all()
    )
    session.commit()
    return rows


def count(session: Session, model: type[object]) -> int:
    session.rollback()
    total = session.exec(select(func.count()).select_from(model)).one()
    session.commit()
    return int(total)
