"""The sweep keeps going when one plan cannot be reviewed, and never decides a review twice."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlmodel import Session

from api.models import Patient, PlanDecision
from tests.factories import make_patient
from tests.plans.helpers import START, assign, at_local, decisions, log_days, plan_of, sweep, week

WEEK = timedelta(days=7)


def on_plan(app: FastAPI, session: Session) -> Patient:
    patient = make_patient(session, app)
    log_days(session, patient, START - WEEK, [3] * 7)
    assign(app, patient, "medium")
    week(session, patient, START)
    return patient


def test_a_plan_the_library_no_longer_matches_is_skipped_and_the_rest_reviewed(app: FastAPI, session: Session) -> None:
    broken, fine = on_plan(app, session), on_plan(app, session)
    plan = plan_of(session, broken)
    plan.template_id = "retired-template"
    session.add(plan)
    session.commit()
    result = sweep(app, at_local(START + WEEK, hour=2))
    assert (result["plan_reviews"], result["plan_review_errors"]) == (1, 1)
    assert [d.action for d in decisions(session, fine)] == ["assign", "progress"]
    assert plan_of(session, broken).next_review_on == START + WEEK  # retried by the next sweep


def test_a_review_decided_elsewhere_is_not_decided_again(app: FastAPI, session: Session) -> None:
    raced, other = on_plan(app, session), on_plan(app, session)
    plan = plan_of(session, raced)
    # As if another process had decided this review and crashed before moving the plan on.
    session.add(
        PlanDecision(
            plan_id=plan.id or 0,
            patient_id=raced.id or 0,
            action="hold",
            template_id=plan.template_id,
            from_level=1,
            to_level=1,
            reasons=["decided elsewhere"],
            inputs={},
            ruleset_version="test",
            actor_type="system",
            review_on=START + WEEK,
            decided_at=at_local(START + WEEK),
        )
    )
    session.commit()
    result = sweep(app, at_local(START + WEEK, hour=2))
    assert result["plan_reviews"] == 1
    assert [d.action for d in decisions(session, other)] == ["assign", "progress"]
    assert [d.reasons for d in decisions(session, raced)][-1] == ["decided elsewhere"]
    moved = plan_of(session, raced)
    assert (moved.level, moved.next_review_on) == (1, START + 2 * WEEK)
