"""The reminder tick against a real database: local times, suppression, quiet hours,
back-off, and exactly one notification per kind and local day whatever happens."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.config import Settings
from api.models import Patient, PlanStatus, User
from api.rules.reminders_due import DueReminder, ReminderPrefs, next_due
from api.rules.types import ReminderKind
from tests.factories import make_patient, patient_auth
from tests.reminders.helpers import (
    EXERCISE,
    LOG,
    give_plan,
    log_pain,
    log_session,
    reminders,
    schedule,
    set_clock,
    set_prefs,
    tick,
    utc,
)

MONDAY_MORNING = utc(2026, 6, 8, 9, 0)  # 10:00 BST


@pytest.fixture
def patient(app: FastAPI, session: Session) -> Patient:
    set_clock(app, session, MONDAY_MORNING)
    return make_patient(session, app)


def test_the_daily_log_reminder_reaches_the_feed_at_20_00_local(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    assert tick(engine, settings, utc(2026, 6, 8, 18, 59, 59))["created"] == 0
    result = tick(engine, settings, utc(2026, 6, 8, 19, 0, 20))
    assert (result["due"], result["created"]) == (1, 1)
    [sent] = reminders(session, patient.id)
    assert (sent.kind, sent.intended_at) == (LOG, utc(2026, 6, 8, 19, 0))
    assert sent.occurrence_key == f"reminder:{patient.id}:{LOG}:2026-06-08"
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 19, 0)

    feed = client.get("/api/v1/me/notifications", headers=patient_auth(session, app, patient)).json()
    [item] = feed["items"]
    assert item["kind"] == "daily_log_reminder" and item["read_at"] is None
    assert item["title"] == "How is your back today?"
    assert item["data"] == {"reminder": "daily_log_reminder", "local_date": "2026-06-08"}


def test_no_log_reminder_when_todays_log_exists(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    log_pain(session, patient, date(2026, 6, 8), utc(2026, 6, 8, 11, 10))  # logged at 12:10 BST
    result = tick(engine, settings, utc(2026, 6, 8, 19, 0, 30))
    assert (result["created"], result["skipped_already_done_today"]) == (0, 1)
    assert reminders(session, patient.id) == []
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 19, 0)
    assert tick(engine, settings, utc(2026, 6, 9, 19, 0, 30))["created"] == 1  # the next day it comes


def test_exercise_reminders_follow_the_planned_days_and_todays_session(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    give_plan(session, patient, MONDAY_MORNING, sessions_per_week=3)  # Mon/Wed/Fri 18:00 BST
    tick(engine, settings, utc(2026, 6, 8, 17, 0, 10))  # Monday
    tick(engine, settings, utc(2026, 6, 9, 17, 0, 10))  # Tuesday: nothing planned
    log_session(session, patient, date(2026, 6, 10), utc(2026, 6, 10, 7, 0))  # Wednesday, done early
    tick(engine, settings, utc(2026, 6, 10, 17, 0, 10))
    tick(engine, settings, utc(2026, 6, 12, 17, 0, 10))  # Friday
    days = [n.data["local_date"] for n in reminders(session, patient.id, EXERCISE)]
    assert days == ["2026-06-08", "2026-06-12"]


def test_a_paused_plan_gets_no_exercise_reminder_until_it_is_resumed(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    plan = give_plan(session, patient, MONDAY_MORNING, sessions_per_week=3, status=PlanStatus.PAUSED)
    assert tick(engine, settings, utc(2026, 6, 8, 17, 0, 10))["skipped_plan_paused"] == 1
    plan.status = PlanStatus.ACTIVE  # a clinician resumes it; no reschedule needed
    session.add(plan)
    session.commit()
    assert tick(engine, settings, utc(2026, 6, 10, 17, 0, 10))["created"] == 1
    assert [n.data["local_date"] for n in reminders(session, patient.id, EXERCISE)] == ["2026-06-10"]


def test_quiet_hours_move_an_early_reminder_to_their_end(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    set_prefs(session, patient, MONDAY_MORNING, daily_log_time=time(7, 0))  # inside 22:00-08:00
    assert tick(engine, settings, utc(2026, 6, 9, 6, 0, 10))["created"] == 0  # 07:00 BST: quiet
    assert tick(engine, settings, utc(2026, 6, 9, 7, 0, 10))["created"] == 1  # 08:00 BST
    [sent] = reminders(session, patient.id)
    assert sent.data["local_date"] == "2026-06-09"


def test_disengaged_patients_get_log_reminders_weekly_then_fortnightly(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    row = session.get(Patient, patient.id)
    assert row is not None
    row.last_activity_at = utc(2026, 5, 27, 12, 0)  # 12 days before 2026-06-08
    row.created_at = utc(2026, 5, 1, 12, 0)
    session.add(row)
    log_row = schedule(session, patient.id)[LOG]
    log_row.last_sent_on = date(2026, 6, 5)  # 3 days ago
    session.add(log_row)
    session.commit()
    assert tick(engine, settings, utc(2026, 6, 8, 19, 0, 10))["skipped_backoff"] == 1
    for day in range(9, 12):
        tick(engine, settings, utc(2026, 6, day, 19, 0, 10))
    assert reminders(session, patient.id) == []
    assert tick(engine, settings, utc(2026, 6, 12, 19, 0, 10))["created"] == 1  # 7 days after the last


def test_two_ticks_in_the_same_minute_create_one_notification(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    first = tick(engine, settings, utc(2026, 6, 8, 19, 0, 5))
    second = tick(engine, settings, utc(2026, 6, 8, 19, 0, 55))
    assert (first["created"], second["due"], second["created"]) == (1, 0, 0)
    assert len(reminders(session, patient.id, LOG)) == 1


class _Killed(BaseException):
    """The process dying mid-batch: not an error the job may catch and work around."""


def test_a_crash_mid_tick_rolls_back_and_the_next_tick_sends_once(
    session: Session, engine: Engine, settings: Settings, patient: Patient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert patient.id is not None
    import api.reminders.tick as tick_module

    def crash(*_args: object, **_kwargs: object) -> None:
        raise _Killed("scheduler killed while advancing next_due_at")

    with monkeypatch.context() as patch:
        patch.setattr(tick_module, "next_due", crash)
        with pytest.raises(_Killed, match="killed"):
            tick(engine, settings, utc(2026, 6, 8, 19, 0, 5))
    assert reminders(session, patient.id) == []  # the batch rolled back with its notifications
    assert tick(engine, settings, utc(2026, 6, 8, 19, 1, 5))["created"] == 1
    assert len(reminders(session, patient.id)) == 1


def test_a_bad_row_does_not_hold_up_its_batch(
    session: Session, engine: Engine, settings: Settings, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch is redone row by row: the others are sent, the bad one is counted and
    left due, so the next tick (once it is fixed) sends it."""
    set_clock(app, session, utc(2026, 6, 8, 9, 0))
    # Dublin keeps London's offset in June: both are due at 19:00 UTC, in one batch.
    bad, good = make_patient(session, app, timezone="Europe/Dublin"), make_patient(session, app)
    assert bad.id is not None and good.id is not None
    import api.reminders.tick as tick_module

    def failing_for_bad(prefs: ReminderPrefs, kind: ReminderKind, *args: Any) -> DueReminder | None:
        if kind is ReminderKind.DAILY_LOG_REMINDER and prefs.timezone == "Europe/Dublin":
            raise RuntimeError("a bug on one patient's data")
        return next_due(prefs, kind, *args)

    with monkeypatch.context() as patch:
        patch.setattr(tick_module, "next_due", failing_for_bad)
        result = tick(engine, settings, utc(2026, 6, 8, 19, 0, 5))
    assert (result["created"], result["failed"]) == (1, 1)
    assert len(reminders(session, good.id, LOG)) == 1
    assert reminders(session, bad.id, LOG) == []  # its savepoint rolled back with its notification
    assert schedule(session, bad.id)[LOG].next_due_at == utc(2026, 6, 8, 19, 0)  # still due
    again = tick(engine, settings, utc(2026, 6, 8, 19, 1, 5))
    assert (again["created"], again.get("failed", 0)) == (1, 0)
    assert len(reminders(session, bad.id, LOG)) == 1


