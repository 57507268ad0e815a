"""The scheduler killed with SIGKILL in the middle of a tick, then a fresh tick: no reminder
lost, none sent twice (SPEC §4).

The tick runs in a real ``backstep jobs run reminders`` process. Its ``process_batch`` is
wrapped (in that child only) to report each batch and, on the second one, to stop
inside the batch's open transaction: the first batch is committed, the second has
inserted its notifications and moved its schedule rows but not committed, when the
process is killed. Nothing of the second batch may survive, and the next tick must
send exactly what the dead one did not.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from api.config import Settings
from api.models import Notification, ReminderSchedule
from tests.factories import make_patient
from tests.reminders.helpers import LOG, set_clock, tick, utc

PATIENTS = 30
BATCH = 10
ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    import api.reminders.tick as tick

    original = tick.process_batch
    batches = 0

    def reporting(session, rows, now, settings):
        global batches
        counts = original(session, rows, now, settings)
        session.flush()
        batches += 1
        print(f"batch {batches} flushed", flush=True)
        if batches == 2:
            time.sleep(120)  # killed here, inside the uncommitted second batch
        return counts

    tick.process_batch = reporting
    from api.cli import main
    sys.exit(main(["jobs", "run", "reminders", "--now", sys.argv[1]]))
    """
)


def test_a_tick_killed_mid_batch_loses_and_duplicates_nothing(
    app: FastAPI, session: Session, engine: Engine, settings: Settings, database_url: str
) -> None:
    set_clock(app, session, utc(2026, 6, 8, 9, 0))
    patients = [make_patient(session, app) for _ in range(PATIENTS)]
    due_at = utc(2026, 6, 8, 19, 0, 30)  # 20:00:30 in London: every daily-log reminder is due
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BACKSTEP_REMINDER_BATCH_SIZE": str(BATCH),
        "BACKSTEP_LOG_LEVEL": "WARNING",
    }
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, due_at.isoformat()], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            seen = [child.stdout.readline().strip() for _ in range(2)]
            assert seen == ["batch 1 flushed", "batch 2 flushed"]
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    session.rollback()
    assert _sent(session) == BATCH  # the first batch committed, the second rolled back with the process

    result = tick(engine, settings, due_at)
    assert result["created"] == PATIENTS - BATCH
    assert tick(engine, settings, due_at)["created"] == 0  # and again: nothing twice

    session.rollback()
    per_patient = dict(
        session.exec(
            select(Notification.patient_id, func.count())
            .where(Notification.kind == LOG)
            .group_by(col(Notification.patient_id))
        ).all()
    )
    assert per_patient == {p.id: 1 for p in patients}
    moved = session.exec(select(ReminderSchedule).where(ReminderSchedule.kind == LOG)).all()
    assert {row.local_date.isoformat() for row in moved} == {"2026-06-09"}


def _sent(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Notification).where(Notification.kind == LOG)).one())
