from __future__ import annotations

from datetime import time

from fastapi import APIRouter

from api.audit import record_audit
from api.deps import CurrentPatient, CurrentUser, NowDep, SessionDep, SettingsDep
from api.models import ReminderPreference
from api.reminders.schemas import (
    WEEKDAYS,
    DailyReminderPublic,
    QuietHoursPublic,
    ReminderSettingsPublic,
    ReminderSettingsUpdate,
    WeeklyCheckinPublic,
)
from api.reminders.service import default_preferences, reschedule_patient

router = APIRouter(tags=["reminders"])


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _parse(value: str) -> time:
    return time(int(value[:2]), int(value[3:]))


def _public(prefs: ReminderPreference, timezone: str) -> ReminderSettingsPublic:
    return ReminderSettingsPublic(
        timezone=timezone,
        daily_log=DailyReminderPublic(enabled=prefs.daily_log_enabled, time=_hhmm(prefs.daily_log_time)),
        exercise=DailyReminderPublic(enabled=prefs.exercise_enabled, time=_hhmm(prefs.exercise_time)),
        weekly_checkin=WeeklyCheckinPublic(
            enabled=prefs.weekly_checkin_enabled,
            weekday=WEEKDAYS[prefs.weekly_checkin_weekday],
            time=_hhmm(prefs.weekly_checkin_time),
        ),
        quiet_hours=QuietHoursPublic(start=_hhmm(prefs.quiet_start), end=_hhmm(prefs.quiet_end)),
    )


@router.get("/me/reminders", response_model=ReminderSettingsPublic)
def get_reminders(
    patient: CurrentPatient, session: SessionDep, now: NowDep, settings: SettingsDep
) -> ReminderSettingsPublic:
    """The caller's reminder times (local to ``timezone``) and quiet hours."""
    assert patient.id is not None
    prefs = session.get(ReminderPreference, patient.id) or default_preferences(patient.id, now, settings.rules)
    return _public(prefs, patient.timezone)


@router.put("/me/reminders", response_model=ReminderSettingsPublic)
def put_reminders(
    body: ReminderSettingsUpdate,
    user: CurrentUser,
    patient: CurrentPatient,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ReminderSettingsPublic:
    """Replace the caller's reminder set-up and reschedule their reminders at once.

    ``timezone`` is the profile's zone (the same value as ``PATCH /me``): changing it
    here moves every local date and reminder of the patient to the new zone.
    """
    assert patient.id is not None
    prefs = session.get(ReminderPreference, patient.id) or default_preferences(patient.id, now, settings.rules)
    prefs.daily_log_enabled, prefs.daily_log_time = body.daily_log.enabled, _parse(body.daily_log.time)
    prefs.exercise_enabled, prefs.exercise_time = body.exercise.enabled, _parse(body.exercise.time)
    prefs.weekly_checkin_enabled = body.weekly_checkin.enabled
    prefs.weekly_checkin_weekday = WEEKDAYS.index(body.weekly_checkin.weekday)
    prefs.weekly_checkin_time = _parse(body.weekly_checkin.time)
    prefs.quiet_start, prefs.quiet_end = _parse(body.quiet_hours.start), _parse(body.quiet_hours.end)
    prefs.updated_at = now
    zone_changed = body.timezone != patient.timezone
    if zone_changed:
        patient.timezone = body.timezone
        patient.updated_at = now
        session.add(patient)
    session.add(prefs)
    session.flush()
    reschedule_patient(session, patient.id, now, settings.rules)
    record_audit(
        session,
        at=now,
        action="update",
        resource=f"reminder_preference/{patient.id}",
        actor=user,
        patient_id=patient.id,
        detail={"timezone_changed": zone_changed},
    )
    return _public(prefs, patient.timezone)
