"""GET /me/progress: the rules core's summary and adherence over planned sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Patient
from tests.capture.helpers import ME, START, day, log_body, session_body, set_clock
from tests.factories import auth, make_clinician, patient_auth

PROGRESS = f"{ME}/progress"
MEDIUM = {f"q{i}": i <= 4 for i in range(1, 9)} | {"q9": "slightly"}


def put_logs(client: TestClient, headers: dict[str, str], first_offset: int, values: Sequence[int | None]) -> None:
    for i, value in enumerate(values):
        if value is not None:
            response = client.put(
                f"{ME}/pain-logs/{day(first_offset + i)}", json=log_body(value, leg_pain=1), headers=headers
            )
            assert response.status_code == 201


def test_no_logs_yet(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    progress = client.get(PROGRESS, headers=headers).json()
    assert progress == progress | {
        "programme_started_on": None,
        "baseline_mean": None,
        "current_mean": None,
        "change": None,
        "classification": "insufficient_data",
        "adherence_7d": None,
        "adherence_28d": None,
        "days_logged_7d": 0,
        "series": [],
    }


@pytest.mark.parametrize(
    ("week1", "current", "baseline", "mean", "classification"),
    [
        ([6, 6, 7, 6, 6, 7, 6], [4, 4, 3, 4, 4, 3, 4], 44 / 7, 26 / 7, "improved"),
        ([6, 6, 7, 6, 6, 7, 6], [5, 5, 5, 6, 5, 5, 5], 44 / 7, 36 / 7, "no_meaningful_improvement"),
        ([4, 4, 5, 4, 4, 5, 4], [6, 7, 6, 7, 6, 7, 6], 30 / 7, 45 / 7, "worsened"),
        ([6, None, 6, None, None, 6, None], [4] * 7, None, 4.0, "insufficient_data"),
        ([0, 0, 1, 0, 0, 0, 0], [0] * 7, 1 / 7, 0.0, "minimal_pain"),
    ],
)
def test_the_clinical_vectors(
    client: TestClient,
    patient: Patient,
    headers: dict[str, str],
    week1: list[int | None],
    current: list[int],
    baseline: float | None,
    mean: float,
    classification: str,
) -> None:
    put_logs(client, headers, -20, week1)
    put_logs(client, headers, -6, current)
    progress = client.get(PROGRESS, headers=headers).json()
    assert progress["programme_started_on"] == str(day(-20))
    assert progress["programme_day"] == 21
    assert progress["current_mean"] == pytest.approx(mean)
    assert progress["classification"] == classification
    if baseline is None:
        assert progress["baseline_mean"] is None and progress["change"] is None
    else:
        assert progress["baseline_mean"] == pytest.approx(baseline)
        assert progress["change"] == pytest.approx(baseline - mean)
    assert progress["days_logged_7d"] == 7
    logged = [v for v in week1 + current if v is not None]
    assert [p["back_pain"] for p in progress["series"]] == logged
    assert {p["leg_pain"] for p in progress["series"]} == {1}


def test_the_series_length_is_a_bounded_query(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    put_logs(client, headers, -20, [5] * 21)
    assert len(client.get(PROGRESS, params={"days": 7}, headers=headers).json()["series"]) == 7
    for bad in (6, 366, "week", True):
        response = client.get(PROGRESS, params={"days": bad}, headers=headers)
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "days"]


def test_adherence_over_planned_sessions(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    # The plan starts on Monday 16 February; sessions Mon/Wed/Fri.
    set_clock(app, session, START - timedelta(days=14))
    patient = _patient_with_plan(client, app, session)
    set_clock(app, session, START)  # Monday 2 March, noon
    headers = patient_auth(session, app, patient)
    post = _poster(client, headers)
    # Week of 23 Feb: Mon and Fri done, Wed missed. This week: today (Monday) done.
    post(-7)
    post(-3)
    progress = client.get(PROGRESS, headers=headers).json()
    # Last 7 days (24 Feb - 2 Mar): planned Wed 25, Fri 27; Monday 2 not counted until done.
    assert progress["adherence_7d"] == pytest.approx(1 / 2)
    post(0)
    progress = client.get(PROGRESS, headers=headers).json()
    assert progress["adherence_7d"] == pytest.approx(2 / 3)
    # 28 days back to 3 Feb, counted from the plan's start (16 Feb): 7 planned days, 3 done.
    assert progress["adherence_28d"] == pytest.approx(3 / 7)


def test_days_while_paused_are_not_planned(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    set_clock(app, session, START - timedelta(days=7))  # Monday 23 February
    patient = _patient_with_plan(client, app, session)
    headers = patient_auth(session, app, patient)
    # An emergency on the first day pauses the plan; nothing was planned after it.
    body = log_body(6, at=-7 * 86400, symptoms={"bladder_change": True})
    assert client.put(f"{ME}/pain-logs/{day(-7)}", json=body, headers=headers).json()["plan"]["status"] == "paused"
    set_clock(app, session, START)
    headers = patient_auth(session, app, patient)
    progress = client.get(PROGRESS, headers=headers).json()
    assert progress["adherence_7d"] is None  # nothing planned: adherence unknown, not 100 %


def test_progress_is_the_callers_own(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    put_logs(client, headers, -3, [5, 5, 5])
    session.rollback()
    other = make_clinician(session, app)
    assert client.get(PROGRESS, headers=auth(app, other)).status_code == 403


def _patient_with_plan(client: TestClient, app: FastAPI, session: Session) -> Patient:
    from tests.factories import make_patient

    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    assert (
        client.post(
            f"{ME}/screenings", json={"instrument": "start_back", "answers": MEDIUM}, headers=headers
        ).status_code
        == 201
    )
    session.rollback()
    return patient


def _poster(client: TestClient, headers: dict[str, str]) -> Any:
    def post(offset: int) -> None:
        performed = (START + timedelta(days=offset)).replace(hour=9)
        assert (
            client.post(
                f"{ME}/exercise-sessions", json=session_body(performed_at=performed), headers=headers
            ).status_code
            == 201
        )

    return post
