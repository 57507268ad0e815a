"""Engine, sessions and the one transaction boundary.

Requests and jobs both go through ``session_scope``: commit on success, roll back on
any error, always before the HTTP response is sent (the request dependency uses
``scope="function"``). Services only ``flush()``.

Every wait on the database is bounded (``Bounds``): a lock wait by
``BACKSTEP_DB_LOCK_TIMEOUT_SECONDS`` and a statement by
``BACKSTEP_DB_STATEMENT_TIMEOUT_SECONDS``, so a request stuck behind a lock answers 503
(``api.db_errors``) instead of holding its slot until the client gave up. Jobs run on
``job_engine(...)``, which carries the longer job bounds as an execution option.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from api.config import Settings


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the directory of a SQLite file (``./var`` by default) if it is missing."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class Bounds:
    """How long one transaction may wait for a lock and run one statement (seconds)."""

    lock_seconds: float
    statement_seconds: float

    @property
    def lock_ms(self) -> int:
        return max(1, round(self.lock_seconds * 1000))

    @property
    def statement_ms(self) -> int:
        return max(1, round(self.statement_seconds * 1000))


BOUNDS_OPTION = "backstep_bounds"


def request_bounds(settings: Settings) -> Bounds:
    return Bounds(settings.db_lock_timeout_seconds, settings.db_statement_timeout_seconds)


def job_bounds(settings: Settings) -> Bounds:
    return Bounds(settings.job_lock_timeout_seconds, settings.job_statement_timeout_seconds)


def job_engine(engine: Engine, settings: Settings) -> Engine:
    """The same engine (and pool) with the job bounds: a batch of the nightly sweep may
    legitimately wait and run longer than any request should."""
    return with_bounds(engine, job_bounds(settings))


def with_bounds(engine: Engine, bounds: Bounds) -> Engine:
    return engine.execution_options(**{BOUNDS_OPTION: bounds})


def _bounds_of(connection: Any, default: Bounds) -> Bounds:
    bounds = connection.get_execution_options().get(BOUNDS_OPTION)
    return bounds if isinstance(bounds, Bounds) else default


def make_engine(settings: Settings, bounds: Bounds | None = None) -> Engine:
    """The process's engine; every transaction on it is bounded by ``bounds`` (default:
    the request bounds of ``settings``) unless its connection carries its own.
    ``hide_parameters``: an error's text never carries bound values (notes, e-mails,
    password hashes), whoever logs or prints it."""
    default = bounds or request_bounds(settings)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(settings.database_url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": default.lock_seconds},
            # One connection per checkout: SQLite connections are cheap and a pool of them
            # only hides "database is locked" behind reuse across threads.
            poolclass=NullPool,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _SqlitePragmas(default))
        gate = _WriterGate(default)
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.release)
        event.listen(engine, "rollback", gate.release)
        event.listen(engine.pool, "checkin", gate.release_record)
        deadline = _SqliteStatementDeadline(default)
        event.listen(engine, "before_cursor_execute", deadline.start)
        event.listen(engine, "after_cursor_execute", deadline.stop)
        event.listen(engine, "handle_error", deadline.stop_on_error)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Waiting for a pooled connection is a wait like any other: bounded the same.
        pool_timeout=default.lock_seconds,
        hide_parameters=True,
    )
    event.listen(engine, "begin", _PostgresBounds(default))
    return engine


def make_probe_engine(settings: Settings) -> Engine:
    """A small engine of its own for ``/readyz``: the probe never waits for the request
    pool (which a saturated process has lent out), and its connect, lock wait and query
    are each bounded by ``BACKSTEP_READYZ_TIMEOUT_SECONDS``."""
    seconds = settings.readyz_timeout_seconds
    bounds = Bounds(seconds, seconds)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return make_engine(settings, bounds)
    engine = create_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=seconds,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"connect_timeout": max(1, math.ceil(seconds))},  # libpq: whole seconds
        hide_parameters=True,
    )
    event.listen(engine, "begin", _PostgresBounds(bounds))
    return engine


class _PostgresBounds:
    """``SET LOCAL lock_timeout, statement_timeout`` at the start of every transaction.

    Per transaction rather than per connection (startup ``options`` or a session-level
    SET): PgBouncer in transaction mode refuses startup options and would hand a
    session-level SET to whichever client gets that server connection next. It is one
    statement, sent on the raw DBAPI connection: bookkeeping of the transaction, not a
    query of the code (statement-count tests and profiles do not see it).
    """

    def __init__(self, default: Bounds) -> None:
        self._default = default

    def __call__(self, connection: Any) -> None:
        bounds = _bounds_of(connection, self._default)
        dbapi_connection = connection.connection.dbapi_connection
        if dbapi_connection is None or getattr(dbapi_connection, "autocommit", False):
            return  # outside a transaction block SET LOCAL would be a no-op
        with dbapi_connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
                (str(bounds.lock_ms), str(bounds.statement_ms)),
            )


class _SqlitePragmas:
    def __init__(self, default: Bounds) -> None:
        self._busy_ms = default.lock_ms

    def __call__(self, dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, issue BEGIN so the "begin" hook below controls it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(self._busy_ms)}")
        cursor.close()


class _SqliteStatementDeadline:
    """SQLite's statement timeout: a progress handler interrupts a statement that runs past
    its deadline ("interrupted", an OperationalError like PostgreSQL's query_canceled).

    The deadline is armed only while a statement executes (before/after cursor execute),
    so a COMMIT after a long pause in Python is never interrupted. Waiting for a lock is
    not running: that is the busy timeout's job.
    """

    _KEY = "backstep_statement_deadline"
    _EVERY = 10_000  # SQLite VM instructions between checks: cheap, and well under a millisecond

    def __init__(self, default: Bounds) -> None:
        self._default = default

    def start(self, connection: Any, _cursor: Any, *_args: Any) -> None:
        bounds = _bounds_of(connection, self._default)
        record = connection.connection
        deadline: list[float] | None = record.info.get(self._KEY)
        if deadline is None:
            deadline = [0.0]  # 0: disarmed
            record.info[self._KEY] = deadline
            dbapi_connection: sqlite3.Connection = record.dbapi_connection
            dbapi_connection.set_progress_handler(
                lambda: bool(deadline[0]) and time.monotonic() > deadline[0], self._EVERY
            )
        deadline[0] = time.monotonic() + bounds.statement_seconds

    def stop(self, connection: Any, *_args: Any) -> None:
        deadline: list[float] | None = connection.connection.info.get(self._KEY)
        if deadline is not None:
            deadline[0] = 0.0

    def stop_on_error(self, context: Any) -> None:
        connection = context.connection
        if connection is not None and not connection.closed:
            self.stop(connection)


DEFERRED_BEGIN = {"backstep_deferred_begin": True}


class _WriterGate:
    """SQLite has one writer at a time: this process's writers queue on a lock for it.

    BEGIN IMMEDIATE takes the write lock up front, so read-then-write transactions
    (upserts with a staleness check) cannot fail on lock upgrade. Read-only connections
    opt out with the DEFERRED_BEGIN execution option, so under WAL they never wait behind,
    or block, a writer. Without the gate, concurrent writers would wait in SQLite's busy
    handler, which polls with sleeps of up to 100 ms: under 16 clients that is most of a
    request's latency and seconds at p99. The gate is a plain lock (released by whichever
    thread ends the transaction) taken before BEGIN IMMEDIATE and given back at COMMIT or
    ROLLBACK, or when the connection goes back to the pool, whichever comes first. Other
    processes (a separate scheduler) still meet SQLite's own busy timeout.

    The wait for the gate is bounded by the transaction's lock bound, like SQLite's busy
    timeout: past it the writer fails as SQLite would ("database is locked"), which the
    API answers with 503 ``database_busy``.
    """

    _HELD = "backstep_writer_gate"

    def __init__(self, default: Bounds) -> None:
        self._lock = threading.Lock()
        self._default = default

    def begin(self, connection: Any) -> None:
        options = connection.get_execution_options()
        deferred = options.get("backstep_deferred_begin", False)
        bounds = _bounds_of(connection, self._default)
        if bounds != self._default:  # a job's own bound for other processes' locks too
            connection.connection.dbapi_connection.execute(f"PRAGMA busy_timeout={int(bounds.lock_ms)}")
        if not deferred and not connection.info.get(self._HELD):
            if not self._lock.acquire(timeout=bounds.lock_seconds):
                raise OperationalError(
                    "BEGIN IMMEDIATE",
                    None,
                    sqlite3.OperationalError("database is locked (waited for this process's writer queue)"),
                )
            connection.info[self._HELD] = True
        try:
            connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
        except BaseException:
            self._give_back(connection.info)
            raise

    def release(self, connection: Any) -> None:
        self._give_back(connection.info)

    def release_record(self, _dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            self._give_back(record.info)

    def _give_back(self, info: dict[str, Any]) -> None:
        if info.pop(self._HELD, False):
            self._lock.release()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back otherwise."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
