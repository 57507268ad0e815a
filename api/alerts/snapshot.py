"""Loading what the escalation rules read, and recording checkpoint outcomes.

Loads select only the columns the rules use and build ``api.rules`` values directly
(no ORM objects), so a sweep batch of hundreds of patients is one query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import ColumnElement, and_, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from api.models import CheckpointResult, Instrument, PainLog, Patient, Screening
from api.rules.types import MedicationClass, PainDay, PatientProfile, Symptom
from api.rules.windows import CheckpointOutcome
from api.upsert import insert_for, insert_rows

_log = structlog.get_logger("api.alerts")
_PAIN_COLUMNS = [
    col(PainLog.patient_id),
    col(PainLog.log_date),
    col(PainLog.back_pain),
    col(PainLog.leg_pain),
    col(PainLog.flare),
    col(PainLog.activity_minutes),
    col(PainLog.medications),
    col(PainLog.symptoms),
]


def profile_of(patient: Patient) -> PatientProfile:
    return PatientProfile(
        birth_year=patient.birth_year,
        cancer_history=patient.cancer_history,
        osteoporosis_or_steroids=patient.osteoporosis_or_steroids,
    )


def symptoms_of(values: Iterable[Any]) -> frozenset[Symptom]:
    """Stored symptom names as rule values; an unknown name is logged, never guessed at."""
    found = set()
    for value in values:
        try:
            found.add(Symptom(value))
        except ValueError:
            _log.warning("unknown_symptom_ignored", symptom=str(value)[:40])
    return frozenset(found)


def _medications_of(values: Iterable[Any]) -> frozenset[MedicationClass]:
    found = set()
    for value in values:
        name = value.get("class") if isinstance(value, Mapping) else value
        try:
            found.add(MedicationClass(str(name)))
        except ValueError:
            _log.warning("unknown_medication_class_ignored")
    return frozenset(found)


def _pain_day(row: Any) -> PainDay:
    return PainDay(
        on=row.log_date,
        back_pain=row.back_pain,
        leg_pain=row.leg_pain,
        flare=row.flare,
        activity_minutes=row.activity_minutes,
        medications=_medications_of(row.medications or ()),
        symptoms=symptoms_of(row.symptoms or ()),
    )


def load_pain_days(session: Session, patient_id: int) -> list[PainDay]:
    """Every pain log of the patient, oldest first."""
    rows = session.execute(
        select_columns(*_PAIN_COLUMNS).where(col(PainLog.patient_id) == patient_id).order_by(col(PainLog.log_date))
    ).all()
    return [_pain_day(row) for row in rows]


def load_pain_days_for(
    session: Session, patient_ids: Iterable[int], *, only: ColumnElement[bool] | None = None
) -> dict[int, list[PainDay]]:
    """Pain logs of many patients, oldest first.

    With ``only`` (a condition joined to Patient) just the logs it selects, with back
    pain alone: enough for the window rules, and no JSON to decode.
    """
    ids = sorted(set(patient_ids))
    found: dict[int, list[PainDay]] = {pid: [] for pid in ids}
    if not ids:
        return found
    columns = _PAIN_COLUMNS if only is None else _PAIN_COLUMNS[:3]
    query = select_columns(*columns).where(col(PainLog.patient_id).in_(ids))
    if only is not None:
        query = query.join(Patient, col(Patient.id) == PainLog.patient_id).where(only)
    rows = session.execute(query.order_by(col(PainLog.patient_id), col(PainLog.log_date))).all()
    if only is not None:
        # PainDay is immutable: patients share one value per (date, back pain), so a sweep
        # batch builds a few hundred values instead of one per log row.
        shared: dict[tuple[Any, int], PainDay] = {}
        for pid, on, pain in rows:
            day = shared.get((on, pain))
            if day is None:
                day = shared[(on, pain)] = PainDay(on=on, back_pain=pain)
            found[pid].append(day)
    else:
        for row in rows:
            found[row.patient_id].append(_pain_day(row))
    return found


def screening_symptoms(screening: Screening) -> frozenset[Symptom]:
    """The symptoms a red-flag screening answered yes to."""
    answers = screening.answers if isinstance(screening.answers, Mapping) else {}
    reported = [name for name, value in answers.items() if value is True]
    if not reported and isinstance(screening.result, Mapping):
        reported = list(screening.result.get("symptoms", []))
    return frozenset(s for s in Symptom if s.value in reported)


def known_symptoms(session: Session, patient_id: int, *, exclude_screening_id: int | None = None) -> frozenset[Symptom]:
    """Symptoms already true in the patient's latest red-flag screening (the "known" qualifier)."""
    query = select(Screening).where(Screening.patient_id == patient_id, Screening.instrument == Instrument.RED_FLAGS)
    if exclude_screening_id is not None:
        query = query.where(Screening.id != exclude_screening_id)
    latest = session.exec(query.order_by(col(Screening.created_at).desc(), col(Screening.id).desc()).limit(1)).first()
    return screening_symptoms(latest) if latest is not None else frozenset()


