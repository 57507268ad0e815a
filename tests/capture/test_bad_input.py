"""Bad input on the capture endpoints: 422 naming the field (or 413), nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import AuditEvent, PainLog, Patient, Screening
from tests.capture.helpers import ME, day, log_body, rows
from tests.factories import assert_field_refused

LOG = f"{ME}/pain-logs/{day(0)}"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"back_pain": 11}, ["body", "back_pain"]),
        ({"back_pain": -1}, ["body", "back_pain"]),
        ({"back_pain": "7"}, ["body", "back_pain"]),
        ({"back_pain": False}, ["body", "back_pain"]),
        ({"back_pain": 7.0}, ["body", "back_pain"]),
        ({"back_pain": 6.5}, ["body", "back_pain"]),
        ({"back_pain": None}, ["body", "back_pain"]),
        ({"leg_pain": 11}, ["body", "leg_pain"]),
        ({"leg_pain": True}, ["body", "leg_pain"]),
        ({"interference": -1}, ["body", "interference"]),
        ({"sleep_quality": "good"}, ["body", "sleep_quality"]),
        ({"activity_minutes": 1441}, ["body", "activity_minutes"]),
        ({"activity_minutes": -5}, ["body", "activity_minutes"]),
        ({"steps": 200_001}, ["body", "steps"]),
        ({"steps": "100"}, ["body", "steps"]),
        ({"flare": "yes"}, ["body", "flare"]),
        ({"flare": 1}, ["body", "flare"]),
        ({"flare": None}, ["body", "flare"]),
        ({"medications": [{"class": "ibuprofen"}]}, ["body", "medications", 0, "class"]),
        ({"medications": [{"class": "nsaid", "dose_mg": 400}]}, ["body", "medications", 0, "dose_mg"]),
        ({"medications": ["nsaid"]}, ["body", "medications", 0]),
        ({"medications": [{"class": "nsaid"}] * 9}, ["body", "medications"]),
        ({"medications": None}, ["body", "medications"]),
        ({"symptoms": {"bladder_change": "true"}}, ["body", "symptoms", "bladder_change"]),
        ({"symptoms": {"bladder_change": 1}}, ["body", "symptoms", "bladder_change"]),
        ({"symptoms": {"headache": True}}, ["body", "symptoms", "headache"]),
        ({"symptoms": ["fever"]}, ["body", "symptoms"]),
        ({"note": "x" * 2001}, ["body", "note"]),
        ({"note": 12}, ["body", "note"]),
        ({"client_updated_at": "2026-03-02T12:00:00"}, ["body", "client_updated_at"]),
        ({"client_updated_at": "yesterday"}, ["body", "client_updated_at"]),
        ({"client_updated_at": 1772452800}, ["body", "client_updated_at"]),
        ({"client_updated_at": "2026-03-04T12:00:01+00:00"}, ["body", "client_updated_at"]),  # > 24 h ahead
        ({"client_updated_at": "0001-01-01T00:00:00+14:00"}, ["body", "client_updated_at"]),
        ({"client_updated_at": "9999-12-31T23:00:00-12:00"}, ["body", "client_updated_at"]),
        ({"log_date": "2026-03-02"}, ["body", "log_date"]),  # the date is the path's
        ({"surprise": True}, ["body", "surprise"]),
    ],
)
def test_bad_pain_log_fields(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    change: dict[str, Any],
    loc: list[Any],
) -> None:
    response = client.put(LOG, json=log_body() | change, headers=headers)
    assert_field_refused(response, loc)
    assert rows(session, PainLog) == 0
    assert rows(session, AuditEvent) == 0


@pytest.mark.parametrize("field", ["back_pain", "client_updated_at"])
def test_required_pain_log_fields(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], field: str
) -> None:
    body = log_body()
    del body[field]
    response = client.put(LOG, json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", field], "msg": "Field required"}]
    assert rows(session, PainLog) == 0


@pytest.mark.parametrize("log_date", ["2026-02-30", "02-03-2026", "today", "2026-3-2"])
def test_bad_log_dates(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], log_date: str
) -> None:
    response = client.put(f"{ME}/pain-logs/{log_date}", json=log_body(), headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["path", "log_date"]
    assert rows(session, PainLog) == 0


def test_every_bad_field_is_listed_at_once(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    response = client.put(LOG, json={"back_pain": "7", "leg_pain": False, "steps": -1}, headers=headers)
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "back_pain"),
        ("body", "leg_pain"),
        ("body", "steps"),
        ("body", "client_updated_at"),
    }


def test_a_body_over_one_mebibyte_is_413(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    response = client.put(LOG, json=log_body(note="x" * (1024 * 1024)), headers=headers)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert rows(session, PainLog) == 0


def test_malformed_json(client: TestClient, session: Session, patient: Patient, headers: dict[str, str]) -> None:
    response = client.put(LOG, content=b'{"back_pain": 5,', headers={**headers, "content-type": "application/json"})
    assert response.status_code == 422
    assert rows(session, PainLog) == 0


SCREENINGS = f"{ME}/screenings"
START_BACK = {f"q{i}": False for i in range(1, 9)} | {"q9": "slightly"}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"instrument": "start_back", "answers": START_BACK | {"q1": 1}}, ["body", "answers", "q1"]),
        ({"instrument": "start_back", "answers": START_BACK | {"q1": "true"}}, ["body", "answers", "q1"]),
        (
            {"instrument": "start_back", "answers": START_BACK | {"q9": "a_lot"}},
            ["body", "answers", "q9"],
        ),
        ({"instrument": "start_back", "answers": START_BACK | {"q10": True}}, ["body", "answers", "q10"]),
        ({"instrument": "start_back", "answers": START_BACK, "extra": 1}, ["body", "extra"]),
        ({"instrument": "odi", "answers": {"s1": 6}}, ["body", "answers", "s1"]),
        ({"instrument": "odi", "answers": {"s1": True}}, ["body", "answers", "s1"]),
        ({"instrument": "odi", "answers": {"s1": "3"}}, ["body", "answers", "s1"]),
        ({"instrument": "odi", "answers": {"s11": 3}}, ["body", "answers", "s11"]),
        ({"instrument": "red_flags", "answers": {"fever": "no"}}, ["body", "answers", "fever"]),
        ({"instrument": "phq9", "answers": {}}, ["body", "instrument"]),
        ({"answers": START_BACK}, ["body", "instrument"]),
        ({"instrument": "start_back"}, ["body", "answers"]),
    ],
)
def test_bad_screenings(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    response = client.post(SCREENINGS, json=body, headers=headers)
    assert_field_refused(response, loc)
    assert rows(session, Screening) == 0


def test_start_back_names_every_missing_answer(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    answers = {k: v for k, v in START_BACK.items() if k not in ("q3", "q7", "q9")}
    response = client.post(SCREENINGS, json={"instrument": "start_back", "answers": answers}, headers=headers)
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "answers", name] for name in ("q3", "q7", "q9")]
    assert rows(session, Screening) == 0
    session.rollback()
    assert session.get(Patient, patient.id).risk_group is None  # type: ignore[union-attr]


def test_a_red_flag_screening_needs_every_answer(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    response = client.post(SCREENINGS, json={"instrument": "red_flags", "answers": {"fever": False}}, headers=headers)
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 15
    assert rows(session, Screening) == 0
