"""Small factories for escalation tests: pain logs and screenings written straight to the
tables (as the capture API stores them), evaluation and sweep runners, and readers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from api.alerts.sweep import sweep_escalations
from api.escalation.evaluation import EscalationOutcome, evaluate_pain_logs, evaluate_red_flag_screening
from api.models import (
    Alert,
    Instrument,
    Notification,
    PainLog,
    Patient,
    Plan,
    Screening,
)
from api.plans.assign import assign_plan_for_risk_group
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import MedicationClass, Symptom
from api.rules.version import RULESET_VERSION

# Programme day 1 in most tests: a Monday in winter (no DST change within 12 weeks).
DAY1 = date(2026, 1, 5)
ZONE = "Europe/London"


def day(n: int) -> date:
    """Local date of programme day ``n`` (1-based)."""
    return DAY1 + timedelta(days=n - 1)


def at_local(on: date, hour: int = 21, timezone: str = ZONE) -> datetime:
    return datetime.combine(on, time(hour), ZoneInfo(timezone))


def engine_of(app: FastAPI) -> Engine:
    engine: Engine = app.state.engine
    return engine


def put_log(
    session: Session,
    patient: Patient,
    on: date,
    back_pain: int = 4,
    *,
    symptoms: Iterable[Symptom] = (),
    medications: Iterable[MedicationClass] = (),
    flare: bool = False,
) -> PainLog:
    """Insert or replace the log for ``on`` and keep the patient's date range (flushed, not committed)."""
    assert patient.id is not None
    log = session.exec(select(PainLog).where(PainLog.patient_id == patient.id, PainLog.log_date == on)).first()
    moment = at_local(on, 20, patient.timezone)
    if log is None:
        log = PainLog(
            patient_id=patient.id,
            log_date=on,
            back_pain=back_pain,
            content_hash="",
            client_updated_at=moment,
            created_at=moment,
            updated_at=moment,
        )
    meds = sorted(str(m) for m in medications)
    log.back_pain = back_pain
    log.symptoms = sorted(str(s) for s in symptoms)
    log.medications = meds
    log.muscle_relaxant = MedicationClass.MUSCLE_RELAXANT in meds
    log.flare = flare
    log.content_hash = hashlib.sha256(f"{on}|{back_pain}|{log.symptoms}|{meds}|{flare}".encode()).hexdigest()
    session.add(log)
    patient.programme_started_on = min(on, patient.programme_started_on or on)
    patient.last_log_on = max(on, patient.last_log_on or on)
    session.add(patient)
    session.flush()
    return log


def put_logs(
    session: Session,
    patient: Patient,
    first: date,
    pains: Sequence[int | None],
    *,
    symptoms: Iterable[Symptom] = (),
    medications: Iterable[MedicationClass] = (),
) -> list[PainLog]:
    """One log per day from ``first`` (None leaves a day unlogged); committed."""
    logs = [
        put_log(session, patient, first + timedelta(days=i), pain, symptoms=symptoms, medications=medications)
        for i, pain in enumerate(pains)
        if pain is not None
    ]
    session.commit()
    return logs


def evaluate(
    session: Session,
    patient: Patient,
    logs: Sequence[PainLog],
    now: datetime,
    rules: RuleSettings = DEFAULT_RULES,
) -> EscalationOutcome:
    """Run the write-path evaluation for ``logs`` and commit, as a request would."""
    outcome = evaluate_pain_logs(session, patient, now, new_logs=logs, rules=rules)
    session.commit()
    return outcome


def report(
    session: Session, patient: Patient, on: date, *symptoms: Symptom, back_pain: int = 4, now: datetime | None = None
) -> EscalationOutcome:
    """Write one log reporting ``symptoms`` and evaluate it the same evening."""
    log = put_log(session, patient, on, back_pain, symptoms=symptoms)
    return evaluate(session, patient, [log], now or at_local(on))


def screen_red_flags(
    session: Session, patient: Patient, now: datetime, *symptoms: Symptom, store: bool = True
) -> EscalationOutcome:
    """Evaluate a red-flag screening and store it afterwards, as the capture API does."""
    outcome = evaluate_red_flag_screening(session, patient, now, symptoms=symptoms, rules=DEFAULT_RULES)
    assert patient.id is not None
    if store:
        session.add(
            Screening(
                patient_id=patient.id,
                instrument=Instrument.RED_FLAGS,
                answers={s.value: s in symptoms for s in Symptom},
                tier=outcome.tier,
                result={"symptoms": sorted(s.value for s in symptoms)},
                ruleset_version=RULESET_VERSION,
                created_at=now,
            )
        )
    session.commit()
    return outcome


def give_plan(session: Session, patient: Patient, now: datetime) -> Plan:
    assign_plan_for_risk_group(session, patient, "medium", now, rules=DEFAULT_RULES)
    session.commit()
    return session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()


def sweep(app: FastAPI, now: datetime, batch_size: int = 500) -> dict[str, int]:
    return sweep_escalations(engine_of(app), now, rules=DEFAULT_RULES, batch_size=batch_size)


def alerts_of(session: Session, patient: Patient, rule: str | None = None) -> list[Alert]:
    """The patient's alerts as committed, oldest first."""
    session.rollback()
    query = select(Alert).where(Alert.patient_id == patient.id).execution_options(populate_existing=True)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    rows = list(session.exec(query.order_by(col(Alert.id))).all())
    session.commit()
    return rows


def rules_raised(session: Session, patient: Patient) -> set[str]:
    return {a.rule for a in alerts_of(session, patient)}


def notifications(session: Session, *, user_id: int | None = None, kind: str | None = None) -> list[Notification]:
    session.rollback()
    query = select(Notification).execution_options(populate_existing=True)
    if user_id is not None:
        query = query.where(Notification.user_id == user_id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    rows = list(session.exec(query.order_by(col(Notification.id))).all())
    session.commit()
    return rows


def count(session: Session, model: type[object]) -> int:
    session.rollback()
    total = session.exec(select(func.count()).select_from(model)).one()
    session.commit()
    return int(total)


def fresh(session: Session, patient: Patient) -> Patient:
    """The patient row as committed."""
    session.rollback()
    row = session.exec(select(Patient).where(Patient.id == patient.id).execution_options(populate_existing=True)).one()
    session.commit()
    return row
