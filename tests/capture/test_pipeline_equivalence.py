"""The pure evaluation agrees with the escalation and flare services it short-cuts.

``api.rules.pipeline.evaluate`` decides, over the snapshot ``write_and_load`` returns, whether
a written log needs the services at all (``Decisions.quiet``). When it says quiet, the
services (``evaluate_written_logs``, run in the same transaction over the same data and
then rolled back) must do nothing either: tier ``none``, no alert opened or touched, no
plan decision, and the same flare answer. Generated histories (hypothesis): pain, flares,
numbness and muscle relaxants over up to seven weeks, a plan active, reduced for a flare,
paused or absent, and today's log with or without red flags.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from api.db import session_scope
from api.escalation.snapshot import write_and_load
from api.models import Alert, PainLog, Patient, Plan, PlanDecision, PlanStatus
from api.pain_logs.evaluation import _flare_public, evaluate_written_logs
from api.pain_logs.schemas import PainLogWrite
from api.pain_logs.service import upsert_pain_log
from api.rules.advice import advice_for
from api.rules.pipeline import LogsWritten, evaluate
from api.rules.settings import DEFAULT_RULES
from api.rules.types import Tier
from tests.capture.helpers import START
from tests.factories import make_clinician, make_patient
from tests.plans.helpers import assign

TODAY = START.date()  # London, noon UTC
Day = tuple[int, bool, bool, bool] | None  # back pain, flare, one-leg numbness, muscle relaxant

days = st.one_of(st.none(), st.tuples(st.integers(0, 10), st.booleans(), st.booleans(), st.booleans()))
plans = st.sampled_from(["none", "active", "reduced", "paused"])
symptoms = st.sampled_from([{}, {}, {}, {"one_leg_numbness": True}, {"night_pain": True}, {"bladder_change": True}])


def _arrange(
    app: FastAPI, engine: Engine, session: Session, history: list[Day], plan: str, flare_age: int, *, team: bool = True
) -> int:
    patient = make_patient(session, app, make_clinician(session, app) if team else None)
    assert patient.id is not None
    first = TODAY - timedelta(days=len(history))
    with session_scope(engine) as db:
        for offset, day in enumerate(history):
            if day is None:
                continue
            pain, flare, numb, relaxant = day
            on = first + timedelta(days=offset)
            moment = datetime.combine(on, START.timetz())
            db.add(
                PainLog(
                    patient_id=patient.id,
                    log_date=on,
                    back_pain=pain,
                    flare=flare,
                    symptoms=["one_leg_numbness"] if numb else [],
                    medications=["muscle_relaxant"] if relaxant else [],
                    muscle_relaxant=relaxant,
                    content_hash=f"h{offset}",
                    client_updated_at=moment,
                    created_at=moment,
                    updated_at=moment,
                )
            )
    if plan != "none":
        assign(app, patient, "medium", on=first)
        with session_scope(engine) as db:
            row = db.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
            if plan == "reduced":
                row.status, row.status_before_pause = PlanStatus.REDUCED, PlanStatus.ACTIVE
                row.flare_started_on = TODAY - timedelta(days=flare_age)
                row.reduced_until = row.flare_started_on + timedelta(days=1)
            elif plan == "paused":
                row.status, row.status_before_pause = PlanStatus.PAUSED, PlanStatus.ACTIVE
            db.add(row)
    return patient.id


def _count(db: Session, model: Any, patient_id: int) -> int:
    return int(db.exec(select(func.count()).select_from(model).where(col(model.patient_id) == patient_id)).one())


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    history=st.lists(days, max_size=50),
    plan=plans,
    flare_age=st.integers(0, 10),
    pain=st.integers(0, 10),
    flare=st.booleans(),
    reported=symptoms,
)
def test_a_quiet_decision_is_what_the_services_would_do(
    app: FastAPI,
    engine: Engine,
    session: Session,
    history: list[Day],
    plan: str,
    flare_age: int,
    pain: int,
    flare: bool,
    reported: dict[str, bool],
) -> None:
    patient_id = _arrange(app, engine, session, history, plan, flare_age)
    body = PainLogWrite.model_validate(
        {"back_pain": pain, "flare": flare, "symptoms": reported, "client_updated_at": START.isoformat()}
    )
    db = Session(engine, expire_on_commit=False)
    try:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        written = upsert_pain_log(db, patient, TODAY, body, START)
        loaded = write_and_load(db, patient, [TODAY], START)
        decisions = evaluate(loaded.snapshot, LogsWritten((TODAY,)), START, DEFAULT_RULES)
        alerts, plan_decisions = _count(db, Alert, patient_id), _count(db, PlanDecision, patient_id)
        old = evaluate_written_logs(db, patient, [written.log], START, DEFAULT_RULES)
        db.flush()
        if decisions.quiet:
            assert old.triage.tier is Tier.NONE
            assert old.triage.alert_ids == []
            assert old.triage.advice == advice_for(Tier.NONE, DEFAULT_RULES)
            assert _count(db, Alert, patient_id) == alerts
            assert _count(db, PlanDecision, patient_id) == plan_decisions
            asked = decisions.asks_red_flags
            assert old.flare == (_flare_public(asked.reason, patient.locale) if asked is not None else None)
        else:
            # Something to act on: the services did act (an alert, a plan change or a tier).
            acted = (
                old.triage.tier is not Tier.NONE
                or _count(db, Alert, patient_id) != alerts
                or _count(db, PlanDecision, patient_id) != plan_decisions
                or bool(old.triage.alert_ids)
            )
            assert acted
    finally:
        db.rollback()
        db.close()


def test_the_snapshot_holds_what_the_services_load(app: FastAPI, engine: Engine, session: Session) -> None:
    before: Day = (7, False, True, False)
    after: Day = (3, True, False, True)
    history = [before] * 7 + [after] * 14
    patient_id = _arrange(app, engine, session, history, "reduced", 1)
    db = Session(engine, expire_on_commit=False)
    try:
        patient = db.get(Patient, patient_id)
        assert patient is not None
        loaded = write_and_load(db, patient, [TODAY - timedelta(days=1)], START)
        snapshot = loaded.snapshot
        assert len(snapshot.days) == 21 and snapshot.days[0].on == TODAY - timedelta(days=21)
        assert snapshot.days[0].symptoms and snapshot.days[-1].medications and snapshot.days[-1].flare
        assert snapshot.plan is not None and snapshot.plan.status == "reduced"
        assert snapshot.plan.flare_started_on == TODAY - timedelta(days=1)
        assert loaded.plan is not None and loaded.last_decision is not None
        assert loaded.last_decision.action == "assign"
        assert patient.last_log_on == TODAY - timedelta(days=1)
        # The arranged rows bypassed the bookkeeping: the range starts at the written date.
        stored: date | None = patient.programme_started_on
        assert stored == TODAY - timedelta(days=1)
    finally:
        db.rollback()
        db.close()
