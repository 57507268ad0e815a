"""GET/PUT /me/reminders: the SPEC shape, defaults from CLINICAL_RULES.md §9, strict input."""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from api.models import AuditEvent, Patient, ReminderPreference, ReminderSchedule
from tests.factories import assert_field_refused, auth, make_clinician, make_patient, patient_auth
from tests.reminders.helpers import EXERCISE, LOG, WEEKLY, fresh, give_plan, schedule, set_clock, utc

URL = "/api/v1/me/reminders"
DEFAULTS: dict[str, Any] = {
    "timezone": "Europe/London",
    "daily_log": {"enabled": True, "time": "20:00"},
    "exercise": {"enabled": True, "time": "18:00"},
    "weekly_checkin": {"enabled": True, "weekday": "sunday", "time": "19:00"},
    "quiet_hours": {"start": "22:00", "end": "08:00"},
}
CHANGED: dict[str, Any] = {
    "timezone": "Asia/Kolkata",
    "daily_log": {"enabled": True, "time": "21:15"},
    "exercise": {"enabled": False, "time": "07:45"},
    "weekly_checkin": {"enabled": True, "weekday": "monday", "time": "09:30"},
    "quiet_hours": {"start": "23:00", "end": "06:30"},
}


def test_defaults_come_from_the_clinical_rules(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    response = client.get(URL, headers=patient_auth(session, app, patient))
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_put_replaces_the_set_up_changes_the_zone_and_reschedules(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    now = utc(2026, 6, 8, 9, 0)  # a Monday, 14:30 in Kolkata
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    give_plan(session, patient, now)
    headers = patient_auth(session, app, patient)
    response = client.put(URL, json=CHANGED, headers=headers)
    assert response.status_code == 200 and response.json() == CHANGED
    assert client.get(URL, headers=headers).json() == CHANGED
    stored = fresh(session).get(Patient, patient.id)
    assert stored is not None and stored.timezone == "Asia/Kolkata"  # the profile's zone, one source
    rows = schedule(session, patient.id)
    assert rows[LOG].next_due_at == utc(2026, 6, 8, 15, 45)  # 21:15 IST today
    assert rows[WEEKLY].next_due_at == utc(2026, 6, 15, 4, 0)  # next Monday 09:30 IST
    assert EXERCISE not in rows  # disabled
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert (event.resource, event.patient_id, event.detail) == (
        f"reminder_preference/{patient.id}",
        patient.id,
        {"timezone_changed": True},
    )


def test_equal_quiet_hours_mean_none(client: TestClient, app: FastAPI, session: Session) -> None:
    now = utc(2026, 6, 8, 9, 0)
    set_clock(app, session, now)
    patient = make_patient(session, app)
    assert patient.id is not None
    body: dict[str, Any] = copy.deepcopy(DEFAULTS) | {"quiet_hours": {"start": "00:00", "end": "00:00"}}
    body["daily_log"] = {"enabled": True, "time": "23:30"}  # would be skipped with the default quiet hours
    assert client.put(URL, json=body, headers=patient_auth(session, app, patient)).status_code == 200
    assert schedule(session, patient.id)[LOG].next_due_at == utc(2026, 6, 8, 22, 30)


def test_only_patients_have_reminder_settings(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_clinician(session, app))
    assert client.get(URL, headers=headers).status_code == 403
    assert client.put(URL, json=DEFAULTS, headers=headers).status_code == 403


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(DEFAULTS)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    if value is _MISSING:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


_MISSING = object()
BAD: list[tuple[tuple[str, ...], Any]] = [
    (("timezone",), "Mars/Olympus_Mons"),
    (("timezone",), 5),
    (("timezone",), _MISSING),
    (("daily_log",), "20:00"),
    (("daily_log",), _MISSING),
    (("daily_log", "enabled"), "true"),
    (("daily_log", "enabled"), 1),
    (("daily_log", "enabled"), None),
    (("daily_log", "time"), "25:00"),
    (("daily_log", "time"), "20:60"),
    (("daily_log", "time"), "8:00"),
    (("daily_log", "time"), "20:00:00"),
    (("daily_log", "time"), 2000),
    (("daily_log", "snooze"), True),
    (("exercise", "time"), "24:00"),
    (("exercise", "enabled"), _MISSING),
    (("weekly_checkin", "weekday"), "funday"),
    (("weekly_checkin", "weekday"), 6),
    (("weekly_checkin", "weekday"), "Sunday"),
    (("weekly_checkin", "time"), "7pm"),
    (("quiet_hours", "start"), "22"),
    (("quiet_hours", "end"), _MISSING),
    (("quiet_hours", "end"), None),
    (("vibrate",), True),
]


def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app)
    assert patient.id is not None
    headers = patient_auth(session, app, patient)

    def snapshot() -> tuple[Any, ...]:
        fresh(session)
        prefs = session.get(ReminderPreference, patient.id)
        stored = session.get(Patient, patient.id)
        assert prefs is not None and stored is not None
        rows = session.exec(select(ReminderSchedule).where(ReminderSchedule.patient_id == patient.id)).all()
        audits = session.exec(select(func.count()).select_from(AuditEvent)).one()
        return prefs.model_dump(), stored.timezone, sorted((r.kind, r.next_due_at) for r in rows), audits

    before = snapshot()
    for path, value in BAD:
        response = client.put(URL, json=_with(path, value), headers=headers)
        case = f"{'.'.join(path)} = {value!r}"
        assert_field_refused(response, ["body", *path], case)
    assert snapshot() == before
