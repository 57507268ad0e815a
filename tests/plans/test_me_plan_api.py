"""The patient's plan endpoints: /me/plan, /me/plan/today, /me/plan/history."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.db import session_scope
from api.plans.service import pause_plan
from exercise_library import get_library
from tests.factories import make_patient, patient_auth
from tests.plans.helpers import START, assign, at_local, log_days, log_session, pain_log_check, set_clock, sweep, week

DAY = timedelta(days=1)


def test_no_plan_yet_is_a_clear_404(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    for path in ("/api/v1/me/plan", "/api/v1/me/plan/today"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.json()["code"] == "no_plan"
        assert "STarT Back" in response.json()["detail"]
    history = client.get("/api/v1/me/plan/history", headers=headers)
    assert history.status_code == 200 and history.json() == {"items": [], "next_cursor": None}


def test_my_plan_has_the_spec_shape(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "high")
    set_clock(app, session, at_local(START + DAY))
    body = client.get("/api/v1/me/plan", headers=patient_auth(session, app, patient)).json()
    library = get_library()
    assert body["template_id"] == "graded-exercise-with-education"
    assert (body["level"], body["level_count"], body["status"]) == (
        1,
        library.level_count(body["template_id"]),
        "active",
    )
    assert body["level_name"] == library.level_name(body["template_id"], 1)
    assert body["sessions_per_week"] == 3 and body["walking_minutes_target"] == 10
    assert body["started_on"] == body["level_started_on"] == START.isoformat()
    assert body["next_review_on"] == (START + 7 * DAY).isoformat()
    expected = library.prescription(body["template_id"], 1)
    assert [p["exercise_id"] for p in body["prescription"]] == [p.exercise_id for p in expected]
    first = body["prescription"][0]
    assert {"exercise_id", "name", "sets", "reps", "hold_seconds"} <= set(first)
    assert body["education"]  # the high-risk template teaches at every level
    last = body["last_decision"]
    assert last["action"] == "assign" and last["actor"] == "system"
    assert last["reasons"][0] == "STarT Back risk group: high"


def test_today_is_the_reduced_prescription_during_a_flare(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    log_days(session, patient, START - 7 * DAY, [3] * 7)
    assign(app, patient, "medium")
    week(session, patient, START)
    sweep(app, at_local(START + 7 * DAY, hour=1))  # progress to level 2
    flare_day = START + 9 * DAY  # a Wednesday: a planned day
    pain_log_check(app, patient, flare_day, 7, flare=True)
    set_clock(app, session, at_local(flare_day, hour=19))
    headers = patient_auth(session, app, patient)
    today = client.get("/api/v1/me/plan/today", headers=headers).json()
    reduced = get_library().reduced_prescription("graded-exercise", 2)
    assert today["date"] == flare_day.isoformat()
    assert (today["status"], today["reduced"], today["level"]) == ("reduced", True, 2)
    assert today["reduced_until"] == (flare_day + DAY).isoformat()
    assert [(e["exercise_id"], e["sets"], e["reps"]) for e in today["exercises"]] == [
        (p.exercise_id, p.sets, p.reps) for p in reduced
    ]
    assert today["walking_minutes_target"] == 22  # walking continues through a flare
    assert today["planned_day"] is True and today["done_today"] is False
    assert "lighter plan" in today["message"]
    plan = client.get("/api/v1/me/plan", headers=headers).json()
    assert plan["status"] == "reduced" and plan["reduced_until"] == (flare_day + DAY).isoformat()
    assert plan["last_decision"]["action"] == "reduce"


def test_today_flags_planned_days_and_sessions_done(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, timezone="America/New_York")
    assign(app, patient, "low")
    monday = START + 7 * DAY
    set_clock(app, session, at_local(monday, "America/New_York", 8))
    headers = patient_auth(session, app, patient)
    today = client.get("/api/v1/me/plan/today", headers=headers).json()
    assert (today["date"], today["planned_day"], today["done_today"]) == (monday.isoformat(), True, False)
    assert [e["exercise_id"] for e in today["exercises"]] == [
        p.exercise_id for p in get_library().prescription("self-management", 1)
    ]
    log_session(session, patient, monday, 2)
    today = client.get("/api/v1/me/plan/today", headers=headers).json()
    assert (today["done_today"], today["sessions_done_today"]) == (True, 1)
    set_clock(app, session, at_local(monday + DAY, "America/New_York", 8))
    tuesday = client.get("/api/v1/me/plan/today", headers=patient_auth(session, app, patient)).json()
    assert (tuesday["planned_day"], tuesday["done_today"]) == (False, False)
    assert "Rest day" in tuesday["message"]


def test_today_while_paused_prescribes_no_loading_exercise_and_no_walking(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app)
    assign(app, patient, "high")
    with session_scope(app.state.engine) as db:
        pause_plan(db, patient.id or 0, reason="urgent red flag", now=at_local(START, hour=10))
    set_clock(app, session, at_local(START, hour=11))
    today = client.get("/api/v1/me/plan/today", headers=patient_auth(session, app, patient)).json()
    library = get_library()
    assert today["status"] == "paused" and today["walking_minutes_target"] is None
    assert today["planned_day"] is False
    assert today["exercises"], "level 1 of the high-risk plan has a breathing exercise"
    assert all(library.exercise(e["exercise_id"]).category == "relaxation" for e in today["exercises"])
    assert "paused" in today["message"]


def test_history_is_newest_first_and_cursor_paginated(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    log_days(session, patient, START - 7 * DAY, [3] * 7)
    assign(app, patient, "medium")
    week(session, patient, START)
    sweep(app, at_local(START + 7 * DAY, hour=1))
    pain_log_check(app, patient, START + 8 * DAY, 8, flare=True)
    set_clock(app, session, at_local(START + 8 * DAY, hour=21))
    headers = patient_auth(session, app, patient)
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/me/plan/history", headers=headers, params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [d["action"] for d in seen] == ["reduce", "progress", "assign"]
    progress = seen[1]
    assert (progress["from_level"], progress["to_level"]) == (1, 2)
    assert (progress["from_status"], progress["to_status"]) == ("active", "active")
    assert progress["actor"] == "system" and progress["actor_id"] is None
    assert progress["review_on"] == (START + 7 * DAY).isoformat()
    assert progress["inputs"]["done_sessions"] == 3 and progress["ruleset_version"]
    bad = client.get("/api/v1/me/plan/history", headers=headers, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_another_patient_sees_nothing_of_my_plan(client: TestClient, app: FastAPI, session: Session) -> None:
    mine = make_patient(session, app)
    assign(app, mine, "medium")
    other = patient_auth(session, app, make_patient(session, app))
    assert client.get("/api/v1/me/plan", headers=other).status_code == 404
    assert client.get("/api/v1/me/plan/history", headers=other).json()["items"] == []