def record_checkpoints(session: Session, outcomes: Sequence[tuple[int, CheckpointOutcome]], now: datetime) -> None:
    """Upsert checkpoint outcomes; rows whose result did not change are left as they are.

    A write's handful of rows runs the upsert built once per dialect; the sweep's batches
    go through ``insert_rows`` (one ``jsonb_to_recordset`` statement on PostgreSQL).
    """
    if not outcomes:
        return
    rows = {
        (pid, o.checkpoint_day): {
            "patient_id": pid,
            "checkpoint_day": o.checkpoint_day,
            "baseline_mean": o.baseline_mean,
            "current_mean": o.current_mean,
            "classification": str(o.classification),
            "ruleset_version": o.ruleset_version,
            "evaluated_at": now,
        }
        for pid, o in outcomes
    }
    values = list(rows.values())
    if len(values) <= _FEW_ROWS:
        session.execute(_checkpoint_upsert(session), values)
        return
    statement, parameters = insert_rows(session, _CHECKPOINT_TABLE, values)
    session.execute(_upsert_of(statement), parameters)


# A pain log records at most the four checkpoints (14/28/42/84); a sweep batch many more.
_FEW_ROWS = 4
_CHECKPOINT_TABLE: Any = CheckpointResult.__table__  # type: ignore[attr-defined]
_CHECKPOINT_UPSERTS: dict[str, Any] = {}


def _checkpoint_upsert(session: Session) -> Any:
    """The checkpoint upsert for a write's few rows, built once per dialect (building it cost more than running it)."""
    dialect = session.get_bind().dialect.name
    built = _CHECKPOINT_UPSERTS.get(dialect)
    if built is None:
        built = _CHECKPOINT_UPSERTS[dialect] = _upsert_of(insert_for(session, _CHECKPOINT_TABLE))
    return built


def _upsert_of(statement: Any) -> Any:
    """``statement`` (an insert into checkpoint_result) updating a stored row only where its result changed."""
    table = _CHECKPOINT_TABLE
    changed = or_(
        table.c.classification != statement.excluded.classification,
        table.c.ruleset_version != statement.excluded.ruleset_version,
        _differs(table.c.baseline_mean, statement.excluded.baseline_mean),
        _differs(table.c.current_mean, statement.excluded.current_mean),
    )
    return statement.on_conflict_do_update(
        index_elements=[table.c.patient_id, table.c.checkpoint_day],
        set_={
            "baseline_mean": statement.excluded.baseline_mean,
            "current_mean": statement.excluded.current_mean,
            "classification": statement.excluded.classification,
            "ruleset_version": statement.excluded.ruleset_version,
            "evaluated_at": statement.excluded.evaluated_at,
        },
        where=changed,
    )


def _differs(stored: Any, new: Any) -> ColumnElement[bool]:
    return or_(
        and_(stored.is_(None), new.is_not(None)),
        and_(stored.is_not(None), new.is_(None)),
        stored != new,
    )
