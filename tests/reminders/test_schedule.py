"""Each patient's next reminder instants, computed in their own zone at registration and on
every change (``reschedule_patient``), DST days included."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from api.models import Patient
from api.reminders.service import reschedule_patient
from api.rules.settings import DEFAULT_RULES
from tests.factories import make_patient
from tests.reminders.helpers import EXERCISE, LOG, WEEKLY, give_plan, schedule, set_clock, set_prefs, utc


@pytest.mark.parametrize(
    ("zone", "registered_at", "log_date", "log_due", "weekly_date", "weekly_due"),
    [
        # London, the Saturday before clocks go forward (Sun 2026-03-29): Sunday 20:00 BST = 19:00 UTC.
        ("Europe/London", utc(2026, 3, 28, 21, 0), date(2026, 3, 29), utc(2026, 3, 29, 19, 0),
         date(2026, 3, 29), utc(2026, 3, 29, 18, 0)),
        # New York, clocks go forward on Sun 2026-03-08: 20:00 EDT = 00:00 UTC the next day.
        ("America/New_York", utc(2026, 3, 8, 5, 0), date(2026, 3, 8), utc(2026, 3, 9, 0, 0),
         date(2026, 3, 8), utc(2026, 3, 8, 23, 0)),
        # Sydney, clocks go back on Sun 2026-04-05 (AEDT +11 → AEST +10): 20:00 AEST = 10:00 UTC.
        ("Australia/Sydney", utc(2026, 4, 4, 12, 0), date(2026, 4, 5), utc(2026, 4, 5, 10, 0),
         date(2026, 4, 5), utc(2026, 4, 5, 9, 0)),
        # Kolkata, +05:30 all year: 20:00 IST = 14:30 UTC.
        ("Asia/Kolkata", utc(2026, 6, 1, 15, 0), date(2026, 6, 2), utc(2026, 6, 2, 14, 30),
         date(2026, 6, 7), utc(2026, 6, 7, 13, 30)),
    ],
)  # fmt: skip
def test_registration_schedules_the_default_reminders_in_the_patients_zone(
    app: FastAPI,
    session: Session,
    zone: str,
    registered_at: datetime,
    log_date: date,
    log_due: datetime,
    weekly_date: date,
    weekly_due: datetime,
) -> None:
    set_clock(app, session, registered_at)
    patient = make_patient(session, app, timezone=zone)
    assert patient.id is not None
    rows = schedule(session, patient.id)
    assert (rows[LOG].local_date, rows[LOG].next_due_at) == (log_date, log_due)
    assert (rows[WEEKLY].local_date, rows[WEEKLY].next_due_at) == (weekly_date, weekly_due)  # Sunday 19:00
    assert EXERCISE not in rows  # no plan yet: no exercise reminders


def test_exercise_reminders_only_on_planned_days(app: FastAPI, session: Session) -> None:
    monday_evening = utc(2026, 6, 8, 19, 0)  # 20:00 BST, after Monday's 18:00 reminder
    set_clock(app, session, monday_evening)
    patient = make_patient(session, app)
    assert patient.id is not None
    give_plan(session, patient, monday_evening, sessions_per_week=3)  # Mon/Wed/Fri
    row = schedule(session, patient.id)[EXERCISE]
    # Tuesday has no session planned: next is Wednesday 18:00 BST.
    assert (row.local_date, row.next_due_at) == (date(2026, 6, 10), utc(2026, 6, 10, 17, 0))


def test_disabling_a_kind_removes_it_and_enabling_brings_it_back(app: FastAPI, session: Session) -> None:
    now = utc(2026, 6, 8, 9, 0)
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    set_prefs(session, patient, now, daily_log_enabled=False)
    assert LOG not in schedule(session, patient.id)
    set_prefs(session, patient, now, daily_log_enabled=True, daily_log_time=time(8, 30))
    row = schedule(session, patient.id)[LOG]
    assert (row.local_date, row.next_due_at) == (date(2026, 6, 9), utc(2026, 6, 9, 7, 30))


def test_a_reminder_always_inside_quiet_hours_is_never_scheduled(app: FastAPI, session: Session) -> None:
    now = utc(2026, 6, 8, 9, 0)
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    # 23:00 with quiet hours 22:00-08:00: their end is on the next day, so every day is skipped.
    set_prefs(session, patient, now, daily_log_time=time(23, 0))
    assert LOG not in schedule(session, patient.id)
    # 07:00 is moved to the end of quiet hours the same day (08:00 BST = 07:00 UTC).
    set_prefs(session, patient, now, daily_log_time=time(7, 0))
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 7, 0)


def test_a_zone_change_moves_every_reminder(app: FastAPI, session: Session) -> None:
    now = utc(2026, 6, 8, 9, 0)
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 8, 19, 0)
    moved = session.get(Patient, patient.id)
    assert moved is not None
    moved.timezone = "America/New_York"
    session.add(moved)
    reschedule_patient(session, patient.id, now, DEFAULT_RULES)
    session.commit()
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 0, 0)  # 20:00 EDT


def test_rescheduling_keeps_the_last_sent_date(app: FastAPI, session: Session) -> None:
    now = utc(2026, 6, 8, 9, 0)
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    row = schedule(session, patient.id)[LOG]
    row.last_sent_on = date(2026, 6, 7)
    session.add(row)
    session.commit()
    set_prefs(session, patient, now, daily_log_time=time(21, 0))
    row = schedule(session, patient.id)[LOG]
    assert (row.next_due_at, row.last_sent_on) == (utc(2026, 6, 8, 20, 0), date(2026, 6, 7))
