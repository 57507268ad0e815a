"""Nobody waits unboundedly (issue 15): a request stuck behind a lock, a long statement or
a full process answers 503 with ``Retry-After`` within its bound, and the health probes
answer whatever the load.

The bounds are small here (half a second) so the tests are quick; each request runs in a
thread with a generous safety timeout, so a missing bound fails the test instead of
hanging it. Nothing is asserted about durations.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from api.config import Settings
from api.db import Bounds, job_bounds, job_engine, request_bounds, with_bounds
from api.db_errors import is_busy
from api.jobs import JOBS, JobContext, JobResult, run_job
from api.main import create_app
from api.middleware import ConcurrencyLimitMiddleware
from api.models import AuditEvent, PainLog, Patient
from tests.conftest import open_session, test_settings
from tests.factories import make_patient, patient_auth
from tests.reminders.helpers import set_clock

NOW = datetime(2026, 6, 8, 12, 0, tzinfo=UTC)
URL = "/api/v1/me/pain-logs/2026-06-08"
SAFETY = 60  # seconds: only so that a missing bound fails instead of hanging the suite


def body(back_pain: int, minute: int) -> dict[str, Any]:
    return {"back_pain": back_pain, "client_updated_at": f"2026-06-08T11:{minute:02d}:00+00:00"}


def assert_busy(response: Any, code: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == code


@pytest.fixture
def bounded_app(database_url: str) -> Iterator[Callable[..., tuple[FastAPI, TestClient]]]:
    """Apps with their own bounds (settings overrides); every connection handed back."""
    made: list[tuple[FastAPI, TestClient]] = []

    def make(**overrides: object) -> tuple[FastAPI, TestClient]:
        application = create_app(test_settings(database_url, **overrides))
        client = TestClient(application)
        client.__enter__()
        made.append((application, client))
        return application, client

    yield make
    for application, client in made:
        client.__exit__(None, None, None)
        checked_out = getattr(application.state.engine.pool, "checkedout", lambda: 0)()
        assert checked_out == 0, f"{checked_out} database connection(s) still checked out"


def patient_with_a_log(app: FastAPI, client: TestClient) -> tuple[Patient, dict[str, str]]:
    with open_session(app.state.engine) as session:
        set_clock(app, session, NOW)
        patient = make_patient(session, app)
        headers = patient_auth(session, app, patient)
    assert client.put(URL, json=body(4, 0), headers=headers).status_code == 201
    return patient, headers


@pytest.fixture
def row_locker(engine: Engine) -> Iterator[Callable[[int], None]]:
    """PostgreSQL: a second connection (another process, say) locks a patient's pain-log rows."""
    locker = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    connection = locker.connect()
    transaction = connection.begin()

    def lock(patient_id: int) -> None:
        connection.execute(text("SELECT id FROM pain_log WHERE patient_id = :p FOR UPDATE"), {"p": patient_id})

    yield lock
    transaction.rollback()
    connection.close()
    locker.dispose()


def in_thread(call: Callable[[], Any]) -> Any:
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=SAFETY)
    finally:
        pool.shutdown(wait=False)  # a request still stuck is freed when the lock goes


def stored_log(app: FastAPI, patient: Patient) -> tuple[int, int]:
    with open_session(app.state.engine) as session:
        log = session.exec(select(PainLog).where(PainLog.patient_id == patient.id)).one()
        audits = len(session.exec(select(AuditEvent).where(AuditEvent.patient_id == patient.id)).all())
    return log.back_pain, audits


@pytest.mark.postgresql_only
@pytest.mark.parametrize(
    ("lock_seconds", "statement_seconds"),
    [(0.5, 30.0), (30.0, 0.5)],
    ids=["lock_timeout", "statement_timeout"],
)
def test_a_write_behind_a_row_lock_is_503_and_writes_nothing(
    bounded_app: Callable[..., tuple[FastAPI, TestClient]],
    row_locker: Callable[[int], None],
    lock_seconds: float,
    statement_seconds: float,
) -> None:
    app, client = bounded_app(db_lock_timeout_seconds=lock_seconds, db_statement_timeout_seconds=statement_seconds)
    patient, headers = patient_with_a_log(app, client)
    before = stored_log(app, patient)
    assert patient.id is not None
    row_locker(patient.id)

    response = in_thread(lambda: client.put(URL, json=body(8, 5), headers=headers))

    assert_busy(response, "database_busy")
    assert stored_log(app, patient) == before  # neither the log nor its audit event


@pytest.mark.sqlite_only
def test_sqlite_a_write_behind_another_process_is_503_within_the_busy_timeout(
    bounded_app: Callable[..., tuple[FastAPI, TestClient]], database_url: str
) -> None:
    app, client = bounded_app(db_lock_timeout_seconds=0.5)
    patient, headers = patient_with_a_log(app, client)
    before = stored_log(app, patient)
    other_process = sqlite3.connect(sa.make_url(database_url).database or "", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # holds SQLite's write lock
    try:
        response = in_thread(lambda: client.put(URL, json=body(8, 5), headers=headers))
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert_busy(response, "database_busy")
    assert stored_log(app, patient) == before
    assert client.put(URL, json=body(8, 5), headers=headers).status_code == 200  # served once it is free


@pytest.mark.sqlite_only
def test_sqlite_the_writer_queue_is_bounded_too(bounded_app: Callable[..., tuple[FastAPI, TestClient]]) -> None:
    """This process's own writers queue on a lock (api.db._WriterGate): the same bound applies."""
    app, client = bounded_app(db_lock_timeout_seconds=0.5)
    patient, headers = patient_with_a_log(app, client)
    before = stored_log(app, patient)
    with app.state.engine.begin() as writer:  # a transaction of this process holds the gate
        writer.exec_driver_sql("SELECT 1")
        response = in_thread(lambda: client.put(URL, json=body(8, 5), headers=headers))
    assert_busy(response, "database_busy")
    assert stored_log(app, patient) == before


def limiter(app: FastAPI) -> ConcurrencyLimitMiddleware:
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, ConcurrencyLimitMiddleware):
        layer = getattr(layer, "app", None)
    assert isinstance(layer, ConcurrencyLimitMiddleware)
    return layer


