"""``alert.rule`` accepts the registry's codes, checked by the application (both databases).

There is no CHECK constraint on the column (a new rule needs no migration): the column type
refuses an unknown code before any statement runs, on the ORM and the Core insert paths alike.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.exc import StatementError
from sqlmodel import Session, func, select

from api.models import Alert
from api.rules.registry import ACCEPTED_CODES
from tests.factories import make_patient

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def _row(patient_id: int, rule: str, key: str) -> dict[str, object]:
    return {
        "patient_id": patient_id,
        "rule": rule,
        "tier": "routine",
        "status": "open",
        "occurrence_key": key,
        "evidence": {},
        "ruleset_version": "test",
        "opened_at": NOW,
        "notify_count": 0,
    }


def test_every_registry_code_is_stored_and_an_unknown_one_is_refused(session: Session, app: FastAPI) -> None:
    patient = make_patient(session, app)
    assert patient.id is not None
    table = Alert.__table__  # type: ignore[attr-defined]
    session.execute(sa.insert(table), [_row(patient.id, code, f"k:{code}") for code in sorted(ACCEPTED_CODES)])
    session.commit()
    stored = set(session.exec(select(Alert.rule).where(Alert.patient_id == patient.id)).all())
    assert stored == ACCEPTED_CODES

    with pytest.raises(StatementError, match="unknown alert rule code"):
        session.execute(sa.insert(table), [_row(patient.id, "not_a_rule", "k:core")])
    session.rollback()
    session.add(Alert(**_row(patient.id, "not_a_rule", "k:orm")))  # type: ignore[arg-type]
    with pytest.raises(StatementError, match="unknown alert rule code"):
        session.commit()
    session.rollback()
    count = session.exec(select(func.count()).select_from(Alert).where(Alert.patient_id == patient.id)).one()
    assert count == len(ACCEPTED_CODES)  # nothing written


def test_the_schema_has_no_check_on_the_rule_column(session: Session) -> None:
    checks = sa.inspect(session.get_bind()).get_check_constraints("alert")
    assert checks, "the other CHECKs of the table are still there"
    assert [c["name"] for c in checks if "rule" in str(c["name"])] == []
