"""Weekly reviews driven by the sweep, over weeks of logs and sessions on the application clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from api.models import Notification, NotificationKind, Patient, PlanDecision, PlanStatus
from tests.factories import make_clinician, make_patient
from tests.plans.helpers import (
    START,
    assign,
    at_local,
    count,
    decisions,
    log_days,
    pain_log_check,
    plan_of,
    sweep,
    week,
)

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


def reviews(session: Session, patient_id: int | None) -> list[PlanDecision]:
    session.rollback()
    rows = session.exec(
        select(PlanDecision).where(PlanDecision.patient_id == patient_id, PlanDecision.review_on != None)  # noqa: E711
    ).all()
    session.commit()
    return sorted(rows, key=lambda d: d.review_on or START)


@pytest.fixture
def patient_on_plan(app: FastAPI, session: Session) -> Patient:
    """A medium-risk patient with a week of logs before the plan starts (their usual pain: 3)."""
    patient = make_patient(session, app, make_clinician(session, app))
    log_days(session, patient, START - WEEK, [3] * 7, activity_minutes=20)
    assign(app, patient, "medium")
    return patient


def test_progress_then_hold_for_adherence_then_regress_after_two_red_sessions(
    app: FastAPI, session: Session, patient_on_plan: Patient
) -> None:
    patient = patient_on_plan
    plan = plan_of(session, patient)
    assert (plan.template_id, plan.level, plan.next_review_on) == ("graded-exercise", 1, START + WEEK)
    assert plan.walking_minutes_target == 10

    # Week 1: every planned session done, all green, pain steady → progress.
    week(session, patient, START)
    assert sweep(app, at_local(START + WEEK, hour=1))["plan_reviews"] == 1
    plan = plan_of(session, patient)
    assert (plan.level, plan.level_started_on, plan.next_review_on) == (2, START + WEEK, START + 2 * WEEK)
    progress = reviews(session, patient.id)[-1]
    assert progress.action == "progress" and (progress.from_level, progress.to_level) == (1, 2)
    assert "adherence 100 % (at least 80 %)" in progress.reasons
    assert "3 green sessions" in progress.reasons
    assert progress.inputs["session_classes"] == ["green", "green", "green"]
    assert progress.inputs["planned_sessions"] == 3 and progress.inputs["done_sessions"] == 3
    assert progress.inputs["weekly_mean_prev"] == 3 and progress.inputs["weekly_mean_this"] == 3
    assert progress.ruleset_version and progress.actor_type == "system"
    # Walking: the week-1 target becomes the patient's own mean (20 > 10), then x 1.10.
    assert progress.inputs["walking"]["week1_target"] == 20
    assert plan.walking_minutes_target == 22
    assert "daily walking target 10 min → 22 min" in progress.reasons

    # Week 2: two of three planned sessions → hold, with the adherence reason.
    week(session, patient, START + WEEK, sessions=(2, 2))
    sweep(app, at_local(START + 2 * WEEK, hour=1))
    hold = reviews(session, patient.id)[-1]
    assert hold.action == "hold" and hold.to_level == 2
    assert hold.reasons == ["adherence 67 % (below 80 %)"]
    plan = plan_of(session, patient)
    assert (plan.level, plan.next_review_on) == (2, START + 3 * WEEK)
    assert plan.walking_minutes_target == 22  # the week's mean (20) did not reach 22

    # Week 3: two red sessions (pain during 7) → regress one level.
    week(session, patient, START + 2 * WEEK, sessions=(7, 7, 2))
    sweep(app, at_local(START + 3 * WEEK, hour=1))
    regress = reviews(session, patient.id)[-1]
    assert regress.action == "regress" and (regress.from_level, regress.to_level) == (2, 1)
    assert "2 red sessions this week" in regress.reasons
    assert regress.inputs["session_classes"] == ["red", "red", "green"]
    plan = plan_of(session, patient)
    assert (plan.level, plan.level_started_on) == (1, START + 3 * WEEK)

    # The patient heard about the level changes, not about the hold.
    session.rollback()
    titles = session.exec(select(Notification.title).where(Notification.kind == NotificationKind.PLAN_CHANGE)).all()
    session.commit()
    assert sorted(titles) == sorted(["Your exercise plan is ready", "Moving up a level", "A lighter week"])


def test_running_the_sweep_twice_decides_once(app: FastAPI, session: Session, patient_on_plan: Patient) -> None:
    patient = patient_on_plan
    week(session, patient, START)
    first = sweep(app, at_local(START + WEEK, hour=3))
    again = sweep(app, at_local(START + WEEK, hour=9))
    assert (first["plan_reviews"], again["plan_reviews"]) == (1, 0)
    assert [d.action for d in decisions(session, patient)] == ["assign", "progress"]
    assert plan_of(session, patient).level == 2


def test_nothing_is_reviewed_before_the_review_date(app: FastAPI, session: Session, patient_on_plan: Patient) -> None:
    patient = patient_on_plan
    week(session, patient, START)
    assert sweep(app, at_local(START + WEEK - DAY, hour=23))["plan_reviews"] == 0
    assert [d.action for d in decisions(session, patient)] == ["assign"]


def test_missed_reviews_are_caught_up_one_week_at_a_time(
    app: FastAPI, session: Session, patient_on_plan: Patient
) -> None:
    patient = patient_on_plan
    week(session, patient, START)
    week(session, patient, START + WEEK, sessions=(2, 2))  # adherence 67 %: this week alone holds
    week(session, patient, START + 2 * WEEK)
    result = sweep(app, at_local(START + 3 * WEEK + 2 * DAY))
    assert result["plan_reviews"] == 3
    done = reviews(session, patient.id)
    assert [(d.review_on, d.action, d.from_level, d.to_level) for d in done] == [
        (START + WEEK, "progress", 1, 2),
        (START + 2 * WEEK, "hold", 2, 2),
        (START + 3 * WEEK, "progress", 2, 3),
    ]
    assert done[1].inputs["week_start"] == (START + WEEK).isoformat()
    plan = plan_of(session, patient)
    assert (plan.level, plan.level_started_on, plan.next_review_on) == (3, START + 3 * WEEK, START + 4 * WEEK)
    # One message about where the catch-up left the plan, not one per missed week.
    session.rollback()
    bodies = session.exec(
        select(Notification.body).where(
            Notification.patient_id == patient.id, Notification.title == "Moving up a level"
        )
    ).all()
    session.commit()
    assert len(bodies) == 1 and "level 3" in bodies[0]


def test_a_flare_in_the_week_regresses_and_resets_walking(
    app: FastAPI, session: Session, patient_on_plan: Patient
) -> None:
    patient = patient_on_plan
    week(session, patient, START)
    sweep(app, at_local(START + WEEK, hour=1))
    assert plan_of(session, patient).walking_minutes_target == 22
    week(session, patient, START + WEEK)
    assert pain_log_check(app, patient, START + WEEK + 2 * DAY, 6, flare=True).decision is not None
    assert pain_log_check(app, patient, START + WEEK + 4 * DAY, 3).decision is not None  # restored on day 3
    sweep(app, at_local(START + 2 * WEEK, hour=1))
    regress = reviews(session, patient.id)[-1]
    assert regress.action == "regress" and "a flare-up this week" in regress.reasons
    assert regress.inputs["flare_in_week"] is True
    plan = plan_of(session, patient)
    assert plan.level == 1 and plan.status == PlanStatus.ACTIVE
    assert plan.walking_minutes_target == 20  # max(week-1 target 20, 0.9 x 22)


def test_an_open_urgent_alert_blocks_progress(app: FastAPI, session: Session, patient_on_plan: Patient) -> None:
    from api.alerts.service import raise_alert
    from api.db import session_scope
    from api.rules.types import AlertSpec, RuleCode, Tier

    patient = patient_on_plan
    week(session, patient, START)
    with session_scope(app.state.engine) as db:
        spec = AlertSpec(RuleCode.RED_FLAG_URGENT_DAYS, Tier.URGENT_DAYS, {"symptoms": []}, key="t")
        raise_alert(db, patient.id or 0, spec, at_local(START + 3 * DAY))
    sweep(app, at_local(START + WEEK, hour=1))
    hold = reviews(session, patient.id)[-1]
    assert hold.action == "hold" and hold.reasons[0] == "an emergency or urgent alert is open"
    assert hold.inputs["open_urgent_alert"] is True


def test_completion_at_the_top_level_needs_two_reviews(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    log_days(session, patient, START - WEEK, [2] * 7, activity_minutes=30)
    assign(app, patient, "low")
    plan = plan_of(session, patient)
    plan.level = 3  # self-management has 3 levels
    session.add(plan)
    session.commit()
    week(session, patient, START, pain=2)
    sweep(app, at_local(START + WEEK, hour=1))
    first = reviews(session, patient.id)[-1]
    assert first.action == "hold"
    assert "top level: all criteria met in 1 of 2 reviews needed to complete" in first.reasons
    assert plan_of(session, patient).top_level_reviews_met == 1
    week(session, patient, START + WEEK, pain=2)
    sweep(app, at_local(START + 2 * WEEK, hour=1))
    done = reviews(session, patient.id)[-1]
    assert done.action == "complete" and done.to_status == PlanStatus.COMPLETED
    assert "top level managed well: plan complete, maintenance from now" in done.reasons
    assert plan_of(session, patient).status == PlanStatus.COMPLETED
    # Completed plans are not reviewed any more.
    week(session, patient, START + 2 * WEEK, pain=2)
    assert sweep(app, at_local(START + 3 * WEEK, hour=1))["plan_reviews"] == 0


def test_reviews_follow_each_patients_local_date(app: FastAPI, session: Session) -> None:
    east = make_patient(session, app, timezone="Pacific/Auckland")
    west = make_patient(session, app, timezone="America/Los_Angeles")
    for patient in (east, west):
        log_days(session, patient, START - WEEK, [3] * 7)
        assign(app, patient, "medium")
        week(session, patient, START)
    # 00:30 on review day in Auckland is still the day before in Los Angeles.
    sweep(app, at_local(START + WEEK, "Pacific/Auckland", 0).replace(minute=30))
    assert [d.action for d in decisions(session, east)] == ["assign", "progress"]
    assert [d.action for d in decisions(session, west)] == ["assign"]
    sweep(app, at_local(START + WEEK, "America/Los_Angeles", 1))
    assert [d.action for d in decisions(session, west)] == ["assign", "progress"]
    assert count(session, PlanDecision) == 4