def test_a_tick_that_sees_a_stale_row_creates_nothing_twice(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    """A second scheduler that read the row before the first one advanced it (or a restart
    that lost the advance) finds the occurrence key taken."""
    assert patient.id is not None
    assert tick(engine, settings, utc(2026, 6, 8, 19, 0, 5))["created"] == 1
    row = schedule(session, patient.id)[LOG]
    row.next_due_at, row.local_date, row.last_sent_on = utc(2026, 6, 8, 19, 0), date(2026, 6, 8), None
    session.add(row)
    session.commit()
    again = tick(engine, settings, utc(2026, 6, 8, 19, 0, 30))
    assert (again["created"], again["duplicate"]) == (0, 1)
    assert len(reminders(session, patient.id)) == 1
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 19, 0)


def test_reminders_missed_while_the_scheduler_was_down_are_skipped_not_sent_late(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    result = tick(engine, settings, utc(2026, 6, 8, 19, 0) + timedelta(minutes=settings.reminder_max_delay_minutes + 1))
    assert (result["created"], result["skipped_missed"]) == (0, 1)
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 9, 19, 0)


def test_three_days_of_downtime_catch_up_in_one_tick_without_a_flood(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    result = tick(engine, settings, utc(2026, 6, 11, 19, 0, 30))
    assert result["created"] == 0 and result["due"] >= 1
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 12, 19, 0)


def test_inactive_accounts_get_no_reminders(
    session: Session, engine: Engine, settings: Settings, patient: Patient
) -> None:
    assert patient.id is not None
    user = session.get(User, patient.user_id)
    assert user is not None
    user.is_active = False
    session.add(user)
    session.commit()
    assert tick(engine, settings, utc(2026, 6, 8, 19, 0, 5))["skipped_account_inactive"] == 1
    assert reminders(session, patient.id) == []
