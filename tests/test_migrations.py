"""The migrations are the only way the schema is made: prove they work both ways."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from api.migrations import alembic_config, downgrade, head_revision, upgrade
from tests.conftest import PG_URL, test_settings


@pytest.fixture(params=["sqlite", *(["postgresql"] if PG_URL else [])])
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, separate from the one the other tests use."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    assert PG_URL is not None
    name = f"backstep_migrations_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_check_downgrade_and_upgrade_again(scratch_url: str) -> None:
    settings = test_settings(scratch_url)
    upgrade(settings)
    assert {"app_user", "patient", "pain_log", "alert", "notification"} <= table_names(scratch_url)
    command.check(alembic_config(settings))  # models and migrations agree: nothing to autogenerate
    downgrade(settings)
    assert table_names(scratch_url) <= {"alembic_version"}
    upgrade(settings)
    command.check(alembic_config(settings))


def test_there_is_a_single_head(scratch_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(test_settings(scratch_url)))
    assert len(script.get_heads()) == 1
    assert head_revision(test_settings(scratch_url)) == script.get_current_head()


def test_every_revision_steps_up_and_down(scratch_url: str) -> None:
    """Each migration's downgrade undoes its upgrade, one step at a time."""
    settings = test_settings(scratch_url)
    config = alembic_config(settings)
    revisions = [r.revision for r in ScriptDirectory.from_config(config).walk_revisions()][::-1]
    for revision in revisions:
        command.upgrade(config, revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision)
    command.check(config)
