"""Migration state01: every existing patient gets a triage-list row, out of date (computed when first listed)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session

from api.auth.service import register_patient
from api.migrations import alembic_config, upgrade
from tests.conftest import test_settings
from tests.test_migrations import scratch_url  # noqa: F401  (the fixture: an empty database of each backend)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _rows(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        query = "SELECT patient_id, tier_rank, classification, valid_until FROM patient_state ORDER BY 1"
        return [tuple(r) for r in connection.execute(sa.text(query)).all()]


def test_existing_patients_get_an_out_of_date_row(scratch_url: str) -> None:  # noqa: F811
    settings = test_settings(scratch_url)
    upgrade(settings)
    engine = sa.create_engine(scratch_url)
    try:
        with Session(engine) as session:
            ids = []
            for n in (1, 2):
                _user, patient = register_patient(
                    session,
                    email=f"state01-{n}@example.org",
                    password="a long enough passphrase",
                    display_name="X",
                    invite_code=None,
                    now=NOW,
                    settings=settings,
                )
                ids.append(patient.id)
            session.commit()
        assert _rows(engine) == [(i, 4, "insufficient_data", None) for i in ids]  # registration made them
        command.downgrade(alembic_config(settings), "l10n01")
        assert "patient_state" not in sa.inspect(engine).get_table_names()
        upgrade(settings)
        assert _rows(engine) == [(i, 4, "insufficient_data", None) for i in ids]  # the migration made them
    finally:
        engine.dispose()
