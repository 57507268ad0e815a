"""Migration reg01: the CHECK on ``alert.rule`` goes (the application checks the codes) and comes back on downgrade."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import Session, select

from api.auth.service import register_patient
from api.migrations import alembic_config, upgrade
from api.models import Patient
from tests.conftest import test_settings
from tests.test_migrations import scratch_url  # noqa: F401  (the fixture: an empty database of each backend)


def _rule_checks(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        checks = sa.inspect(engine).get_check_constraints("alert")
    finally:
        engine.dispose()
    return [str(c["name"]) for c in checks if "rule" in str(c["name"])]


def _insert_unknown_rule(url: str) -> bool:
    """Whether the database itself accepts an alert of an unknown rule (raw SQL, no application check)."""
    engine = sa.create_engine(url)
    try:
        with Session(engine) as session:
            patient_id = session.exec(select(Patient.id)).first()  # only the id: any revision has it
            if patient_id is None:
                _user, patient = register_patient(
                    session,
                    email="reg01@example.org",
                    password="a long enough passphrase",
                    display_name="X",
                    invite_code=None,
                    now=NOW,
                    settings=test_settings(url),
                )
                session.commit()
                patient_id = patient.id
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO alert (patient_id, rule, tier, status, occurrence_key, evidence, ruleset_version, "
                    "opened_at, notify_count) VALUES (:p, 'a_rule_added_later', 'routine', 'open', 'k', '{}', 't', "
                    ":now, 0)"
                ),
                {"p": patient_id, "now": NOW.replace(tzinfo=None)},
            )
            raise _Rollback
    except _Rollback:
        return True
    except sa.exc.IntegrityError as refused:
        if "rule" not in str(refused):  # refused for the rule, not for the arranged rows
            raise
        return False
    finally:
        engine.dispose()


NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


class _Rollback(Exception):
    pass


def test_reg01_drops_the_rule_check_and_its_downgrade_restores_it(scratch_url: str) -> None:  # noqa: F811
    settings = test_settings(scratch_url)
    config = alembic_config(settings)
    upgrade(settings)
    _insert_unknown_rule(scratch_url)  # arranges the patient while the schema is the models' own
    command.downgrade(config, "msg01")
    assert _rule_checks(scratch_url) == ["ck_alert_rule_valid"]
    assert not _insert_unknown_rule(scratch_url)
    upgrade(settings)
    assert _rule_checks(scratch_url) == []
    assert _insert_unknown_rule(scratch_url)  # the database accepts it: the application checks codes
    command.downgrade(config, "msg01")
    assert _rule_checks(scratch_url) == ["ck_alert_rule_valid"]
    assert not _insert_unknown_rule(scratch_url)
