"""Several sweep processes share the work without doing any of it twice."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import Session, select

from api.alerts.sweep import sweep_escalations
from api.models import Alert, Notification, NotificationKind
from api.rules.settings import DEFAULT_RULES
from tests.alerts.helpers import at_local, count, day, engine_of, fresh, put_logs
from tests.conftest import open_session
from tests.factories import make_clinician, make_patient


def test_concurrent_sweeps_evaluate_each_patient_once(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patients = [make_patient(session, app, clinician) for _ in range(12)]
    for patient in patients:
        put_logs(session, patient, day(1), [6] * 13)  # silent for a week, day 14 never logged
    now = at_local(day(21), 1)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait(timeout=30)
        results.append(sweep_escalations(engine_of(app), now, rules=DEFAULT_RULES, batch_size=2, workers=2))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 3
    assert sum(r["escalation_patients"] for r in results) == 12
    assert sum(r["escalation_failed"] for r in results) == 0
    assert count(session, Alert) == 24  # silent + no_improvement_2w each
    nudges = session.exec(select(Notification).where(Notification.kind == NotificationKind.NUDGE)).all()
    assert len(nudges) == 12
    session.commit()


@pytest.mark.postgresql_only  # row locks and SKIP LOCKED are PostgreSQL's; SQLite serialises writers
def test_a_patient_row_held_by_a_request_is_swept_once_it_is_released(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    put_logs(session, patient, day(1), [5] * 3)
    result: list[dict[str, int]] = []
    with open_session(engine_of(app)) as holder:
        holder.execute(text("SELECT id FROM patient WHERE id = :id FOR NO KEY UPDATE"), {"id": patient.id})
        worker = threading.Thread(
            target=lambda: result.append(
                sweep_escalations(engine_of(app), at_local(day(10), 1), rules=DEFAULT_RULES, batch_size=10)
            )
        )
        worker.start()
        _wait_for_lock_wait(session)  # the first pass skipped the row; the second waits for it
        holder.commit()
    worker.join(timeout=60)
    assert result and result[0]["escalation_patients"] == 1 and result[0]["escalation_deferred"] == 0
    assert fresh(session, patient).swept_on == day(10)


_LOCK_WAITS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def _wait_for_lock_wait(session: Session) -> None:
    for _ in range(600):
        waiting = session.execute(_LOCK_WAITS).scalar_one()
        session.commit()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the sweep never waited for the held row")
