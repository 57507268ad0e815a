"""The flare protocol on pain logs: reduce for 2 days, restore or extend, never stop."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from api.db import session_scope
from api.models import Alert, Patient, PlanStatus
from api.plans.service import pause_plan
from tests.factories import make_patient
from tests.plans.helpers import (
    START,
    assign,
    at_local,
    decisions,
    log_days,
    pain_log_check,
    pain_log_check_at,
    plan_of,
    sweep,
)

DAY = timedelta(days=1)
FLARE_DAY = START + 2 * DAY


@pytest.fixture
def patient(app: FastAPI, session: Session) -> Patient:
    """A medium-risk patient whose usual back pain is 3, on level 1 of their plan."""
    patient = make_patient(session, app)
    log_days(session, patient, START - 7 * DAY, [3] * 7)
    log_days(session, patient, START, [3, 3])
    assign(app, patient, "medium")
    return patient


def test_flare_reduces_for_two_days_then_restores(app: FastAPI, session: Session, patient: Patient) -> None:
    check = pain_log_check(app, patient, FLARE_DAY, 6, flare=True)
    assert check.decision is not None and check.decision.action == "reduce"
    assert check.ask_red_flags is True
    assert check.decision.reasons == [
        f"flare-up: lighter plan until {(FLARE_DAY + DAY).isoformat()}",
        "you reported a flare-up (back pain 6)",
    ]
    assert check.decision.inputs["usual"] == 3 and check.decision.inputs["flare_reported"] is True
    plan = plan_of(session, patient)
    assert plan.status == PlanStatus.REDUCED
    assert (plan.flare_started_on, plan.reduced_until) == (FLARE_DAY, FLARE_DAY + DAY)
    assert plan.walking_minutes_target == 10  # walking continues

    # Day 2: still inside the reduced days, whatever the log says.
    second = pain_log_check(app, patient, FLARE_DAY + DAY, 5)
    assert second.decision is None and second.message == f"lighter plan continues until {(FLARE_DAY + DAY).isoformat()}"

    # Day 3: back pain 4 ≤ usual 3 + 1 → restore.
    third = pain_log_check(app, patient, FLARE_DAY + 2 * DAY, 4)
    assert third.decision is not None and third.decision.action == "restore"
    assert (third.decision.from_status, third.decision.to_status) == ("reduced", "active")
    plan = plan_of(session, patient)
    assert (plan.status, plan.flare_started_on, plan.reduced_until) == (PlanStatus.ACTIVE, None, None)
    assert [d.action for d in decisions(session, patient)] == ["assign", "reduce", "restore"]


def test_an_unsettled_day_three_extends_by_two_days(app: FastAPI, session: Session, patient: Patient) -> None:
    pain_log_check(app, patient, FLARE_DAY, 7)  # usual 3 + 2 or more, no flag needed
    check = pain_log_check(app, patient, FLARE_DAY + 2 * DAY, 5)  # 5 > 3 + 1
    assert check.decision is not None and check.decision.action == "reduce"
    assert check.decision.from_status == check.decision.to_status == "reduced"
    assert check.decision.inputs["usual"] == 3  # the pre-flare usual, not the flare-inflated median
    plan = plan_of(session, patient)
    assert (plan.flare_started_on, plan.reduced_until) == (FLARE_DAY, FLARE_DAY + 3 * DAY)


def test_no_log_on_day_three_keeps_the_plan_reduced(app: FastAPI, session: Session, patient: Patient) -> None:
    pain_log_check(app, patient, FLARE_DAY, 3, flare=True)
    late = pain_log_check_at(app, patient, FLARE_DAY + DAY, 3, at_local(FLARE_DAY + 3 * DAY))  # a back-dated log
    assert late.decision is None
    assert plan_of(session, patient).status == PlanStatus.REDUCED


def test_a_rise_below_two_points_is_not_a_flare(app: FastAPI, session: Session, patient: Patient) -> None:
    assert pain_log_check(app, patient, FLARE_DAY, 4).decision is None
    assert plan_of(session, patient).status == PlanStatus.ACTIVE


def test_back_dated_logs_never_start_a_flare(app: FastAPI, session: Session, patient: Patient) -> None:
    check = pain_log_check_at(app, patient, FLARE_DAY - DAY, 9, at_local(FLARE_DAY), flare=True)
    assert check.decision is None and check.ask_red_flags is False
    assert plan_of(session, patient).status == PlanStatus.ACTIVE


def test_a_paused_plan_is_never_reduced_or_restored(app: FastAPI, session: Session, patient: Patient) -> None:
    with session_scope(app.state.engine) as db:
        assert pause_plan(db, patient.id or 0, reason="urgent red flag", now=at_local(START + DAY)) is not None
    assert pain_log_check(app, patient, FLARE_DAY, 9, flare=True).decision is None
    assert plan_of(session, patient).status == PlanStatus.PAUSED


def test_a_pause_ends_the_flare_and_resume_returns_to_the_status_before_it(
    app: FastAPI, session: Session, patient: Patient
) -> None:
    from api.plans.service import resume_plan
    from tests.factories import make_clinician

    clinician = make_clinician(session, app)
    pain_log_check(app, patient, FLARE_DAY, 8, flare=True)
    with session_scope(app.state.engine) as db:
        paused = pause_plan(db, patient.id or 0, reason="urgent red flag", now=at_local(FLARE_DAY, hour=18))
        assert paused is not None and paused.from_status == "reduced"
        assert paused.inputs["flare_ended"]["flare_started_on"] == FLARE_DAY.isoformat()
    plan = plan_of(session, patient)
    assert (plan.status, plan.flare_started_on, plan.status_before_pause) == (PlanStatus.PAUSED, None, "active")
    with session_scope(app.state.engine) as db:
        fresh = db.get(Patient, patient.id)
        assert fresh is not None
        resumed = resume_plan(
            db, fresh, reason="seen in clinic", now=at_local(FLARE_DAY + 3 * DAY), actor_id=clinician.id or 0
        )
        assert (resumed.from_status, resumed.to_status) == ("paused", "active")
    plan = plan_of(session, patient)
    assert plan.next_review_on == FLARE_DAY + 10 * DAY  # a full week from the resume


def test_a_completed_plan_returns_to_completed_after_a_flare(app: FastAPI, session: Session, patient: Patient) -> None:
    plan = plan_of(session, patient)
    plan.status = PlanStatus.COMPLETED
    session.add(plan)
    session.commit()
    assert pain_log_check(app, patient, FLARE_DAY, 3, flare=True).decision is not None
    restored = pain_log_check(app, patient, FLARE_DAY + 2 * DAY, 3).decision
    assert restored is not None and restored.to_status == "completed"
    assert plan_of(session, patient).status == PlanStatus.COMPLETED


def prolonged_alerts(session: Session, patient: Patient) -> list[Alert]:
    session.rollback()
    rows = list(
        session.exec(select(Alert).where(Alert.patient_id == patient.id, Alert.rule == "prolonged_flare")).all()
    )
    session.commit()
    return rows


def test_a_flare_lasting_more_than_seven_days_opens_one_prolonged_flare_alert(
    app: FastAPI, session: Session, patient: Patient
) -> None:
    pain_log_check(app, patient, FLARE_DAY, 8, flare=True)
    for day in (2, 4, 6):  # never settled: extended every second day
        assert pain_log_check(app, patient, FLARE_DAY + day * DAY, 7).decision is not None
    assert prolonged_alerts(session, patient) == []  # day 7 of the flare
    eighth = pain_log_check(app, patient, FLARE_DAY + 7 * DAY, 7)
    assert eighth.alert is not None and eighth.alert.rule == "prolonged_flare"
    alerts = prolonged_alerts(session, patient)
    assert len(alerts) == 1 and alerts[0].tier == "routine"
    assert alerts[0].evidence["flare_started_on"] == FLARE_DAY.isoformat()
    pain_log_check(app, patient, FLARE_DAY + 8 * DAY, 7)
    assert len(prolonged_alerts(session, patient)) == 1


def test_the_sweep_raises_prolonged_flare_when_no_logs_arrive(app: FastAPI, session: Session, patient: Patient) -> None:
    pain_log_check(app, patient, FLARE_DAY, 8, flare=True)
    assert sweep(app, at_local(FLARE_DAY + 6 * DAY))["prolonged_flares"] == 0
    assert sweep(app, at_local(FLARE_DAY + 7 * DAY))["prolonged_flares"] == 1
    assert len(prolonged_alerts(session, patient)) == 1
