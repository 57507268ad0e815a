"""A patient's programme day by day, as CSV: one row per local date, programme start to today.

Columns: ``date``, ``back_pain``, ``leg_pain`` (empty when not logged), ``sessions`` (exercise
sessions done that day), ``plan_level`` and ``plan_status`` (as they stood at the end of that
day; empty before a plan), ``alerts_opened`` (rule codes of the alerts opened that day, with
their tier, separated by ``;``), ``prescription`` (the exercises of the plan's level as it
stood that day: ``exercise-id: dose`` separated by ``;``, each dose written by
``api.exercises.dose.dose_text`` as on the dashboard; while ``plan_status`` is ``reduced`` or
``paused`` the patient was given the lighter or relaxation-only version of it),
``interference`` and ``sleep_quality`` (0-10, empty when not logged), ``flare`` (``1`` when a
flare-up was reported, else ``0``; empty without a log), ``medications`` (medication classes
taken, never names or doses) and ``symptoms`` (red-flag symptom codes reported), both
separated by ``;``, ``alerts_acknowledged`` and ``alerts_resolved`` (rule codes of the alerts
the care team acknowledged or resolved that day), ``exercise_minutes`` (minutes of the
sessions done that day) and ``plan_decisions`` (the plan decisions made that day, as their
action codes in order, e.g. ``assign;progress``; their reasons are in the FHIR export's
Provenance) -- the same record the FHIR export carries. Only numbers,
codes and the library's dose words: no free text, and no cell starts with ``= + - @``, so
nothing in it can be read as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from api.exercises.dose import dose_text
from api.exports.record import PatientRecord
from exercise_library import get_library

COLUMNS = (
    "date",
    "back_pain",
    "leg_pain",
    "sessions",
    "plan_level",
    "plan_status",
    "alerts_opened",
    "prescription",
    "interference",
    "sleep_quality",
    "flare",
    "medications",
    "symptoms",
    "alerts_acknowledged",
    "alerts_resolved",
    "exercise_minutes",
    "plan_decisions",
)


def _cell(value: int | None) -> str | int:
    return "" if value is None else value


def prescription_cell(template_id: str | None, level: int | None) -> str:
    """A level's prescription in one cell: ``cat-camel: 2 x 8 reps; bridge: 2 x 8 reps, hold 3 s each``."""
    if template_id is None or level is None:
        return ""
    items = get_library().prescription(template_id, level)
    return "; ".join(f"{item.exercise_id}: {dose_text(item)}" for item in items)


def first_day(record: PatientRecord) -> date:
    """Programme day 1, or the local registration date for a patient who never logged."""
    start = record.patient.programme_started_on
    registered = record.local(record.patient.created_at).date()
    return min(start, registered) if start is not None else registered


def daily_csv(record: PatientRecord) -> str:
    logs = {log.log_date: log for log in record.logs}
    opened: dict[date, list[str]] = {}
    for alert in record.alerts:
        opened.setdefault(record.local(alert.opened_at).date(), []).append(f"{alert.rule} ({alert.tier})")
    acknowledged: dict[date, list[str]] = {}
    resolved: dict[date, list[str]] = {}
    for alert in record.alerts:
        for moment, into in ((alert.acknowledged_at, acknowledged), (alert.resolved_at, resolved)):
            if moment is not None:
                into.setdefault(record.local(moment).date(), []).append(alert.rule)
    minutes: dict[date, int] = {}
    for done in record.sessions:
        minutes[done.performed_on] = minutes.get(done.performed_on, 0) + done.duration_minutes
    # The plan as it stood at the end of each day: the last decision decided on or before it.
    changes = [(record.local(d.decided_at).date(), d.template_id, d.to_level, d.to_status) for d in record.decisions]
    decided: dict[date, list[str]] = {}
    for decision in record.decisions:
        decided.setdefault(record.local(decision.decided_at).date(), []).append(decision.action)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    template: str | None = None
    level: int | None = None
    status: str | None = None
    step = 0
    day = first_day(record)
    while day <= record.today:
        while step < len(changes) and changes[step][0] <= day:
            _, template, to_level, to_status = changes[step]
            level = to_level if to_level is not None else level
            status = to_status if to_status is not None else status
            step += 1
        log = logs.get(day)
        writer.writerow(
            (
                day.isoformat(),
                log.back_pain if log else "",
                log.leg_pain if log is not None and log.leg_pain is not None else "",
                record.sessions_per_day.get(day, 0),
                level if level is not None else "",
                status or "",
                ";".join(opened.get(day, [])),
                prescription_cell(template, level),
                _cell(log.interference) if log else "",
                _cell(log.sleep_quality) if log else "",
                int(log.flare) if log else "",
                ";".join(log.medications) if log else "",
                ";".join(log.symptoms) if log else "",
                ";".join(acknowledged.get(day, [])),
                ";".join(resolved.get(day, [])),
                minutes.get(day, 0),
                ";".join(decided.get(day, [])),
            )
        )
        day += timedelta(days=1)
    return out.getvalue()