def wait_until_all_slots_are_taken(app: FastAPI, pending: list[Future[Any]]) -> None:
    layer = limiter(app)
    deadline = time.monotonic() + SAFETY
    while layer._semaphore is None or layer._semaphore.value > 0:
        finished = [f.result().text for f in pending if f.done()]
        assert not finished, f"a request finished instead of waiting on the lock: {finished}"
        assert time.monotonic() < deadline, "the requests never took every slot"
        time.sleep(0.01)


def test_probes_answer_while_every_request_slot_waits_on_a_lock(
    bounded_app: Callable[..., tuple[FastAPI, TestClient]], database_url: str
) -> None:
    """Two slots, both held by writes waiting on a lock: the probes still answer, a third
    request gets 503 ``server_busy`` once its queue bound is over, and the two writes
    complete when the lock goes."""
    app, client = bounded_app(max_concurrent_requests=2, request_queue_seconds=0.3, db_lock_timeout_seconds=SAFETY)
    patient, headers = patient_with_a_log(app, client)
    release = hold_the_patients_rows(app, database_url, patient)
    with ThreadPoolExecutor(max_workers=2) as pool:
        try:
            writes = [pool.submit(client.put, URL, json=body(6 + i, 10 + i), headers=headers) for i in range(2)]
            wait_until_all_slots_are_taken(app, writes)

            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["status"] == "ready"
            assert_busy(client.get("/api/v1/exercises", headers=headers), "server_busy")
        finally:
            release()
        statuses = sorted(f.result(timeout=SAFETY).status_code for f in writes)
    assert statuses in ([200, 200], [200, 409])  # the older edit may arrive second: stale


@pytest.mark.postgresql_only
def test_readyz_is_503_not_ready_within_its_own_bound(
    bounded_app: Callable[..., tuple[FastAPI, TestClient]], database_url: str
) -> None:
    """A migration (say) holds alembic_version exclusively: the probe gives up at its bound."""
    _app, client = bounded_app(readyz_timeout_seconds=0.5)
    locker = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with locker.begin() as connection:
            connection.exec_driver_sql("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE")
            response = in_thread(lambda: client.get("/readyz"))
    finally:
        locker.dispose()
    assert response.status_code == 503
    assert response.json()["code"] == "not_ready"
    assert client.get("/readyz").status_code == 200


def hold_the_patients_rows(app: FastAPI, database_url: str, patient: Patient) -> Callable[[], None]:
    """Lock the patient's pain-log rows from outside the app; returns the release."""
    if app.state.settings.is_sqlite:
        other = sqlite3.connect(sa.make_url(database_url).database or "", isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")

        def release_sqlite() -> None:
            if other.in_transaction:
                other.execute("ROLLBACK")

        return release_sqlite
    locker = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    connection = locker.connect()
    connection.begin()
    connection.execute(text("SELECT id FROM pain_log WHERE patient_id = :p FOR UPDATE"), {"p": patient.id})

    def release_postgres() -> None:
        if not connection.closed:
            connection.rollback()
            connection.close()
            locker.dispose()

    return release_postgres


# --- the bounds themselves -------------------------------------------------------------

RUNAWAY = {
    # Never ends by itself: only the statement bound stops it.
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
    "postgresql": "SELECT pg_sleep(3600)",
}


def test_a_runaway_statement_is_interrupted_and_the_connection_serves_on(engine: Engine) -> None:
    bounded = with_bounds(engine, Bounds(lock_seconds=5, statement_seconds=0.3))
    with bounded.connect() as connection:
        with pytest.raises(OperationalError) as raised:
            connection.exec_driver_sql(RUNAWAY[engine.dialect.name])
        assert is_busy(raised.value)
        connection.rollback()
        # The deadline is disarmed after each statement: the next one runs normally.
        assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
        connection.commit()


def current_bounds(engine: Engine) -> tuple[str, str]:
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            lock = session.execute(text("SHOW lock_timeout")).scalar_one()
            statement = session.execute(text("SHOW statement_timeout")).scalar_one()
            return str(lock), str(statement)
        busy = session.execute(text("PRAGMA busy_timeout")).scalar_one()
        return f"{busy}ms", "-"


def test_requests_and_jobs_run_with_their_own_bounds(app: FastAPI, engine: Engine, settings: Settings) -> None:
    postgres = engine.dialect.name == "postgresql"
    request = request_bounds(settings)
    job = job_bounds(settings)
    assert job.lock_seconds > request.lock_seconds and job.statement_seconds > request.statement_seconds
    expected_request = ("5s", "10s") if postgres else ("5000ms", "-")
    expected_job = ("30s", "5min") if postgres else ("30000ms", "-")
    assert current_bounds(engine) == expected_request
    assert current_bounds(job_engine(engine, settings)) == expected_job

    seen: list[tuple[str, str]] = []

    def probe(ctx: JobContext, _now: datetime) -> JobResult:
        seen.append(current_bounds(ctx.engine))
        return {}

    original = JOBS["reminders"]
    JOBS["reminders"] = probe
    try:
        run_job("reminders", JobContext(engine, settings, app.state.clock), NOW)
    finally:
        JOBS["reminders"] = original
    assert seen == [expected_job]
