"""POST /me/sync when one item cannot be stored: that item is ``rejected``, the others are.

Covers items refused before the database (NUL, unpaired surrogates) and items the
database itself refuses (each item is written in its own SAVEPOINT), on both databases.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent, ExerciseSession, PainLog, Patient
from api.pain_logs import sync as sync_module
from api.pain_logs.service import upsert_pain_log
from api.sessions.service import record_session
from tests.capture.helpers import ME, day, log_body, rows, session_body

SYNC = f"{ME}/sync"


def item(offset: int, back_pain: int = 5, **fields: Any) -> dict[str, Any]:
    return {"log_date": str(day(offset)), **log_body(back_pain, **fields)}


def post_raw(client: TestClient, body: dict[str, Any], headers: dict[str, str]) -> Any:
    # json.dumps escapes NUL and lone surrogates (\u0000, \ud800) as a client's encoder would.
    return client.post(SYNC, content=json.dumps(body).encode(), headers={**headers, "content-type": "application/json"})


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"])
def test_unstorable_text_rejects_only_its_item(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], bad: str
) -> None:
    good_session = session_body()
    body = {
        "pain_logs": [item(-1, 4, note="fine"), item(-2, 6, note=bad), item(-3, 7, medications=[{"class": bad}])],
        "exercise_sessions": [good_session, session_body(note=bad)],
    }
    response = post_raw(client, body, headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["kind"], r["status"]) for r in results] == [
        ("pain_log", "created"),
        ("pain_log", "rejected"),
        ("pain_log", "rejected"),
        ("exercise_session", "created"),
        ("exercise_session", "rejected"),
    ]
    assert [e["loc"] for e in results[1]["error"]["errors"]] == [["body", "pain_logs", 1, "note"]]
    assert [e["loc"] for e in results[2]["error"]["errors"]] == [["body", "pain_logs", 2, "medications", 0, "class"]]
    assert [e["loc"] for e in results[4]["error"]["errors"]] == [["body", "exercise_sessions", 1, "note"]]
    assert results[1]["key"] == str(day(-2))
    session.rollback()
    assert list(session.exec(select(col(PainLog.log_date)))) == [day(-1)]
    assert rows(session, ExerciseSession) == 1
    assert rows(session, ExerciseSession, ExerciseSession.id == uuid.UUID(good_session["id"])) == 1


def test_an_unstorable_key_is_not_echoed(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = {"pain_logs": [{**item(-1), "log_date": "2026-03-0\x00"}, item(-2)]}
    results = post_raw(client, body, headers).json()["results"]
    assert [r["status"] for r in results] == ["rejected", "created"]
    assert results[0]["key"] is None
    assert results[0]["error"]["errors"] == [
        {
            "loc": ["body", "pain_logs", 0, "log_date"],
            "msg": "contains a character that cannot be stored (NUL or an unpaired surrogate)",
        }
    ]


def test_duplicate_keys_inside_an_item_refuse_the_document(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    stamp = log_body()["client_updated_at"]
    entry = f'{{"log_date": "{day(-1)}", "back_pain": 3, "back_pain": 4, "client_updated_at": "{stamp}"}}'
    raw = f'{{"pain_logs": [{entry}]}}'
    response = client.post(SYNC, content=raw.encode(), headers={**headers, "content-type": "application/json"})
    assert response.status_code == 422
    assert {"loc": ["body", "pain_logs", 0, "back_pain"], "msg": "duplicate key"} in response.json()["errors"]
    assert rows(session, PainLog) == 0


def test_an_item_the_database_refuses_is_rolled_back_alone(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The failing item's own write happened before the database refused it: the SAVEPOINT
    takes that write back too, and the items before and after it are stored."""
    real_upsert = upsert_pain_log
    real_record = record_session
    failing_session = session_body()

    def upsert_then_fail(db: Session, owner: Patient, log_date: Any, body: Any, now: Any) -> Any:
        written = real_upsert(db, owner, log_date, body, now)
        if log_date == day(-2):  # a second row for the same patient and day: a real unique violation
            db.add(PainLog(**written.log.model_dump(exclude={"id"})))
            db.flush()
        return written

    def record_then_fail(db: Session, owner: Patient, body: Any, now: Any) -> Any:
        written = real_record(db, owner, body, now)
        if str(body.id) == failing_session["id"]:  # a row for a patient that does not exist: a real FK violation
            db.execute(sa.update(ExerciseSession).where(ExerciseSession.id == body.id).values(patient_id=10**9))
        return written

    monkeypatch.setattr(sync_module, "upsert_pain_log", upsert_then_fail)
    monkeypatch.setattr(sync_module, "record_session", record_then_fail)
    body = {
        "pain_logs": [item(-1, 4), item(-2, 6), item(-3, 7)],
        "exercise_sessions": [failing_session, session_body()],
    }
    response = client.post(SYNC, json=body, headers=headers)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created", "rejected", "created"]
    for rejected in (results[1], results[3]):
        assert rejected["error"]["code"] == "item_not_stored"
        assert rejected["error"]["errors"] == []
    session.rollback()
    assert sorted(session.exec(select(col(PainLog.log_date)))) == [day(-3), day(-1)]
    assert rows(session, ExerciseSession) == 1
    assert rows(session, ExerciseSession, ExerciseSession.id == uuid.UUID(failing_session["id"])) == 0
    assert rows(session, AuditEvent) == 1  # the batch's one audit event, for what was stored

    # The app resends its queue: the stored items replay as unchanged, the refused ones are retried.
    monkeypatch.setattr(sync_module, "upsert_pain_log", real_upsert)
    monkeypatch.setattr(sync_module, "record_session", real_record)
    again = client.post(SYNC, json=body, headers=headers).json()["results"]
    assert [r["status"] for r in again] == ["unchanged", "created", "unchanged", "created", "unchanged"]
