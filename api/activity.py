"""Bookkeeping on the patient row that every capture write keeps current.

``last_activity_at`` drives the reminder back-off; ``programme_started_on`` (programme
day 1, the earliest log date) and ``last_log_on`` (the latest) let the sweep and the
dashboard work without scanning pain logs. The date range is widened in SQL, not in
Python, so two concurrent writes for one patient can never shrink it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import case, or_, update
from sqlmodel import Session, col

from api.models import Patient


def touch_activity(session: Session, patient: Patient, now: datetime) -> None:
    """Record an authenticated write by the patient (any write the app makes counts)."""
    patient.last_activity_at = now
    session.add(patient)
    session.flush()


def record_log_dates(session: Session, patient: Patient, dates: Iterable[date], now: datetime) -> None:
    """Widen the patient's logged date range to cover ``dates`` and record the activity."""
    logged = list(dates)
    if not logged:
        touch_activity(session, patient, now)
        return
    earliest, latest = min(logged), max(logged)
    started, last = col(Patient.programme_started_on), col(Patient.last_log_on)
    session.execute(
        update(Patient)
        .where(col(Patient.id) == patient.id)
        .values(
            programme_started_on=case((or_(started.is_(None), started > earliest), earliest), else_=started),
            last_log_on=case((or_(last.is_(None), last < latest), latest), else_=last),
            last_activity_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(patient, ["programme_started_on", "last_log_on", "last_activity_at"])
