"""Reminder tick benchmark (SPEC §5): 100,000 patients on PostgreSQL.

    .venv/bin/python -m bench.reminder_tick [--patients 100000] [--due 10000]

Builds a scratch database ``bench_reminders`` (dropped at the end) with the patients'
users, preferences (the clinic defaults, quiet hours 22:00-08:00 included), one push
device each and daily-log schedule rows, ``--due`` of them due now, then times a tick
with nothing due (bar: ≤ 50 ms; 20 ticks, median and max reported) and one tick firing
the due reminders (bar: ≤ 10 s): each decided by the rules, its notification inserted
under its unique key with one pending delivery for the patient's device (the devices
and quiet hours of the batch's recipients looked up, as in production), its schedule
row moved to the next day, in batches of ``BACKSTEP_REMINDER_BATCH_SIZE``. Sending the
pushes is measured by ``bench/delivery.py``.

History: the reminders engineer recorded, under load average 4-6, idle ticks of
1.0-4.8 ms median and 10,000 due reminders in 7.1-9.0 s (four runs); the current
figures are in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from api.config import Settings
from api.db import make_engine
from api.logs import configure_logging
from api.models import Device, DevicePlatform, Patient, ReminderPreference, ReminderSchedule, User
from api.reminders.service import default_preferences
from api.reminders.tick import run_reminder_tick
from api.rules.settings import DEFAULT_RULES
from bench.common import machine, save, scratch_database, wait_for_quiet

NOW = datetime(2026, 6, 8, 19, 0, 30, tzinfo=UTC)  # 20:00:30 BST


def build(engine: sa.Engine, patients: int, due: int) -> None:
    created = NOW - timedelta(days=3)
    chunk = 5000
    # The clinic's defaults from their one source, quiet hours included (22:00-08:00).
    defaults = default_preferences(0, created, DEFAULT_RULES).model_dump(exclude={"patient_id", "updated_at"})
    assert defaults["quiet_start"] != defaults["quiet_end"], "the benchmark needs quiet hours"
    with engine.begin() as connection:
        for start in range(0, patients, chunk):
            ids = range(start + 1, min(start + chunk, patients) + 1)
            connection.execute(
                sa.insert(User),
                [
                    {"id": i, "email": f"p{i}@bench.test", "password_hash": "x", "display_name": "P",
                     "role": "patient", "is_active": True, "created_at": created}
                    for i in ids
                ],
            )  # fmt: skip
            connection.execute(
                sa.insert(Patient),
                [{"id": i, "user_id": i, "timezone": "Europe/London", "created_at": created, "updated_at": created}
                 for i in ids],
            )  # fmt: skip
            connection.execute(
                sa.insert(ReminderPreference), [{**defaults, "patient_id": i, "updated_at": created} for i in ids]
            )
            connection.execute(
                sa.insert(Device),
                [
                    {"id": i, "user_id": i, "platform": DevicePlatform.WEBHOOK, "token": f"bench-device-{i}",
                     "created_at": created}
                    for i in ids
                ],
            )  # fmt: skip
            connection.execute(
                sa.insert(ReminderSchedule),
                [
                    {"patient_id": i, "kind": "daily_log_reminder", "local_date": date(2026, 6, 8) if i <= due
                     else date(2026, 6, 9), "next_due_at": datetime(2026, 6, 8, 19, 0, tzinfo=UTC) if i <= due
                     else datetime(2026, 6, 9, 19, 0, tzinfo=UTC)}
                    for i in ids
                ],
            )  # fmt: skip
        for table in ("app_user", "patient", "device"):
            connection.execute(sa.text(f"SELECT setval('{table}_id_seq', {patients})"))
        connection.execute(sa.text("ANALYZE"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--quiet-load", type=float, default=1.5)
    parser.add_argument("--name", default="reminder_tick")
    args = parser.parse_args()
    configure_logging("WARNING", True)
    record: dict[str, Any] = {
        "benchmark": "reminder_tick",
        "command": " ".join(["python -m bench.reminder_tick", *sys.argv[1:]]),
        "patients": args.patients,
    }
    with scratch_database("reminders", "postgresql") as url:
        settings = Settings(database_url=url, log_level="WARNING")
        engine = make_engine(settings)
        build(engine, args.patients, args.due)
        record["machine"] = machine()
        record["load_before"] = wait_for_quiet(args.quiet_load, retries=3, pause=300)
        idle = []
        for _ in range(20):
            started = time.perf_counter()
            run_reminder_tick(engine, settings, NOW - timedelta(hours=2))
            idle.append(time.perf_counter() - started)
        started = time.perf_counter()
        fired = run_reminder_tick(engine, settings, NOW)
        tick_seconds = time.perf_counter() - started
        with engine.connect() as connection:
            notifications = connection.execute(sa.text("SELECT count(*) FROM notification")).scalar_one()
            deliveries = connection.execute(sa.text("SELECT count(*) FROM delivery")).scalar_one()
        engine.dispose()
    record.update(
        {
            "idle_tick_ms_median": round(statistics.median(idle) * 1000, 2),
            "idle_tick_ms_max": round(max(idle) * 1000, 2),
            "due_tick_seconds": round(tick_seconds, 2),
            "due_tick_result": fired,
            "notifications_created": notifications,
            "devices": args.patients,
            "deliveries_created": deliveries,
            "bars": {
                "idle_le_50ms": statistics.median(idle) <= 0.05,
                "due_le_10s": tick_seconds <= 10,
                "each_due_reminder_once": notifications == args.due == fired["created"],
                "one_delivery_each": deliveries == notifications,
            },
            "load_after": machine()["loadavg"],
        }
    )
    save(args.name, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
