"""Arranging clinician-side data quickly: pain logs, sessions, alerts and plans written
straight to the tables in the shape the capture, escalation and plans services store them
(with the patient's ``programme_started_on``/``last_log_on`` kept as capture keeps them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.models import Alert, AlertStatus, ExerciseSession, PainLog, Patient, Plan, PlanDecision, PlanStatus
from api.rules.settings import DEFAULT_RULES
from api.rules.types import RuleCode, Tier
from api.rules.version import RULESET_VERSION
from api.standing.service import refresh, save_alerts

# A Monday, midday UTC, in winter (London = UTC).
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLINICIAN_PATIENTS = "/api/v1/clinician/patients"


def set_clock(app: FastAPI, session: Session, at: datetime = NOW) -> None:
    session.rollback()
    app.state.clock.set(at, None, session)
    session.commit()


def local_today(patient: Patient, now: datetime = NOW) -> date:
    return now.astimezone(ZoneInfo(patient.timezone)).date()


def add_logs(
    session: Session,
    patient: Patient,
    pains: Mapping[date, int | None],
    *,
    leg: Mapping[date, int] | None = None,
    now: datetime = NOW,
) -> None:
    """One log per date with a value (None: no log that day); commits."""
    session.rollback()  # a stale read snapshot cannot be upgraded to a write on SQLite
    assert patient.id is not None
    written = [d for d, v in pains.items() if v is not None]
    for on in written:
        back = pains[on]
        assert back is not None
        session.add(
            PainLog(
                patient_id=patient.id,
                log_date=on,
                back_pain=back,
                leg_pain=(leg or {}).get(on),
                client_updated_at=now,
                content_hash=uuid.uuid4().hex,
                created_at=now,
                updated_at=now,
            )
        )
    if written:
        first, last = min(written), max(written)
        fresh = session.get(Patient, patient.id, populate_existing=True)
        assert fresh is not None
        if fresh.programme_started_on is None or fresh.programme_started_on > first:
            fresh.programme_started_on = first
        if fresh.last_log_on is None or fresh.last_log_on < last:
            fresh.last_log_on = last
        session.add(fresh)
        session.flush()
        refresh(session, [patient.id], now, DEFAULT_RULES)  # as the write path saves the standing
    session.commit()


def series(start: date, values: Iterable[int | None]) -> dict[date, int | None]:
    """Consecutive dates from ``start`` mapped to the values (None: no log)."""
    return {start + timedelta(days=i): v for i, v in enumerate(values)}


def add_alert(
    session: Session,
    patient: Patient,
    rule: RuleCode,
    tier: Tier,
    *,
    status: AlertStatus = AlertStatus.OPEN,
    now: datetime = NOW,
) -> Alert:
    session.rollback()  # a stale read snapshot cannot be upgraded to a write on SQLite
    assert patient.id is not None
    alert = Alert(
        patient_id=patient.id,
        rule=rule,
        tier=tier,
        status=status,
        occurrence_key=f"test-{uuid.uuid4().hex[:8]}",
        evidence={},
        ruleset_version=RULESET_VERSION,
        opened_at=now - timedelta(hours=1),
        resolved_at=now if status == AlertStatus.RESOLVED else None,
    )
    session.add(alert)
    session.flush()
    save_alerts(session, {patient.id})  # as the alert services save the standing
    session.commit()
    return alert


def add_plan(
    session: Session,
    patient: Patient,
    *,
    started_on: date,
    level: int = 1,
    status: PlanStatus = PlanStatus.ACTIVE,
    sessions_per_week: int = 3,
    template_id: str = "graded-exercise",
    now: datetime = NOW,
) -> Plan:
    session.rollback()  # a stale read snapshot cannot be upgraded to a write on SQLite
    assert patient.id is not None
    plan = Plan(
        patient_id=patient.id,
        template_id=template_id,
        level=level,
        status=status,
        sessions_per_week=sessions_per_week,
        started_on=started_on,
        level_started_on=started_on,
        next_review_on=started_on + timedelta(days=7),
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    session.commit()
    return plan


def add_decision(session: Session, plan: Plan, action: str, at: datetime) -> None:
    session.rollback()  # a stale read snapshot cannot be upgraded to a write on SQLite
    assert plan.id is not None
    session.add(
        PlanDecision(
            plan_id=plan.id,
            patient_id=plan.patient_id,
            action=action,
            template_id=plan.template_id,
            from_level=plan.level,
            to_level=plan.level,
            reasons=["test"],
            ruleset_version=RULESET_VERSION,
            actor_type="system",
            decided_at=at,
        )
    )
    session.commit()


def exercise_session(patient: Patient, on: date, *, hour: int = 18) -> ExerciseSession:
    """A completed 20-minute session on ``on`` at ``hour`` in the patient's zone (not yet added)."""
    assert patient.id is not None
    performed = datetime.combine(on, time(hour), ZoneInfo(patient.timezone))
    return ExerciseSession(
        id=uuid.uuid4(),
        patient_id=patient.id,
        performed_at=performed,
        performed_on=on,
        duration_minutes=20,
        exercises=[{"exercise_id": "cat-camel", "sets_done": 2, "reps_done": 10, "completed": True}],
        pain_during=3,
        body_hash=uuid.uuid4().hex,
        created_at=performed,
    )


def add_session(session: Session, patient: Patient, on: date, *, hour: int = 18) -> None:
    session.rollback()  # a stale read snapshot cannot be upgraded to a write on SQLite
    session.add(exercise_session(patient, on, hour=hour))
    session.commit()


def triage_ids(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    response = client.get(CLINICIAN_PATIENTS, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [row["patient_id"] for row in response.json()["items"]]


def all_rows(client: TestClient, headers: dict[str, str], limit: int) -> list[dict[str, Any]]:
    """Every triage row, page by page."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(CLINICIAN_PATIENTS, headers=headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        rows.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


class StatementCounter:
    """Counts the SQL statements an engine executes while active (``before_cursor_execute``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def queries(self) -> list[str]:
        """Statements other than transaction control and SQLite pragmas."""
        skipped = ("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")
        return [s for s in self.statements if not s.lstrip().upper().startswith(skipped)]


def plan_of(session: Session, patient: Patient) -> Plan | None:
    session.rollback()
    return session.exec(select(Plan).where(col(Plan.patient_id) == patient.id)).first()
