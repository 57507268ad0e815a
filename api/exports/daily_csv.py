"""A patient's programme day by day, as CSV: one row per local date, programme start to today.

Columns: ``date``, ``back_pain``, ``leg_pain`` (empty when not logged), ``sessions`` (exercise
sessions done that day), ``plan_level`` and ``plan_status`` (as they stood at the end of that
day; empty before a plan), ``alerts_opened`` (rule codes of the alerts opened that day, with
their tier, separated by ``;``). Only numbers and codes: no free text, so nothing in it can be
read as a spreadsheet formula.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from api.exports.record import PatientRecord

COLUMNS = ("date", "back_pain", "leg_pain", "sessions", "plan_level", "plan_status", "alerts_opened")


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
    # The plan as it stood at the end of each day: the last decision decided on or before it.
    changes = [(record.local(d.decided_at).date(), d.to_level, d.to_status) for d in record.decisions]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    level: int | None = None
    status: str | None = None
    step = 0
    day = first_day(record)
    while day <= record.today:
        while step < len(changes) and changes[step][0] <= day:
            _, to_level, to_status = changes[step]
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
            )
        )
        day += timedelta(days=1)
    return out.getvalue()
