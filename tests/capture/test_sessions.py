"""Exercise sessions: client UUIDs, replays, conflicts, other patients' ids, next-morning pain."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import AuditEvent, ExerciseSession, Patient
from tests.capture.helpers import ME, START, rows, session_body
from tests.factories import assert_field_refused, make_patient, patient_auth

URL = f"{ME}/exercise-sessions"


def test_a_session_is_created_and_a_replay_is_a_no_op(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = session_body(rpe=4, difficulty="about_right", pain_after=2, note="felt fine")
    created = client.post(URL, json=body, headers=headers)
    assert created.status_code == 201, created.text
    stored = created.json()
    assert stored["id"] == body["id"]
    assert stored["performed_on"] == "2026-03-02"
    assert stored["exercises"][0] == {
        "exercise_id": "cat-camel",
        "sets_done": 2,
        "reps_done": 10,
        "hold_seconds_done": None,
        "completed": True,
    }
    assert (stored["rpe"], stored["difficulty"], stored["pain_after"]) == (4, "about_right", 2)
    audits = rows(session, AuditEvent)

    replay = client.post(URL, json=body, headers=headers)
    assert replay.status_code == 200
    assert replay.json() == stored
    assert rows(session, ExerciseSession) == 1
    assert rows(session, AuditEvent) == audits  # nothing written by a replay


def test_the_same_instant_in_another_offset_is_the_same_body(
    client: TestClient, patient: Patient, headers: dict[str, str]
) -> None:
    body = session_body(performed_at=START - timedelta(hours=2))
    assert client.post(URL, json=body, headers=headers).status_code == 201
    body["performed_at"] = "2026-03-02T11:00:00+01:00"  # 10:00Z, as before
    assert client.post(URL, json=body, headers=headers).status_code == 200


def test_the_same_id_with_another_body_is_409_and_changes_nothing(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = session_body()
    client.post(URL, json=body, headers=headers)
    response = client.post(URL, json={**body, "pain_during": 7}, headers=headers)
    assert response.status_code == 409
    assert response.json()["code"] == "session_id_conflict"
    assert client.get(f"{URL}/{body['id']}", headers=headers).json()["pain_during"] == 3


def test_another_patients_session_id_is_never_read_or_changed(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    other = make_patient(session, app, name="Other")
    other_headers = patient_auth(session, app, other)
    theirs = session_body(note="private note of the other patient", pain_during=2)
    assert client.post(URL, json=theirs, headers=other_headers).status_code == 201

    # Replaying their exact body under my account: the same 409 as any used id, no content.
    for attempt in (theirs, {**theirs, "pain_during": 9}):
        response = client.post(URL, json=attempt, headers=headers)
        assert response.status_code == 409
        assert response.json()["code"] == "session_id_conflict"
        assert "private note" not in response.text
        assert "pain_during" not in response.text
    assert client.get(f"{URL}/{theirs['id']}", headers=headers).status_code == 404
    assert client.patch(f"{URL}/{theirs['id']}", json={"pain_next_morning": 9}, headers=headers).status_code == 404
    assert client.get(URL, headers=headers).json()["items"] == []
    # Their row is exactly as they wrote it.
    own = client.get(f"{URL}/{theirs['id']}", headers=other_headers).json()
    assert (own["pain_during"], own["pain_next_morning"], own["note"]) == (2, None, "private note of the other patient")
    assert rows(session, ExerciseSession, ExerciseSession.patient_id == patient.id) == 0


def test_next_morning_pain_by_patch_or_by_resending_the_session(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = session_body()
    client.post(URL, json=body, headers=headers)
    patched = client.patch(f"{URL}/{body['id']}", json={"pain_next_morning": 4}, headers=headers)
    assert patched.status_code == 200
    assert patched.json()["pain_next_morning"] == 4
    # The original body replayed (without the next-morning value) is still a replay.
    assert client.post(URL, json=body, headers=headers).json()["pain_next_morning"] == 4
    # The offline queue may resend the session with the value instead.
    resent = client.post(URL, json={**body, "pain_next_morning": 2}, headers=headers)
    assert resent.status_code == 200
    assert resent.json()["pain_next_morning"] == 2
    assert rows(session, ExerciseSession) == 1


def test_unknown_exercises_are_named(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = session_body()
    body["exercises"].append({"exercise_id": "handstand", "sets_done": 1, "completed": True})
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "exercises", 2, "exercise_id"], "msg": "unknown exercise id"}]
    assert rows(session, ExerciseSession) == 0


@pytest.mark.parametrize(
    ("performed_at", "accepted"),
    [
        ("2026-03-02T23:30:00+00:00", True),  # later today, local date still today
        ("2026-03-03T00:30:00+00:00", False),  # tomorrow in London
        ("2026-01-31T12:00:00+00:00", True),  # 30 days back
        ("2026-01-30T12:00:00+00:00", False),  # 31 days back
    ],
)
def test_sessions_are_dated_within_the_back_dating_window(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], performed_at: str, accepted: bool
) -> None:
    response = client.post(URL, json=session_body() | {"performed_at": performed_at}, headers=headers)
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "performed_at"]
        assert rows(session, ExerciseSession) == 0


def test_performed_on_is_the_patients_local_date(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    patient = make_patient(session, app, timezone="America/New_York")
    body = session_body(performed_at=START.replace(hour=3))  # 22:00 the day before in New York
    response = client.post(URL, json=body, headers=patient_auth(session, app, patient))
    assert response.json()["performed_on"] == "2026-03-01"


def _bad(field: str, value: Any) -> dict[str, Any]:
    return {field: value}


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"id": "not-a-uuid"}, ["body", "id"]),
        ({"id": 12}, ["body", "id"]),
        ({"performed_at": "2026-03-02T10:00:00"}, ["body", "performed_at"]),  # no offset
        ({"performed_at": 1772445600}, ["body", "performed_at"]),
        ({"performed_at": "9999-12-31T23:00:00-12:00"}, ["body", "performed_at"]),
        ({"performed_at": "0001-01-01T00:00:00+14:00"}, ["body", "performed_at"]),
        ({"duration_minutes": 0}, ["body", "duration_minutes"]),
        ({"duration_minutes": 601}, ["body", "duration_minutes"]),
        ({"duration_minutes": "20"}, ["body", "duration_minutes"]),
        ({"duration_minutes": True}, ["body", "duration_minutes"]),
        ({"duration_minutes": 20.5}, ["body", "duration_minutes"]),
        ({"exercises": []}, ["body", "exercises"]),
        ({"pain_during": 11}, ["body", "pain_during"]),
        ({"pain_during": -1}, ["body", "pain_during"]),
        ({"pain_during": False}, ["body", "pain_during"]),
        ({"pain_during": None}, ["body", "pain_during"]),
        ({"pain_after": "3"}, ["body", "pain_after"]),
        ({"pain_next_morning": 12}, ["body", "pain_next_morning"]),
        ({"rpe": 11}, ["body", "rpe"]),
        ({"difficulty": "hard"}, ["body", "difficulty"]),
        ({"note": "x" * 2001}, ["body", "note"]),
        ({"note": 5}, ["body", "note"]),
        ({"surprise": 1}, ["body", "surprise"]),
        (
            {"exercises": [{"exercise_id": "bridge", "sets_done": "2", "completed": True}]},
            ["body", "exercises", 0, "sets_done"],
        ),
        (
            {"exercises": [{"exercise_id": "bridge", "sets_done": 2, "completed": 1}]},
            ["body", "exercises", 0, "completed"],
        ),
        ({"exercises": [{"exercise_id": "bridge", "sets_done": 2}]}, ["body", "exercises", 0, "completed"]),
        (
            {"exercises": [{"exercise_id": "bridge", "sets_done": 2, "completed": True, "x": 1}]},
            ["body", "exercises", 0, "x"],
        ),
        (
            {"exercises": [{"exercise_id": "bridge", "sets_done": 2, "reps_done": 201, "completed": True}]},
            ["body", "exercises", 0, "reps_done"],
        ),
        (
            {"exercises": [{"exercise_id": "", "sets_done": 2, "completed": True}]},
            ["body", "exercises", 0, "exercise_id"],
        ),
    ],
)
def test_bad_session_input_is_named_and_nothing_is_written(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    change: dict[str, Any],
    loc: list[Any],
) -> None:
    response = client.post(URL, json=session_body() | change, headers=headers)
    assert_field_refused(response, loc)
    assert rows(session, ExerciseSession) == 0


@pytest.mark.parametrize("field", ["id", "performed_at", "duration_minutes", "exercises", "pain_during"])
def test_required_session_fields(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], field: str
) -> None:
    body = session_body()
    del body[field]
    response = client.post(URL, json=body, headers=headers)
    assert_field_refused(response, ["body", field])
    assert rows(session, ExerciseSession) == 0


@pytest.mark.parametrize("value", [None, 11, "4", True])
def test_bad_next_morning_patch(client: TestClient, patient: Patient, headers: dict[str, str], value: Any) -> None:
    body = session_body()
    client.post(URL, json=body, headers=headers)
    response = client.patch(f"{URL}/{body['id']}", json={"pain_next_morning": value}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "pain_next_morning"]
    assert client.get(f"{URL}/{body['id']}", headers=headers).json()["pain_next_morning"] is None


def test_sessions_are_listed_newest_first_with_a_cursor(
    client: TestClient, patient: Patient, headers: dict[str, str]
) -> None:
    ids = []
    for hours in range(5):
        body = session_body(performed_at=START - timedelta(days=1, hours=hours))
        ids.append(body["id"])
        client.post(URL, json=body, headers=headers)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, params=params, headers=headers).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    assert client.get(URL, params={"cursor": "garbage!"}, headers=headers).status_code == 422
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=headers).status_code == 404
