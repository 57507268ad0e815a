"""POST /me/sync: per-item results, replays, stale items, one evaluation per batch."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Alert, AuditEvent, ExerciseSession, PainLog, Patient
from api.rules.pipeline import LogsWritten, evaluate
from tests.capture.helpers import ME, START, day, log_body, rows, session_body
from tests.factories import assert_field_refused, make_patient, patient_auth

SYNC = f"{ME}/sync"


def item(offset: int, back_pain: int = 5, *, at: int = 0, **fields: Any) -> dict[str, Any]:
    return {"log_date": str(day(offset)), **log_body(back_pain, at=at, **fields)}


def test_a_mixed_batch_reports_each_item(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    client.put(f"{ME}/pain-logs/{day(-3)}", json=log_body(4, at=500), headers=headers)
    first_session = session_body()
    body = {
        "pain_logs": [
            item(-1, 6),
            item(-2, "7"),  # type: ignore[arg-type]
            item(-3, 9, at=100),  # older than the stored edit
            item(0, 5, symptoms={"one_leg_weakness": True}),
            item(1, 5),  # tomorrow
            {"log_date": "not-a-date", "back_pain": 5, "client_updated_at": START.isoformat()},
        ],
        "exercise_sessions": [
            first_session,
            {**session_body(), "exercises": [{"exercise_id": "nope", "sets_done": 1, "completed": True}]},
        ],
    }
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["kind"], r["index"], r["status"]) for r in results] == [
        ("pain_log", 0, "created"),
        ("pain_log", 1, "rejected"),
        ("pain_log", 2, "stale"),
        ("pain_log", 3, "created"),
        ("pain_log", 4, "rejected"),
        ("pain_log", 5, "rejected"),
        ("exercise_session", 0, "created"),
        ("exercise_session", 1, "rejected"),
    ]
    assert results[0]["key"] == str(day(-1))
    assert results[1]["error"]["errors"] == [
        {"loc": ["body", "pain_logs", 1, "back_pain"], "msg": "Input should be a valid integer"}
    ]
    assert results[2]["log"]["back_pain"] == 4
    assert results[4]["error"]["errors"][0]["loc"] == ["body", "pain_logs", 4, "log_date"]
    assert results[5]["key"] == "not-a-date"
    assert results[5]["error"]["errors"][0]["loc"] == ["body", "pain_logs", 5, "log_date"]
    assert results[6]["key"] == first_session["id"]
    assert results[7]["error"]["errors"] == [
        {"loc": ["body", "exercise_sessions", 1, "exercises", 0, "exercise_id"], "msg": "unknown exercise id"}
    ]
    triage = response.json()["triage"]
    assert triage["tier"] == "urgent_same_day"  # the one-leg weakness of day 0
    assert len(triage["alert_ids"]) == 1
    assert rows(session, PainLog) == 3
    assert rows(session, ExerciseSession) == 1


def test_a_replayed_sync_is_all_unchanged(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = {
        "pain_logs": [item(-i, 5 + i % 3, symptoms={"fever": i == 2}) for i in range(5)],
        "exercise_sessions": [session_body(performed_at=START - timedelta(days=i)) for i in range(3)],
    }
    first = client.post(SYNC, json=body, headers=headers).json()
    assert {r["status"] for r in first["results"]} == {"created"}
    counts = (rows(session, PainLog), rows(session, ExerciseSession), rows(session, Alert), rows(session, AuditEvent))

    replay = client.post(SYNC, json=body, headers=headers).json()
    assert [r["status"] for r in replay["results"]] == ["unchanged"] * 8
    assert replay["triage"] == first["triage"]
    assert replay["triage"]["tier"] == "urgent_same_day"
    assert (
        rows(session, PainLog),
        rows(session, ExerciseSession),
        rows(session, Alert),
        rows(session, AuditEvent),
    ) == counts


def test_the_rules_run_once_per_batch_over_everything_it_changed(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def counting(snapshot: Any, event: LogsWritten, *args: Any) -> Any:
        calls.append([str(on) for on in sorted(event.dates)])
        return evaluate(snapshot, event, *args)

    # The one pure evaluation every write makes (api.rules.pipeline), whatever it decides.
    monkeypatch.setattr("api.pain_logs.evaluation.evaluate", counting)
    client.post(SYNC, json={"pain_logs": [item(-2), item(-5), item(-1)]}, headers=headers)
    assert calls == [[str(day(-5)), str(day(-2)), str(day(-1))]]
    client.post(SYNC, json={"pain_logs": [item(-2), item(-5, 7, at=9)]}, headers=headers)
    assert calls[1:] == [[str(day(-5))]]  # the replayed day -2 is not re-evaluated


def test_a_date_twice_in_one_batch_keeps_the_newest(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = {"pain_logs": [item(-1, 3, at=20), item(-1, 8, at=10), item(-1, 6, at=30)]}
    results = client.post(SYNC, json=body, headers=headers).json()["results"]
    assert [r["status"] for r in results] == ["created", "stale", "updated"]
    session.rollback()
    assert session.exec(select(PainLog.back_pain)).one() == 6


def test_session_ids_in_a_sync_follow_the_single_endpoint(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    mine = session_body()
    client.post(f"{ME}/exercise-sessions", json=mine, headers=headers)
    session.rollback()
    other_headers = patient_auth(session, app, make_patient(session, app))
    theirs = session_body(note="theirs")
    client.post(f"{ME}/exercise-sessions", json=theirs, headers=other_headers)
    body = {"exercise_sessions": [mine, {**mine, "pain_during": 8}, theirs, {**mine, "pain_next_morning": 3}]}
    results = client.post(SYNC, json=body, headers=headers).json()["results"]
    assert [r["status"] for r in results] == ["unchanged", "rejected", "rejected", "updated"]
    assert results[1]["error"]["code"] == results[2]["error"]["code"] == "session_id_conflict"
    assert "theirs" not in str(results)
    assert rows(session, ExerciseSession, ExerciseSession.patient_id == patient.id) == 1


def test_a_synced_back_dated_week_raises_the_checkpoint_in_the_same_request(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    logs = [item(-i, 6, at=i) for i in range(20, 6, -1)]  # programme days 1-14, all 6
    response = client.post(SYNC, json={"pain_logs": logs}, headers=headers).json()
    assert {r["status"] for r in response["results"]} == {"created"}
    session.rollback()
    alert = session.exec(select(Alert).where(Alert.patient_id == patient.id)).one()
    assert alert.rule == "no_improvement_2w"
    assert response["triage"]["tier"] == "routine"
    assert response["triage"]["alert_ids"] == [alert.id]


def test_an_oversized_batch_is_refused_naming_the_field(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    many = [item(-1) for _ in range(501)]
    response = client.post(SYNC, json={"pain_logs": many}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "pain_logs"]
    together = {"pain_logs": [item(-1)] * 300, "exercise_sessions": [session_body() for _ in range(201)]}
    response = client.post(SYNC, json=together, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "sync_batch_too_large"
    assert [e["loc"] for e in response.json()["errors"]] == [["body", "pain_logs"], ["body", "exercise_sessions"]]
    assert rows(session, PainLog) == rows(session, ExerciseSession) == 0


def test_five_hundred_items_are_accepted(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    sessions = [session_body(performed_at=START - timedelta(minutes=i)) for i in range(469)]
    body = {"pain_logs": [item(-i) for i in range(31)], "exercise_sessions": sessions}
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200
    assert {r["status"] for r in response.json()["results"]} == {"created"}
    assert rows(session, ExerciseSession) == 469


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"pain_logs": [], "extra": []}, ["body", "extra"]),
        ({"pain_logs": {"2026-03-01": {}}}, ["body", "pain_logs"]),
        ({"exercise_sessions": "none"}, ["body", "exercise_sessions"]),
        ([], ["body"]),
    ],
)
def test_the_envelope_is_strict(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], body: Any, loc: list[Any]
) -> None:
    response = client.post(SYNC, json=body, headers=headers)
    assert_field_refused(response, loc)
    assert rows(session, AuditEvent) == 0


def test_an_empty_sync_writes_nothing(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    response = client.post(SYNC, json={}, headers=headers)
    assert response.json() == {
        "results": [],
        "triage": {"tier": "none", "advice": response.json()["triage"]["advice"], "alert_ids": []},
    }
    assert rows(session, AuditEvent) == 0
