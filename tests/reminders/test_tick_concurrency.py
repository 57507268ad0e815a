"""Several schedulers at once: one notification per reminder, and an idle tick costs one
indexed query."""

from __future__ import annotations

import threading
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, event, text
from sqlmodel import Session

from api.config import Settings
from tests.factories import make_patient
from tests.reminders.helpers import LOG, reminders, set_clock, tick, utc


def test_schedulers_racing_on_the_same_minute_create_each_reminder_once(
    app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    set_clock(app, session, utc(2026, 6, 8, 9, 0))
    patients = [make_patient(session, app) for _ in range(12)]
    small_batches = settings.model_copy(update={"reminder_batch_size": 3})
    barrier = threading.Barrier(4)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def scheduler(second: int) -> None:
        try:
            barrier.wait()
            results.append(tick(engine, small_batches, utc(2026, 6, 8, 19, 0, second)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(s,)) for s in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(r["created"] for r in results) == 12
    for patient in patients:
        assert patient.id is not None
        assert len(reminders(session, patient.id, LOG)) == 1


def test_a_tick_with_nothing_due_is_one_query(
    engine: Engine, settings: Settings, app: FastAPI, session: Session
) -> None:
    set_clock(app, session, utc(2026, 6, 8, 9, 0))
    make_patient(session, app)
    statements: list[str] = []

    def capture(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.strip().split()[0].upper())

    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert tick(engine, settings, utc(2026, 6, 8, 12, 0))["due"] == 0
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert [s for s in statements if s not in ("BEGIN",)] == ["SELECT"]


def test_the_due_query_uses_the_next_due_index(engine: Engine, settings: Settings) -> None:
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = connection.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM reminder_schedule WHERE next_due_at <= :now "
                    "ORDER BY next_due_at LIMIT 500"
                ),
                {"now": "2026-06-08 12:00:00"},
            ).all()
            assert any("ix_reminder_schedule_next_due_at" in str(row) for row in plan), plan
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = connection.execute(
                text(
                    "EXPLAIN SELECT * FROM reminder_schedule WHERE next_due_at <= now() "
                    "ORDER BY next_due_at LIMIT 500 FOR UPDATE SKIP LOCKED"
                )
            ).all()
            assert any("ix_reminder_schedule_next_due_at" in str(row) for row in plan), plan
        connection.rollback()
