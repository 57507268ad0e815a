"""Test fixtures: every database test runs on SQLite and, when TEST_DATABASE_URL is set,
on PostgreSQL too (the same tests, parametrized by backend).

Isolation: the schema is built once per backend (and per pytest-xdist worker) with the
real migrations; each test then gets a fresh copy of the migrated SQLite file, or a
PostgreSQL database with every table emptied. Tests commit for real, so concurrency tests
see real locking.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine
from sqlmodel import Session

from api.config import Settings
from api.db import DEFERRED_BEGIN
from api.main import create_app
from api.migrations import upgrade
from api.models import metadata

# No test is timed (README: speed is measured in bench/): on a loaded 2-core machine
# Hypothesis's per-example deadline and its slow-generation check only measure the load.
hypothesis_settings.register_profile("backstep", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("backstep")

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run backend-specific tests only on their backend (deselected elsewhere, not skipped).

    ``postgresql_only`` tests need row locks / SKIP LOCKED or several processes; CI always
    has PostgreSQL, so they always run there.
    """
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        wrong = (item.get_closest_marker("postgresql_only") and backend != "postgresql") or (
            item.get_closest_marker("sqlite_only") and backend != "sqlite"
        )
        (drop if wrong else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass(frozen=True)
class Backend:
    name: str
    template: Path | None  # migrated SQLite file to copy per test
    url: str | None  # PostgreSQL database, truncated per test


def test_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for tests: cheap password hashing, test clock on, no background scheduler."""
    values: dict[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "argon2_time_cost": 1,
        "argon2_memory_cost": 64,
        "allow_test_clock": True,
        "clock_cache_seconds": 0,
        "scheduler_in_process": False,
        "log_level": "WARNING",
        "alembic_ini": Path(__file__).resolve().parent.parent / "alembic.ini",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


def worker_database(url: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database (``test_gw0``, ...),
    created beside the configured one on first use; without xdist, the configured one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    configured = sa.make_url(url)
    name = f"{configured.database}_{worker}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        if exists.scalar() is None:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return configured.set(database=name).render_as_string(hide_password=False)


def reset_postgres_schema(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Backend:
    if request.param == "sqlite":
        template = tmp_path_factory.mktemp("sqlite-template") / "template.db"
        upgrade(test_settings(f"sqlite:///{template}"))
        with sqlite3.connect(template) as connection:  # fold the WAL into the file we copy
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return Backend("sqlite", template, None)
    assert PG_URL is not None
    url = worker_database(PG_URL)
    reset_postgres_schema(url)
    upgrade(test_settings(url))
    return Backend("postgresql", None, url)


# DELETE (children first) and a sequence restart: ~5 ms, where TRUNCATE of every table
# costs ~60 ms per test because it recreates each table's files.
_EMPTY_TABLES = "; ".join(f'DELETE FROM "{t.name}"' for t in reversed(metadata.sorted_tables))
_SEQUENCES = "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'"


def fresh_database(backend: Backend, directory: Path) -> str:
    """A migrated, empty database: a copy of the SQLite template in ``directory``, or the
    worker's PostgreSQL database with every table emptied."""
    if backend.template is not None:
        target = directory / "backstep.db"
        shutil.copyfile(backend.template, target)
        return f"sqlite:///{target}"
    assert backend.url is not None
    engine = sa.create_engine(backend.url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.exec_driver_sql(_EMPTY_TABLES)
        sequences = connection.exec_driver_sql(_SEQUENCES).scalars().all()
        connection.exec_driver_sql("; ".join(f'ALTER SEQUENCE "{name}" RESTART' for name in sequences))
    engine.dispose()
    return backend.url


@pytest.fixture
def database_url(backend: Backend, tmp_path: Path) -> str:
    return fresh_database(backend, tmp_path)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    # The lifespan disposes it when a TestClient ran; tests using only the engine need this.
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    engine: Engine = app.state.engine
    return engine


def open_session(engine: Engine) -> Session:
    """A session for arranging and inspecting data; factories commit.

    Deferred BEGIN on SQLite, so a test that reads and then calls the API does not
    hold the write lock the request needs.
    """
    return Session(engine.execution_options(**DEFERRED_BEGIN), expire_on_commit=False)


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with open_session(engine) as db_session:
        yield db_session


@pytest.fixture
def now(app: FastAPI) -> datetime:
    moment: datetime = app.state.clock.now()
    return moment


from tests.wallclock import wall  # noqa: E402, F401  (the `wall` fixture: moves the real clock)
