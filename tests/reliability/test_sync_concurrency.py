"""Many devices syncing overlapping offline batches for one patient at once (SPEC §2.3, §4).

Eight clients each send an offline queue of pain logs over overlapping dates (each
client's edit times differ), plus exercise sessions some of which another client also
queued, every batch sent twice (a replay after a lost response), all at once through
the real ASGI app. Afterwards: one row per date holding the newest edit, one row per
session id, every date ``created`` exactly once across all answers, nothing rejected.
"""

from __future__ import annotations

import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import ExerciseSession, PainLog, Patient
from tests.factories import make_patient, patient_auth
from tests.reminders.helpers import set_clock, utc

NOW = utc(2026, 6, 8, 12, 0)  # a Monday, 13:00 in London
CLIENTS = 8
DATES = 12
SHARED_SESSIONS = [str(uuid.UUID(int=n + 1)) for n in range(6)]


def _log(client_no: int, offset: int) -> dict[str, Any]:
    # Edit times interleave across clients, so "newest" is a different client per date.
    minute = (client_no * 7 + offset * 5) % 60
    return {
        "log_date": (NOW.date() - timedelta(days=offset)).isoformat(),
        "back_pain": (client_no + offset) % 11,
        "note": f"client {client_no}",
        "client_updated_at": (NOW - timedelta(hours=2) + timedelta(minutes=minute, seconds=client_no)).isoformat(),
    }


def _session(session_id: str, n: int) -> dict[str, Any]:
    return {
        "id": session_id,
        "performed_at": (NOW - timedelta(days=n % 5, hours=3)).isoformat(),
        "duration_minutes": 20,
        "exercises": [{"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True}],
        "pain_during": 3,
    }


def batch(client_no: int) -> dict[str, Any]:
    offsets = [(client_no + k) % DATES for k in range(6)]  # six dates, overlapping the neighbours'
    sessions = [_session(s, n) for n, s in enumerate(SHARED_SESSIONS) if (n + client_no) % 2 == 0]
    own = _session(str(uuid.UUID(int=1000 + client_no)), client_no)
    return {"pain_logs": [_log(client_no, o) for o in offsets], "exercise_sessions": [*sessions, own]}


def test_overlapping_offline_batches_keep_the_newest_edit_and_lose_nothing(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    set_clock(app, session, NOW)
    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    session.rollback()
    sends = [n for n in range(CLIENTS) for _ in range(2)]
    random.Random(9).shuffle(sends)
    barrier = threading.Barrier(len(sends))

    def sync(client_no: int) -> dict[str, Any]:
        body = batch(client_no)
        barrier.wait()
        response = client.post("/api/v1/me/sync", json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    with ThreadPoolExecutor(max_workers=len(sends)) as pool:
        answers = list(pool.map(sync, sends))

    results = [r for a in answers for r in a["results"]]
    assert all(r["status"] != "rejected" for r in results)
    created = [r["key"] for r in results if r["kind"] == "pain_log" and r["status"] == "created"]
    expected: dict[str, dict[str, Any]] = {}
    for n in range(CLIENTS):
        for log in batch(n)["pain_logs"]:
            current = expected.get(log["log_date"])
            if current is None or log["client_updated_at"] > current["client_updated_at"]:
                expected[log["log_date"]] = log
    assert sorted(created) == sorted(expected)  # each date created once, by whichever came first

    session.rollback()
    stored = {row.log_date.isoformat(): row for row in session.exec(select(PainLog)).all()}
    assert set(stored) == set(expected)
    for day, log in expected.items():
        assert stored[day].note == log["note"] and stored[day].back_pain == log["back_pain"], day
    session_ids = {str(row.id) for row in session.exec(select(ExerciseSession)).all()}
    assert session_ids == {*SHARED_SESSIONS, *(str(uuid.UUID(int=1000 + n)) for n in range(CLIENTS))}
    refreshed = session.get(Patient, patient.id, populate_existing=True)
    assert refreshed is not None
    assert refreshed.last_log_on is not None and refreshed.last_log_on.isoformat() == max(expected)
    assert refreshed.programme_started_on is not None
    assert refreshed.programme_started_on.isoformat() == min(expected)
