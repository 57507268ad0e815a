"""The database unavailable during a request: 503 problem details, nothing half-written (SPEC §4).

- PostgreSQL: the request's own server connection is killed (``pg_terminate_backend``)
  right after the pain log has been upserted, when the request goes on to update the
  patient row. The log, the bookkeeping, the alerts and the audit event share one
  transaction, so none of them may remain; the app must answer 503 and serve the
  retry normally.
- Both backends: the database cannot be reached at all (PostgreSQL on a closed port;
  SQLite at a path that cannot be opened): 503 with ``Retry-After``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from api.config import Settings
from api.main import create_app
from api.models import AuditEvent, PainLog, Patient
from tests.factories import make_patient, patient_auth
from tests.reminders.helpers import set_clock, utc

NOW = utc(2026, 6, 8, 12, 0)
BODY = {"back_pain": 6, "symptoms": {"night_pain": True}, "client_updated_at": "2026-06-08T11:00:00+00:00"}
URL = "/api/v1/me/pain-logs/2026-06-08"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens on it once the probe is closed


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    problem = response.json()
    assert problem["code"] == "database_unavailable" and problem["status"] == 503


@pytest.fixture
def killed_after_the_upsert(engine: Engine) -> Iterator[Callable[[], list[int]]]:
    """Once armed, terminate the connection that runs the next ``UPDATE patient`` (the request's own)."""
    killed: list[int] = []
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)

    def kill(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith("UPDATE patient") and not killed:
            pid = conn.connection.dbapi_connection.info.backend_pid
            with admin.connect() as other:
                other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            killed.append(pid)

    def arm() -> list[int]:
        event.listen(engine, "before_cursor_execute", kill)
        return killed

    yield arm
    if event.contains(engine, "before_cursor_execute", kill):
        event.remove(engine, "before_cursor_execute", kill)
    admin.dispose()


@pytest.mark.postgresql_only
def test_a_connection_killed_mid_request_is_503_and_writes_nothing(
    app: FastAPI, client: TestClient, session: Session, killed_after_the_upsert: Callable[[], list[int]]
) -> None:
    set_clock(app, session, NOW)
    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    session.rollback()
    audit_before = len(session.exec(select(AuditEvent)).all())
    session.rollback()

    killed = killed_after_the_upsert()
    assert_unavailable(client.put(URL, json=BODY, headers=headers))
    assert killed  # the kill really happened, between the upsert and the patient update

    session.rollback()
    assert session.exec(select(PainLog)).all() == []
    stored = session.get(Patient, patient.id, populate_existing=True)
    assert stored is not None and stored.last_log_on is None and stored.programme_started_on is None
    assert len(session.exec(select(AuditEvent)).all()) == audit_before
    session.rollback()

    retried = client.put(URL, json=BODY, headers=headers)  # the pool recovers: the retry is served
    assert retried.status_code == 201
    assert retried.json()["triage"]["tier"] == "urgent_same_day"


def test_an_unreachable_database_is_503(
    app: FastAPI, session: Session, settings: Settings, backend: Any, tmp_path: Any
) -> None:
    set_clock(app, session, NOW)
    headers = patient_auth(session, app, make_patient(session, app))
    if backend.name == "postgresql":
        unreachable = sa.make_url(settings.database_url).set(host="127.0.0.1", port=_closed_port())
        url = unreachable.render_as_string(hide_password=False)
    else:
        (tmp_path / "a-directory.db").mkdir()  # SQLite cannot open a directory as its file
        url = f"sqlite:///{tmp_path / 'a-directory.db'}"
    down = create_app(settings.model_copy(update={"database_url": url}))
    with TestClient(down) as client:
        assert_unavailable(client.put(URL, json=BODY, headers=headers))
        assert_unavailable(client.get("/api/v1/me", headers=headers))
