"""A patient's first two weeks, end to end through the API, with the application clock.

Register → STarT Back (medium) → plan assigned → fourteen days of logs and sessions
(the app refreshing its token each day, the nightly sweep running) → progress and plan.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.jobs import JobContext, run_job
from tests.capture.helpers import ME, set_clock

LONDON = ZoneInfo("Europe/London")
DAY_1 = datetime(2026, 3, 2, tzinfo=LONDON)  # a Monday
WEEK_1 = [6, 6, 6, 6, 6, 6, 6]
WEEK_2 = [4, 4, 3, 4, 4, 3, 4]


def at(day_index: int, hour: int) -> datetime:
    return (DAY_1 + timedelta(days=day_index)).replace(hour=hour)


@pytest.mark.slow
def test_two_weeks_of_a_medium_risk_patient(client: TestClient, app: FastAPI, session: Session) -> None:
    jobs = JobContext(app.state.engine, app.state.settings, app.state.clock)
    set_clock(app, session, at(0, 8))
    email, password = "journey@example.org", "a long enough password"
    registered = client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "Journey"}
    )
    assert registered.status_code == 201
    tokens = client.post("/api/v1/auth/login", json={"email": email, "password": password}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (
        client.patch(ME, json={"birth_year": 1975, "episode_started_on": "2026-02-20"}, headers=headers).status_code
        == 200
    )

    start_back = {f"q{i}": i <= 4 for i in range(1, 9)} | {"q9": "moderately"}
    screening = client.post(
        f"{ME}/screenings", json={"instrument": "start_back", "answers": start_back}, headers=headers
    )
    assert screening.json()["risk_group"] == "medium"
    plan = client.get(f"{ME}/plan", headers=headers).json()
    assert (plan["template_id"], plan["level"], plan["status"]) == ("graded-exercise", 1, "active")

    sessions: list[tuple[str, date]] = []
    for index, back_pain in enumerate(WEEK_1 + WEEK_2):
        set_clock(app, session, at(index, 19))
        tokens = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        today = (DAY_1 + timedelta(days=index)).date()
        if sessions:  # the next-morning check of yesterday's session, when there was one
            last_id, last_on = sessions[-1]
            if last_on == today - timedelta(days=1):
                patched = client.patch(
                    f"{ME}/exercise-sessions/{last_id}", json={"pain_next_morning": back_pain}, headers=headers
                )
                assert patched.status_code == 200
        log = client.put(
            f"{ME}/pain-logs/{today}",
            json={
                "back_pain": back_pain,
                "leg_pain": 2,
                "activity_minutes": 20,
                "client_updated_at": at(index, 19).isoformat(),
            },
            headers=headers,
        )
        assert log.status_code == 201, log.text
        assert log.json()["triage"]["tier"] in ("none", "routine")
        if today.weekday() in (0, 2, 4):  # the plan's Monday / Wednesday / Friday
            session_id = f"00000000-0000-4000-8000-{index:012d}"
            body = {
                "id": session_id,
                "performed_at": at(index, 18).isoformat(),
                "duration_minutes": 25,
                "exercises": [
                    {
                        "exercise_id": item["exercise_id"],
                        "sets_done": item["sets"],
                        "reps_done": item.get("reps"),
                        "hold_seconds_done": item.get("hold_seconds"),
                        "completed": True,
                    }
                    for item in plan["prescription"]
                ],
                "pain_during": 2,
                "pain_after": 2,
                "rpe": 4,
                "difficulty": "about_right",
            }
            assert client.post(f"{ME}/exercise-sessions", json=body, headers=headers).status_code == 201
            sessions.append((session_id, today))
        run_job("sweep", jobs, at(index, 23))  # the nightly sweep
        plan = client.get(f"{ME}/plan", headers=headers).json()

    set_clock(app, session, at(13, 21))  # Sunday evening, the end of week 2
    tokens = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    progress = client.get(f"{ME}/progress", headers=headers).json()
    assert progress["programme_started_on"] == "2026-03-02"
    assert progress["programme_day"] == 14
    assert progress["baseline_mean"] == pytest.approx(6.0)
    assert progress["current_mean"] == pytest.approx(26 / 7)
    assert progress["change"] == pytest.approx(6 - 26 / 7)
    assert progress["classification"] == "improved"
    assert progress["days_logged_7d"] == 7
    assert progress["adherence_7d"] == 1.0 and progress["adherence_28d"] == 1.0
    assert [p["back_pain"] for p in progress["series"]] == WEEK_1 + WEEK_2

    set_clock(app, session, at(14, 9))  # Monday of week 3: the second weekly review
    run_job("sweep", jobs, at(14, 9))
    tokens = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    plan = client.get(f"{ME}/plan", headers=headers).json()
    history = client.get(f"{ME}/plan/history", headers=headers).json()["items"]
    reviews = [d for d in reversed(history) if d["review_on"] is not None]
    assert [d["review_on"] for d in reviews] == ["2026-03-09", "2026-03-16"]
    # Both weeks: three green sessions, pain falling, RPE 4 (week 1 has no earlier week
    # to compare with, which does not block progression).
    assert [d["action"] for d in reviews] == ["progress", "progress"]
    assert reviews[0]["inputs"]["done_sessions"] == 3
    assert reviews[1]["inputs"]["session_classes"] == ["green", "green", "green"]
    assert "adherence 100 % (at least 80 %)" in reviews[1]["reasons"]
    assert plan["level"] == 3 and plan["status"] == "active"
    assert plan["last_decision"]["action"] == "progress"
    sessions_listed = client.get(f"{ME}/exercise-sessions", headers=headers).json()["items"]
    assert len(sessions_listed) == 6
