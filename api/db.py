"""Engine, sessions and the one transaction boundary.

Requests and jobs both go through ``session_scope``: commit on success, roll back on
any error, always before the HTTP response is sent (the request dependency uses
``scope="function"``). Services only ``flush()``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from api.config import Settings


def ensure_sqlite_directory(database_url: str) -> None:
    """Create the directory of a SQLite file (``./var`` by default) if it is missing."""
    url = make_url(database_url)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def make_engine(settings: Settings) -> Engine:
    """The application's engine. ``hide_parameters``: an error's text never carries bound
    values (notes, e-mails, password hashes), whoever logs or prints it."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(settings.database_url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # One connection per checkout: SQLite connections are cheap and a pool of them
            # only hides "database is locked" behind reuse across threads.
            poolclass=NullPool,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        gate = _WriterGate()
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.release)
        event.listen(engine, "rollback", gate.release)
        event.listen(engine.pool, "checkin", gate.release_record)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, issue BEGIN so the "begin" hook below controls it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


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
    processes (a separate scheduler) still meet SQLite's own busy timeout; so does a writer
    that could not get the gate within the timeout.
    """

    _HELD = "backstep_writer_gate"

    def __init__(self, timeout: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    def begin(self, connection: Any) -> None:
        deferred = connection.get_execution_options().get("backstep_deferred_begin", False)
        if not deferred and not connection.info.get(self._HELD) and self._lock.acquire(timeout=self._timeout):
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
