"""Screenings: scores from the rules core, what each result sets in motion, the list."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Alert, Patient, Plan, PlanDecision, Screening
from tests.capture.helpers import ME, NO_SYMPTOMS, day, log_body, rows
from tests.factories import make_clinician, make_patient, patient_auth

URL = f"{ME}/screenings"


def start_back(items: str, q9: str) -> dict[str, Any]:
    answers: dict[str, Any] = {f"q{i + 1}": flag == "1" for i, flag in enumerate(items.split())}
    return {"instrument": "start_back", "answers": {**answers, "q9": q9}}


@pytest.mark.parametrize(
    ("items", "q9", "total", "subscale", "group"),
    [
        ("0 0 0 0 0 0 0 0", "not_at_all", 0, 0, "low"),
        ("1 1 1 0 0 0 0 0", "moderately", 3, 0, "low"),
        ("1 1 1 1 0 0 0 0", "not_at_all", 4, 0, "medium"),
        ("0 0 0 0 1 1 1 1", "not_at_all", 4, 4, "high"),
        ("1 1 1 1 1 1 1 0", "moderately", 7, 3, "medium"),
        ("1 1 1 1 1 1 1 1", "extremely", 9, 5, "high"),
    ],
)
def test_start_back_vectors(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    items: str,
    q9: str,
    total: int,
    subscale: int,
    group: str,
) -> None:
    response = client.post(URL, json=start_back(items, q9), headers=headers)
    assert response.status_code == 201, response.text
    result = response.json()
    assert (result["instrument"], result["total"], result["subscale"], result["risk_group"]) == (
        "start_back",
        total,
        subscale,
        group,
    )
    session.rollback()
    stored = session.get(Screening, result["id"])
    assert stored is not None
    assert stored.answers["q9"] == q9 and stored.total == total and stored.ruleset_version
    assert session.get(Patient, patient.id).risk_group == group  # type: ignore[union-attr]
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    templates = {"low": "self-management", "medium": "graded-exercise", "high": "graded-exercise-with-education"}
    assert (plan.template_id, plan.level, plan.status) == (templates[group], 1, "active")
    alerts = session.exec(select(Alert.rule, Alert.tier).where(Alert.patient_id == patient.id)).all()
    expected = {"low": [], "medium": [("start_back_medium", "routine")], "high": [("start_back_high", "routine")]}
    assert list(alerts) == expected[group]
    assert len(result["alert_ids"]) == len(expected[group])


def test_a_new_risk_group_changes_the_plan(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    client.post(URL, json=start_back("0 0 0 0 0 0 0 0", "slightly"), headers=headers)
    client.post(URL, json=start_back("1 1 1 1 1 1 1 1", "extremely"), headers=headers)
    session.rollback()
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    assert plan.template_id == "graded-exercise-with-education"
    assert rows(session, PlanDecision, PlanDecision.action == "assign") == 2


def test_red_flag_screening_triage_and_the_known_symptom_baseline(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    headers = patient_auth(session, app, patient)
    calm = client.post(URL, json={"instrument": "red_flags", "answers": NO_SYMPTOMS}, headers=headers)
    assert calm.status_code == 201
    assert (calm.json()["tier"], calm.json()["alert_ids"]) == ("none", [])

    weak = client.post(
        URL, json={"instrument": "red_flags", "answers": NO_SYMPTOMS | {"one_leg_weakness": True}}, headers=headers
    )
    assert weak.json()["tier"] == "urgent_same_day"
    assert "GP" in weak.json()["advice"]
    assert len(weak.json()["alert_ids"]) == 1
    # The screening is now the baseline: the same symptom on a log is a known symptom (routine).
    logged = client.put(
        f"{ME}/pain-logs/{day(0)}", json=log_body(5, symptoms={"one_leg_weakness": True}), headers=headers
    )
    assert logged.json()["triage"]["tier"] == "routine"
    session.rollback()
    rules = session.exec(select(Alert.rule).where(Alert.patient_id == patient.id).order_by(Alert.id)).all()  # type: ignore[arg-type]
    assert list(rules) == ["red_flag_urgent_same_day", "known_symptom"]
    stored = session.exec(select(Screening).where(Screening.instrument == "red_flags").order_by(Screening.id)).all()  # type: ignore[arg-type]
    assert stored[-1].answers == NO_SYMPTOMS | {"one_leg_weakness": True}
    assert stored[-1].tier == "urgent_same_day"


@pytest.mark.parametrize(
    ("sections", "percent", "band", "missing"),
    [
        ([0] * 10, 0.0, "minimal", []),
        ([2, 2, 2, 2, 1, 2, 1, 2, 1, 1], 32.0, "moderate", []),
        ([2, 2, 2, 2, 1, 2, 1, None, 2, 2], 35.56, "moderate", [8]),
        ([2, 2, 2, 2, 2, None, None, 2, 2, 2], None, None, [6, 7]),
        ([5] * 10, 100.0, "bed_bound", []),
    ],
)
def test_odi_vectors(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    sections: list[int | None],
    percent: float | None,
    band: str | None,
    missing: list[int],
) -> None:
    answers = {f"s{i + 1}": score for i, score in enumerate(sections) if score is not None}
    response = client.post(URL, json={"instrument": "odi", "answers": answers}, headers=headers)
    assert response.status_code == 201
    result = response.json()
    assert (result["percent"], result["band"], result["missing_sections"]) == (percent, band, missing)
    session.rollback()
    stored = session.get(Screening, result["id"])
    assert stored is not None
    if percent == 35.56:
        assert stored.percent == pytest.approx(35.5555555, abs=1e-6)  # stored unrounded


def test_odi_accepts_explicit_nulls(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    answers = {f"s{i}": 3 for i in range(1, 10)} | {"s10": None}
    result = client.post(URL, json={"instrument": "odi", "answers": answers}, headers=headers).json()
    assert (result["percent"], result["missing_sections"]) == (60.0, [10])


def test_screenings_are_listed_newest_first(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    client.post(URL, json=start_back("1 1 1 1 0 0 0 0", "slightly"), headers=headers)
    client.post(URL, json={"instrument": "odi", "answers": {f"s{i}": 1 for i in range(1, 11)}}, headers=headers)
    client.post(URL, json={"instrument": "red_flags", "answers": NO_SYMPTOMS}, headers=headers)
    page = client.get(URL, params={"limit": 2}, headers=headers).json()
    assert [s["instrument"] for s in page["items"]] == ["red_flags", "odi"]
    assert page["items"][1]["percent"] == 20.0 and page["items"][1]["band"] == "minimal"
    rest = client.get(URL, params={"cursor": page["next_cursor"]}, headers=headers).json()
    assert [s["instrument"] for s in rest["items"]] == ["start_back"]
    assert rest["items"][0]["risk_group"] == "medium" and rest["items"][0]["answers"]["q1"] is True
    only = client.get(URL, params={"instrument": "odi"}, headers=headers).json()["items"]
    assert [s["instrument"] for s in only] == ["odi"]
    session.rollback()
    other = patient_auth(session, app, make_patient(session, app))
    assert client.get(URL, headers=other).json()["items"] == []


def test_the_instruments_carry_their_wording_and_copyright(client: TestClient, headers: dict[str, str]) -> None:
    instruments = {i["id"]: i for i in client.get("/api/v1/screening-instruments", headers=headers).json()}
    assert set(instruments) == {"start_back", "odi", "red_flags"}
    assert "Keele" in instruments["start_back"]["copyright"]
    assert [item["id"] for item in instruments["start_back"]["items"]] == [f"q{i}" for i in range(1, 10)]
    assert [o["value"] for o in instruments["start_back"]["items"][8]["options"]] == [
        "not_at_all",
        "slightly",
        "moderately",
        "very_much",
        "extremely",
    ]
    assert {item["id"] for item in instruments["red_flags"]["items"]} == set(NO_SYMPTOMS)
    assert len(instruments["odi"]["items"]) == 10


def test_a_clinician_cannot_post_a_screening(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    from tests.factories import auth

    headers = auth(app, make_clinician(session, app))
    assert client.post(URL, json=start_back("0 0 0 0 0 0 0 0", "slightly"), headers=headers).status_code == 403
    assert rows(session, Screening) == 0
