"""Erasing a patient's account and every row of personal data (``DELETE /me``).

Every foreign key to ``patient`` and ``app_user`` is ``ON DELETE CASCADE`` (or ``SET
NULL`` where the row belongs to someone else, e.g. a clinician's invite), so deleting
the patient and the user rows removes everything that hangs off them, on both
databases. The row counts are taken first from the same foreign keys, so a table added
later is counted (and, by the erasure test, checked) without touching this module.
The audit trail keeps plain ids only: its rows have no foreign keys and no names.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import structlog
from sqlmodel import Session, col, delete

from api.audit import record_audit
from api.auth.throttle import forget_account
from api.models import Patient, User, metadata

_log = structlog.get_logger("api.patients")


def personal_references() -> list[tuple[sa.Table, sa.Column[int], str]]:
    """Every (table, column, owner) where a row points at a patient or a user and goes with them."""
    found = []
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            owner = fk.column.table.name
            if owner in ("patient", "app_user") and fk.ondelete != "SET NULL":
                found.append((table, fk.parent, owner))
    return found


def erase_patient(session: Session, user: User, patient: Patient, now: datetime) -> dict[str, int]:
    """Delete the account and all personal data; returns the rows removed per table."""
    assert user.id is not None and patient.id is not None
    ids = {"patient": patient.id, "app_user": user.id}
    conditions: dict[sa.Table, list[sa.ColumnElement[bool]]] = {}
    for table, column, owner in personal_references():
        conditions.setdefault(table, []).append(column == ids[owner])
    counts: dict[str, int] = {}
    for table, where in conditions.items():
        n = session.execute(sa.select(sa.func.count()).select_from(table).where(sa.or_(*where))).scalar_one()
        if n:
            counts[table.name] = int(n)
    # The login throttle is keyed by (a hash of) the e-mail: personal data without a foreign key.
    forget_account(session, user.email)
    session.expunge(patient)
    session.expunge(user)
    session.execute(delete(Patient).where(col(Patient.id) == patient.id))
    session.execute(delete(User).where(col(User.id) == user.id))
    record_audit(
        session,
        at=now,
        action="erase",
        resource=f"user/{user.id}",
        actor=user,
        patient_id=patient.id,
        detail={"user_id": user.id, "patient_id": patient.id, "rows": counts},
    )
    session.flush()
    _log.info("patient_erased", user_id=user.id, patient_id=patient.id, rows=sum(counts.values()))
    return counts
