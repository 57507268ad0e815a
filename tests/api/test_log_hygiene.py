"""No PHI and no secret in any log line, whatever fails.

Marker strings (a note, an e-mail, a display name) are planted in requests that fail
in every way the service knows: a database error with bound values, an outage, a
bug whose message quotes the data, NUL bytes, a sync item the database refuses, a weak
password, and a library logger printing a raw database exception the way uvicorn
does. Then the captured output of every logger (JSON, one event a line) is searched
for the markers and for argon2 hashes.
"""

from __future__ import annotations

import json
import logging
import logging.config
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session
from uvicorn.config import LOGGING_CONFIG

from api.main import create_app
from api.models import Patient
from api.pain_logs import router as pain_logs_router
from api.pain_logs import sync as sync_module
from api.pain_logs.service import upsert_pain_log
from tests.capture.helpers import ME, START, day, log_body, set_clock
from tests.conftest import open_session, test_settings
from tests.factories import PASSWORD, make_patient, patient_auth

NOTE = "marker-note-q7v2 sciatica after the fall"
EMAIL = "marker.person.q7v2@example.org"
NAME = "Marker Name Q7v2"
SECRETS = (NOTE, "marker-note-q7v2", EMAIL, "marker.person.q7v2", NAME, "$argon2", "argon2id$")
REGISTER = "/api/v1/auth/register"


@pytest.fixture
def logged_app(database_url: str) -> Iterator[FastAPI]:
    # As under `uvicorn api.main:app`: uvicorn's own logging config comes first, with
    # handlers that print raw tracebacks; the app must take those loggers back.
    logging.config.dictConfig(LOGGING_CONFIG)
    application = create_app(test_settings(database_url, log_level="DEBUG", log_json=True))
    yield application
    application.state.engine.dispose()


@pytest.fixture
def loud_client(logged_app: FastAPI) -> Iterator[TestClient]:
    # A 500 is answered, not raised into the test: the point is what gets logged.
    with TestClient(logged_app, raise_server_exceptions=False) as client:
        yield client


def _events(output: str) -> list[dict[str, Any]]:
    lines = [line for line in output.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON event


def test_no_marker_reaches_any_log(
    logged_app: FastAPI,
    loud_client: TestClient,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_session(logged_app.state.engine) as session:
        set_clock(logged_app, session, START)
        patient: Patient = make_patient(session, logged_app)
        headers = patient_auth(session, logged_app, patient)
    capsys.readouterr()

    # 1. A database error whose text has the e-mail (psycopg's DETAIL) and whose bound
    #    values have the e-mail, the display name and the argon2 hash.
    assert loud_client.post(REGISTER, json={"email": EMAIL, "password": PASSWORD, "display_name": NAME}).status_code
    monkeypatch.setattr("api.auth.service.email_taken", lambda *_: False)
    twice = loud_client.post(REGISTER, json={"email": EMAIL, "password": PASSWORD, "display_name": NAME})
    assert twice.status_code >= 400
    monkeypatch.undo()

    # 2. A failing statement with the note as a bound value (ProgrammingError on
    #    PostgreSQL, OperationalError on SQLite), then an outage whose driver message
    #    quotes the note and names the e-mail.
    real_upsert = upsert_pain_log

    def upsert_then_bad_sql(db: Session, *args: Any) -> Any:
        written = real_upsert(db, *args)
        db.execute(sa.text("SELECT no_such_column FROM pain_log WHERE note = :note"), {"note": NOTE})
        return written

    monkeypatch.setattr(pain_logs_router, "upsert_pain_log", upsert_then_bad_sql)
    response = loud_client.put(f"{ME}/pain-logs/{day(0)}", json=log_body(note=NOTE), headers=headers)
    assert response.status_code >= 500

    def outage(*_: Any) -> Any:
        driver_error = Exception(f"server closed while writing '{NOTE}' {EMAIL}")
        raise sa.exc.OperationalError("UPDATE pain_log SET note = :note", {"note": NOTE}, driver_error)

    monkeypatch.setattr(pain_logs_router, "upsert_pain_log", outage)
    assert loud_client.put(f"{ME}/pain-logs/{day(0)}", json=log_body(note=NOTE), headers=headers).status_code == 503

    # 3. A bug whose message quotes the data.
    def buggy(*_: Any) -> Any:
        raise ValueError(f"cannot store note {NOTE!r} for {EMAIL}")

    monkeypatch.setattr(pain_logs_router, "upsert_pain_log", buggy)
    assert loud_client.put(f"{ME}/pain-logs/{day(0)}", json=log_body(note=NOTE), headers=headers).status_code == 500
    monkeypatch.undo()

    # 4. NUL bytes, on a public route and a patient's.
    nul = loud_client.post(REGISTER, json={"email": EMAIL, "password": PASSWORD, "display_name": NAME + "\x00"})
    assert nul.status_code == 422
    nul_note = loud_client.put(f"{ME}/pain-logs/{day(0)}", json=log_body(note=NOTE + "\x00"), headers=headers)
    assert nul_note.status_code == 422

    # 5. A sync with a NUL item and an item the database refuses.
    real_sync_upsert = upsert_pain_log

    def sync_upsert_then_fail(db: Session, owner: Patient, log_date: Any, body: Any, now: Any) -> Any:
        written = real_sync_upsert(db, owner, log_date, body, now)
        if log_date == day(-2):
            db.add(type(written.log)(**written.log.model_dump(exclude={"id"})))
            db.flush()
        return written

    monkeypatch.setattr(sync_module, "upsert_pain_log", sync_upsert_then_fail)
    items = [
        {"log_date": str(day(d)), **log_body(note=note)} for d, note in ((-1, NOTE), (-2, NOTE), (-3, NOTE + "\x00"))
    ]
    synced = loud_client.post(f"{ME}/sync", json={"pain_logs": items}, headers=headers)
    assert [r["status"] for r in synced.json()["results"]] == ["created", "rejected", "rejected"]
    monkeypatch.undo()

    # 6. A weak password.
    weak = loud_client.post(REGISTER, json={"email": "2" + EMAIL, "password": "password12", "display_name": NAME})
    assert weak.status_code == 422

    # 7. A library logger printing a raw database exception, as uvicorn does for an
    #    error that escapes the app, from an engine that does not hide parameters.
    raw_engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with raw_engine.connect() as connection:
            connection.execute(sa.text("SELECT :note, :email FROM no_such_table"), {"note": NOTE, "email": EMAIL})
    except sa.exc.DBAPIError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    raw_engine.dispose()

    captured = capsys.readouterr()
    output = captured.out
    for secret in SECRETS:
        assert secret.lower() not in captured.err.lower(), secret
    events = _events(output)
    names = {event.get("event") for event in events}
    assert {"unhandled_error", "database_unavailable", "sync_item_not_stored", "Exception in ASGI application"} <= names
    for secret in SECRETS:
        assert secret.lower() not in output.lower(), secret
    # What is kept: the exception's type and stack, so the failure can still be found.
    escaped = [e for e in events if e.get("event") == "Exception in ASGI application"]
    assert escaped[0]["error_type"].startswith("sqlalchemy.exc.")
    assert "Traceback (most recent call last)" in escaped[0]["exception"]
    assert "test_log_hygiene.py" in escaped[0]["exception"]
    bugs = [e for e in events if e.get("event") == "unhandled_error" and e.get("error_type") == "ValueError"]
    assert bugs[0]["error"] == "cannot store note '…' for <email>"
