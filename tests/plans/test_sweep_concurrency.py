"""Several sweep processes on PostgreSQL: a plan another sweeper holds is skipped, never waited for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session

from api.db import session_scope
from api.plans.sweep import sweep_plans
from api.rules.settings import DEFAULT_RULES
from tests.factories import make_patient
from tests.plans.helpers import START, assign, at_local, decisions, log_days, plan_of, week

WEEK = timedelta(days=7)


@pytest.mark.postgresql_only  # SQLite has one writer at a time; SKIP LOCKED is PostgreSQL's
def test_a_plan_locked_by_another_sweeper_is_skipped_then_reviewed_once(app: FastAPI, session: Session) -> None:
    held, free = make_patient(session, app), make_patient(session, app)
    for patient in (held, free):
        log_days(session, patient, START - WEEK, [3] * 7)
        assign(app, patient, "medium")
        week(session, patient, START)
    held_plan = plan_of(session, held)
    engine = app.state.engine
    now = at_local(START + WEEK, hour=2)
    with session_scope(engine) as other:
        other.connection().exec_driver_sql("SELECT id FROM plan WHERE id = %(id)s FOR UPDATE", {"id": held_plan.id})
        first = sweep_plans(engine, now, batch_size=1, rules=DEFAULT_RULES)
    assert first["plan_reviews"] == 1
    assert [d.action for d in decisions(session, free)] == ["assign", "progress"]
    assert [d.action for d in decisions(session, held)] == ["assign"]
    assert sweep_plans(engine, now, batch_size=1, rules=DEFAULT_RULES)["plan_reviews"] == 1
    assert sweep_plans(engine, now, batch_size=1, rules=DEFAULT_RULES)["plan_reviews"] == 0
    assert [d.action for d in decisions(session, held)] == ["assign", "progress"]
