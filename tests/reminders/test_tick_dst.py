"""The tick on DST days: local wall-clock times hold, a folded time fires once, a missing
time fires at the first valid instant after it."""

from __future__ import annotations

from datetime import time

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from api.config import Settings
from tests.factories import make_patient
from tests.reminders.helpers import LOG, reminders, schedule, set_clock, set_prefs, tick, utc

NO_QUIET = {"quiet_start": time(0, 0), "quiet_end": time(0, 0)}


def test_london_20_00_on_the_spring_forward_day_fires_at_19_00_utc(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    set_clock(app, session, utc(2026, 3, 28, 21, 0))
    patient = make_patient(session, app)
    assert patient.id is not None
    tick(engine, settings, utc(2026, 3, 29, 18, 59, 59))  # (the Sunday check-in went at 18:00 UTC)
    assert reminders(session, patient.id, LOG) == []
    assert tick(engine, settings, utc(2026, 3, 29, 19, 0, 1))["created"] == 1
    [sent] = reminders(session, patient.id, LOG)
    assert (sent.intended_at, sent.data["local_date"]) == (utc(2026, 3, 29, 19, 0), "2026-03-29")
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 3, 30, 19, 0)


def test_a_folded_time_fires_once_at_its_first_occurrence(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    # London falls back on 2026-10-25: 01:30 happens at 00:30 UTC (BST) and again at 01:30 UTC (GMT).
    start = utc(2026, 10, 24, 12, 0)
    set_clock(app, session, start)
    patient = make_patient(session, app)
    assert patient.id is not None
    set_prefs(session, patient, start, daily_log_time=time(1, 30), **NO_QUIET)
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 10, 25, 0, 30)
    assert tick(engine, settings, utc(2026, 10, 25, 0, 30, 5))["created"] == 1
    assert tick(engine, settings, utc(2026, 10, 25, 1, 30, 5))["created"] == 0  # the second 01:30
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 10, 26, 1, 30)
    assert [n.data["local_date"] for n in reminders(session, patient.id)] == ["2026-10-25"]


def test_a_missing_time_fires_at_the_first_valid_instant_after_it(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    # New York springs forward on 2026-03-08: 02:30 does not exist; 03:00 EDT is 07:00 UTC.
    start = utc(2026, 3, 7, 17, 0)
    set_clock(app, session, start)
    patient = make_patient(session, app, timezone="America/New_York")
    assert patient.id is not None
    set_prefs(session, patient, start, daily_log_time=time(2, 30), **NO_QUIET)
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 3, 8, 7, 0)
    assert tick(engine, settings, utc(2026, 3, 8, 7, 0, 5))["created"] == 1
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 3, 9, 6, 30)  # 02:30 EDT


def test_sydney_and_kolkata_evening_reminders(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    set_clock(app, session, utc(2026, 4, 4, 12, 0))
    sydney = make_patient(session, app, timezone="Australia/Sydney")
    kolkata = make_patient(session, app, timezone="Asia/Kolkata")
    assert sydney.id is not None and kolkata.id is not None
    # Sydney falls back on 2026-04-05: 20:00 AEST is 10:00 UTC; Kolkata's 20:00 IST is 14:30 UTC.
    assert tick(engine, settings, utc(2026, 4, 4, 14, 30, 5))["created"] == 1  # Kolkata, 4 April
    assert tick(engine, settings, utc(2026, 4, 5, 10, 0, 5))["created"] == 1  # Sydney, 5 April
    assert [n.data["local_date"] for n in reminders(session, sydney.id, LOG)] == ["2026-04-05"]
    assert [n.data["local_date"] for n in reminders(session, kolkata.id, LOG)] == ["2026-04-04"]
