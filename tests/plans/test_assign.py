"""Plan assignment on STarT Back results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from api.db import session_scope
from api.models import Notification, Patient, PlanStatus, ReminderSchedule
from api.plans.assign import assign_plan_for_risk_group
from api.plans.service import pause_plan
from api.rules.settings import DEFAULT_RULES
from exercise_library import get_library
from tests.factories import make_patient
from tests.plans.helpers import START, assign, at_local, decisions, plan_of

DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("risk_group", "template_id"),
    [("low", "self-management"), ("medium", "graded-exercise"), ("high", "graded-exercise-with-education")],
)
def test_each_risk_group_gets_its_template_at_level_one(
    app: FastAPI, session: Session, risk_group: str, template_id: str
) -> None:
    patient = make_patient(session, app, timezone="Asia/Kolkata")
    decision = assign(app, patient, risk_group)
    assert decision is not None
    assert (decision.action, decision.from_level, decision.to_level, decision.to_status) == (
        "assign",
        None,
        1,
        "active",
    )
    assert decision.reasons[0] == f"STarT Back risk group: {risk_group}"
    assert decision.inputs["risk_group"] == risk_group and decision.actor_type == "system"
    plan = plan_of(session, patient)
    first = get_library().template(template_id).level(1)
    assert (plan.template_id, plan.level, plan.status) == (template_id, 1, PlanStatus.ACTIVE)
    assert (plan.started_on, plan.next_review_on) == (START, START + 7 * DAY)
    assert plan.walking_minutes_target == first.walking_minutes
    assert plan.sessions_per_week == first.sessions_per_week
    session.rollback()
    note = session.exec(select(Notification).where(Notification.user_id == patient.user_id)).one()
    session.commit()
    assert (note.kind, note.title) == ("plan_change", "Your exercise plan is ready")


def test_the_same_risk_group_keeps_the_plan(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "medium")
    assert assign(app, patient, "medium", START + 14 * DAY) is None
    assert [d.action for d in decisions(session, patient)] == ["assign"]


def test_a_new_risk_group_switches_template_at_level_one(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "medium")
    plan = plan_of(session, patient)
    plan.level = 3
    session.add(plan)
    session.commit()
    switched = assign(app, patient, "high", START + 14 * DAY)
    assert switched is not None and switched.action == "assign"
    assert (switched.from_level, switched.to_level) == (3, 1)
    assert switched.inputs["previous_template_id"] == "graded-exercise"
    assert switched.reasons == [
        "STarT Back risk group: high",
        "plan changed from Graded exercise to Graded exercise with pain education, starting at level 1",
    ]
    plan = plan_of(session, patient)
    assert (plan.template_id, plan.level, plan.started_on) == ("graded-exercise-with-education", 1, START + 14 * DAY)


def test_a_paused_plan_stays_paused_when_the_template_changes(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "low")
    with session_scope(app.state.engine) as db:
        pause_plan(db, patient.id or 0, reason="urgent red flag", now=at_local(START + DAY))
    switched = assign(app, patient, "high", START + 2 * DAY)
    assert switched is not None and (switched.from_status, switched.to_status) == ("paused", "paused")
    plan = plan_of(session, patient)
    assert (plan.status, plan.status_before_pause, plan.template_id) == (
        PlanStatus.PAUSED,
        "active",
        "graded-exercise-with-education",
    )


def test_unknown_risk_group_is_refused(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    with session_scope(app.state.engine) as db:
        fresh = db.get(Patient, patient.id)
        assert fresh is not None
        with pytest.raises(ValueError, match="very_high"):
            assign_plan_for_risk_group(db, fresh, "very_high", at_local(START), rules=DEFAULT_RULES)
    assert decisions(session, patient) == []


def test_assignment_schedules_exercise_reminders_on_the_plans_days(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "medium")  # Monday START, 09:00: the next planned day's 18:00
    session.rollback()
    row = session.exec(
        select(ReminderSchedule).where(
            ReminderSchedule.patient_id == patient.id, ReminderSchedule.kind == "exercise_reminder"
        )
    ).one()
    session.commit()
    assert row.local_date == START
