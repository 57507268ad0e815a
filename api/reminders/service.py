"""Reminder preferences and each patient's reminder schedule.

``ReminderSchedule`` holds one row per patient and reminder kind with the next instant
it is due (indexed), so the minute tick reads only what is due. ``reschedule_patient``
recomputes those rows from the preferences, the patient's zone and the plan; call it
whenever one of them changes (preferences, ``Patient.timezone``, plan assignment or
sessions per week).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import delete
from sqlmodel import Session, col, select

from api.models import Patient, Plan, ReminderPreference, ReminderSchedule
from api.rules.progression import planned_weekdays
from api.rules.reminders_due import ReminderPrefs, default_prefs, next_due
from api.rules.settings import RuleSettings
from api.rules.types import ReminderKind
from api.upsert import insert_for


def default_preferences(patient_id: int, now: datetime, rules: RuleSettings) -> ReminderPreference:
    """The clinic's default preferences (CLINICAL_RULES.md §9), not yet stored.

    The one source of the defaults is ``RuleSettings`` through ``default_prefs``; this is
    its stored form (the zone lives on the patient, so any zone will do here).
    """
    prefs = default_prefs("UTC", rules)
    # Stored as a (start, end) pair; equal times mean "no quiet hours".
    quiet = (
        (time(0, 0), time(0, 0))
        if prefs.quiet_start is None or prefs.quiet_end is None
        else (prefs.quiet_start, prefs.quiet_end)
    )
    return ReminderPreference(
        patient_id=patient_id,
        daily_log_enabled=prefs.daily_log_enabled,
        daily_log_time=prefs.daily_log_time,
        exercise_enabled=prefs.exercise_enabled,
        exercise_time=prefs.exercise_time,
        weekly_checkin_enabled=prefs.weekly_checkin_enabled,
        weekly_checkin_weekday=prefs.weekly_checkin_weekday,
        weekly_checkin_time=prefs.weekly_checkin_time,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
        updated_at=now,
    )


def create_default_preferences(
    session: Session, patient_id: int, now: datetime, rules: RuleSettings
) -> ReminderPreference:
    """Store the default preferences for a new patient."""
    prefs = default_preferences(patient_id, now, rules)
    session.add(prefs)
    session.flush()
    return prefs


def preferences_for(session: Session, patient_id: int, now: datetime, rules: RuleSettings) -> ReminderPreference:
    """The patient's stored preferences, created with the defaults if missing."""
    prefs = session.get(ReminderPreference, patient_id)
    return prefs if prefs is not None else create_default_preferences(session, patient_id, now, rules)


def rule_prefs(row: ReminderPreference, timezone: str) -> ReminderPrefs:
    """The rules-core view of stored preferences."""
    # Stored as a (start, end) pair; equal times mean "no quiet hours".
    quiet = (None, None) if row.quiet_start == row.quiet_end else (row.quiet_start, row.quiet_end)
    return ReminderPrefs(
        timezone=timezone,
        daily_log_enabled=row.daily_log_enabled,
        daily_log_time=row.daily_log_time,
        exercise_enabled=row.exercise_enabled,
        exercise_time=row.exercise_time,
        weekly_checkin_enabled=row.weekly_checkin_enabled,
        weekly_checkin_weekday=row.weekly_checkin_weekday,
        weekly_checkin_time=row.weekly_checkin_time,
        quiet_start=quiet[0],
        quiet_end=quiet[1],
    )


def exercise_days(plan: Plan | None) -> frozenset[int]:
    """Weekdays with a planned session; none without a plan (no exercise reminders).

    A paused plan keeps its days here: the tick checks the pause when a reminder falls
    due, so reminders come back by themselves when a clinician resumes the plan.
    """
    if plan is None:
        return frozenset()
    return planned_weekdays(plan.sessions_per_week)


def reschedule_patient(session: Session, patient_id: int, now: datetime, rules: RuleSettings) -> None:
    """Recompute the patient's next reminder instants after ``now``.

    Kinds with no next occurrence (disabled, no plan) lose their row, so the tick never
    looks at them. ``last_sent_on`` survives, keeping "one per local day" and the
    back-off across edits; the unique occurrence key guards the rest.
    """
    patient = session.get(Patient, patient_id)
    if patient is None:
        return
    prefs = rule_prefs(preferences_for(session, patient_id, now, rules), patient.timezone)
    plan = session.exec(select(Plan).where(Plan.patient_id == patient_id)).first()
    days = exercise_days(plan)
    table = ReminderSchedule.__table__  # type: ignore[attr-defined]
    for kind in ReminderKind:
        due = next_due(prefs, kind, now, days, rules)
        if due is None:
            session.execute(
                delete(ReminderSchedule).where(
                    col(ReminderSchedule.patient_id) == patient_id, col(ReminderSchedule.kind) == kind
                )
            )
            continue
        statement = insert_for(session, table).values(
            patient_id=patient_id, kind=kind, next_due_at=due.due_at, local_date=due.local_date, last_sent_on=None
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.patient_id, table.c.kind],
                set_={"next_due_at": due.due_at, "local_date": due.local_date},
            )
        )
    session.flush()
