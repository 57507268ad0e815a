"""SQLite's single writer: this process's writers queue on a lock (api.db._WriterGate),
never in SQLite's sleeping busy handler, and every way a transaction ends gives it back."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from api.config import Settings
from api.db import DEFERRED_BEGIN, make_engine


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'gate.db'}"))
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, writer INTEGER NOT NULL)")
    return engine


def rows(engine: sa.Engine) -> list[int]:
    with engine.connect() as connection:
        return [r[0] for r in connection.exec_driver_sql("SELECT writer FROM t ORDER BY id")]


def test_a_second_writer_waits_for_the_first_to_commit(engine: sa.Engine) -> None:
    first_in = threading.Event()
    release_first = threading.Event()
    order: list[str] = []

    def first() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t (writer) VALUES (1)")
            first_in.set()
            release_first.wait(5)
            order.append("first commits")

    def second() -> None:
        first_in.wait(5)
        with engine.begin() as connection:
            order.append("second begins")
            connection.exec_driver_sql("INSERT INTO t (writer) VALUES (2)")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_in.wait(5)
    time.sleep(0.2)  # the second writer is now queued (not yet in its transaction)
    assert order == []
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first commits", "second begins"]
    assert rows(engine) == [1, 2]


def test_readers_do_not_wait_behind_a_writer(engine: sa.Engine) -> None:
    with engine.begin() as writer:
        writer.exec_driver_sql("INSERT INTO t (writer) VALUES (1)")
        with engine.connect().execution_options(**DEFERRED_BEGIN) as reader:
            assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0


def failing_write(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO t (id, writer) VALUES (1, 1)")
        connection.exec_driver_sql("INSERT INTO t (id, writer) VALUES (1, 1)")


@pytest.mark.parametrize("ending", ["rollback", "error", "close without commit"])
def test_every_ending_gives_the_gate_back(engine: sa.Engine, ending: str) -> None:
    if ending == "rollback":
        with engine.connect() as connection:
            connection.begin()
            connection.exec_driver_sql("INSERT INTO t (writer) VALUES (1)")
            connection.rollback()
    elif ending == "error":
        with pytest.raises(IntegrityError):
            failing_write(engine)  # the exception leaves engine.begin(), which rolls back
    else:
        connection = engine.connect()
        connection.begin()
        connection.exec_driver_sql("INSERT INTO t (writer) VALUES (1)")
        connection.close()  # the pool resets (rolls back) the connection

    done = threading.Event()

    def next_writer() -> None:
        with engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t (writer) VALUES (2)")
        done.set()

    thread = threading.Thread(target=next_writer)
    thread.start()
    assert done.wait(5), "the next writer is still waiting for the gate"
    thread.join()
    assert rows(engine) == [2]


def test_one_connection_can_run_several_transactions(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        for writer in (1, 2, 3):
            with connection.begin():
                connection.exec_driver_sql("INSERT INTO t (writer) VALUES (?)", (writer,))
    assert rows(engine) == [1, 2, 3]
