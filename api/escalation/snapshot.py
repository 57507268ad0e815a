"""Load once: the patient snapshot a capture write is judged on, in the write's own statement.

Every capture write updates the patient row's bookkeeping (``programme_started_on``,
``last_log_on``, ``last_activity_at``; see ``api.activity``). ``write_and_load`` makes
that one ``UPDATE … RETURNING`` also return, through scalar subqueries, everything the
pain-log rules read: every pain log, the latest red-flag screening, the recorded
checkpoint outcomes, the plan and its latest decision (JSON-aggregated per kind, so one
round trip whatever the history); and what acting on a decision needs (``Reach``): the
clinic's country, the rules of the patient's unresolved alerts, the active clinicians of
the care team, their and the patient's devices, the patient's quiet hours. The statement
is built once per dialect at first use and executed with bound parameters afterwards.

The caller holds the patient row lock before this statement runs (the writing patient's
authentication takes it, ``api.deps.get_writing_patient``), so on PostgreSQL the
statement's snapshot already sees every write that committed before ours.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, case, func, literal_column, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import Session, col

from api.alerts.snapshot import profile_of, symptoms_of
from api.models import (
    Alert,
    AlertStatus,
    CareTeamMember,
    CheckpointResult,
    Clinic,
    Device,
    Instrument,
    PainLog,
    Patient,
    Plan,
    PlanDecision,
    ReminderPreference,
    Role,
    Screening,
    User,
)
from api.rules.pipeline import PatientSnapshot, PlanState, StoredCheckpoint
from api.rules.types import MedicationClass, PainDay, Symptom

_PLAN_FIELDS = (
    "id",
    "patient_id",
    "template_id",
    "level",
    "status",
    "sessions_per_week",
    "walking_minutes_target",
    "started_on",
    "level_started_on",
    "next_review_on",
    "flare_started_on",
    "reduced_until",
    "status_before_pause",
)
_PLAN_DATES = ("started_on", "level_started_on", "next_review_on", "flare_started_on", "reduced_until")


@dataclass(frozen=True, slots=True)
class LastDecision:
    action: str
    reasons: list[str]
    actor_type: str
    decided_at: datetime


@dataclass(frozen=True, slots=True)
class Reach:
    """Who and what acting on a decision reaches, loaded with the snapshot (read, not locked)."""

    country: str | None  # the patient's clinic's country (None without a clinic)
    unresolved_rules: frozenset[str]  # rules of the patient's unresolved alerts
    care_team: tuple[int, ...]  # active clinicians of the care team, by id
    devices: Mapping[int, tuple[int, ...]]  # live devices of the patient's account and of ``care_team``
    quiet_start: time | None  # the patient's quiet hours (None: no reminder preferences stored)
    quiet_end: time | None


@dataclass(frozen=True, slots=True)
class Loaded:
    """The rules' snapshot, plus what the response shows of the plan as loaded."""

    snapshot: PatientSnapshot
    plan: Plan | None  # detached, read-only: the plan as it stood (for the response)
    last_decision: LastDecision | None
    reach: Reach


def _json(dialect: str, value: ColumnElement[Any], *, is_json: bool = False) -> ColumnElement[Any]:
    return func.json(value) if dialect == "sqlite" and is_json else value


def _object(dialect: str, pairs: Iterable[tuple[str, Any, bool]]) -> ColumnElement[Any]:
    args: list[Any] = []
    for key, value, is_json in pairs:
        args += [literal_column(f"'{key}'"), _json(dialect, value, is_json=is_json)]
    return func.json_object(*args) if dialect == "sqlite" else func.json_build_object(*args)


def _array(dialect: str, element: Any) -> ColumnElement[Any]:
    return func.json_group_array(element) if dialect == "sqlite" else func.json_agg(element)


def _statement(dialect: str) -> Update:
    pid: BindParameter[int] = bindparam("patient_id")
    earliest: BindParameter[date] = bindparam("earliest")
    latest: BindParameter[date] = bindparam("latest")
    now: BindParameter[datetime] = bindparam("now")
    started, last = col(Patient.programme_started_on), col(Patient.last_log_on)
    logs = select(
        _array(
            dialect,
            _object(
                dialect,
                [
                    ("on", col(PainLog.log_date), False),
                    ("back", col(PainLog.back_pain), False),
                    ("leg", col(PainLog.leg_pain), False),
                    ("flare", col(PainLog.flare), False),
                    ("activity", col(PainLog.activity_minutes), False),
                    ("medications", col(PainLog.medications), True),
                    ("symptoms", col(PainLog.symptoms), True),
                ],
            ),
        )
    ).where(col(PainLog.patient_id) == pid)
    screening = (
        select(
            _object(
                dialect,
                [("answers", col(Screening.answers), True), ("result", col(Screening.result), True)],
            )
        )
        .where(col(Screening.patient_id) == pid, col(Screening.instrument) == Instrument.RED_FLAGS)
        .order_by(col(Screening.created_at).desc(), col(Screening.id).desc())
        .limit(1)
    )
    checkpoints = select(
        _array(
            dialect,
            _object(
                dialect,
                [
                    ("day", col(CheckpointResult.checkpoint_day), False),
                    ("baseline", col(CheckpointResult.baseline_mean), False),
                    ("current", col(CheckpointResult.current_mean), False),
                    ("classification", col(CheckpointResult.classification), False),
                    ("version", col(CheckpointResult.ruleset_version), False),
                ],
            ),
        )
    ).where(col(CheckpointResult.patient_id) == pid)
    plan = select(_object(dialect, [(name, getattr(Plan, name), False) for name in _PLAN_FIELDS])).where(
        col(Plan.patient_id) == pid
    )
    decision = (
        select(
            _object(
                dialect,
                [
                    ("action", col(PlanDecision.action), False),
                    ("reasons", col(PlanDecision.reasons), True),
                    ("actor", col(PlanDecision.actor_type), False),
                    ("at", col(PlanDecision.decided_at), False),
                ],
            )
        )
        .where(
            col(PlanDecision.patient_id) == pid,
            col(PlanDecision.plan_id) == select(col(Plan.id)).where(col(Plan.patient_id) == pid).scalar_subquery(),
        )
        .order_by(col(PlanDecision.decided_at).desc(), col(PlanDecision.id).desc())
        .limit(1)
    )
    country = select(col(Clinic.country)).where(col(Clinic.id) == bindparam("of_clinic"))
    unresolved = select(_array(dialect, col(Alert.rule))).where(
        col(Alert.patient_id) == pid, col(Alert.status) != AlertStatus.RESOLVED
    )
    team = (
        select(col(CareTeamMember.clinician_id))
        .join(User, col(User.id) == CareTeamMember.clinician_id)
        .where(col(CareTeamMember.patient_id) == pid, col(User.is_active).is_(True), col(User.role) == Role.CLINICIAN)
    )
    care_team = select(_array(dialect, col(CareTeamMember.clinician_id))).where(
        col(CareTeamMember.patient_id) == pid, col(CareTeamMember.clinician_id).in_(team)
    )
    devices = select(
        _array(dialect, _object(dialect, [("id", col(Device.id), False), ("user", col(Device.user_id), False)]))
    ).where(
        col(Device.retired_at).is_(None),
        or_(col(Device.user_id) == bindparam("account_id"), col(Device.user_id).in_(team)),
    )
    quiet = select(
        _object(
            dialect,
            [("start", col(ReminderPreference.quiet_start), False), ("end", col(ReminderPreference.quiet_end), False)],
        )
    ).where(col(ReminderPreference.patient_id) == pid)
    return (
        update(Patient)
        .where(col(Patient.id) == pid)
        .values(
            programme_started_on=case((or_(started.is_(None), started > earliest), earliest), else_=started),
            last_log_on=case((or_(last.is_(None), last < latest), latest), else_=last),
            last_activity_at=now,
        )
        .returning(
            started,
            last,
            col(Patient.last_activity_at),
            logs.scalar_subquery().label("logs"),
            screening.scalar_subquery().label("screening"),
            checkpoints.scalar_subquery().label("checkpoints"),
            plan.scalar_subquery().label("plan"),
            decision.scalar_subquery().label("decision"),
            country.scalar_subquery().label("country"),
            unresolved.scalar_subquery().label("unresolved"),
            care_team.scalar_subquery().label("care_team"),
            devices.scalar_subquery().label("devices"),
            quiet.scalar_subquery().label("quiet"),
        )
    )


_STATEMENTS: dict[str, Update] = {}


def _statement_for(session: Session) -> Update:
    dialect = session.get_bind().dialect.name
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        statement = _STATEMENTS[dialect] = _statement(dialect)
    return statement


def _decoded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _date(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _medications(values: Iterable[Any]) -> frozenset[MedicationClass]:
    found = set()
    for value in values:
        name = value.get("class") if isinstance(value, Mapping) else value
        try:
            found.add(MedicationClass(str(name)))
        except ValueError:
            continue
    return frozenset(found)


def _pain_day(row: Mapping[str, Any]) -> PainDay:
    on = _date(row["on"])
    assert on is not None
    return PainDay(
        on=on,
        back_pain=row["back"],
        leg_pain=row["leg"],
        flare=bool(row["flare"]),
        activity_minutes=row["activity"],
        medications=_medications(_decoded(row["medications"]) or ()),
        symptoms=symptoms_of(_decoded(row["symptoms"]) or ()),
    )


def _screened(answers: Any, result: Any) -> frozenset[Symptom]:
    """``api.alerts.snapshot.screening_symptoms`` over the loaded answers and result."""
    reported = [name for name, value in answers.items() if value is True] if isinstance(answers, Mapping) else []
    if not reported and isinstance(result, Mapping):
        reported = list(result.get("symptoms", []))
    return frozenset(s for s in Symptom if s.value in reported)


def _plan(row: Mapping[str, Any] | None) -> Plan | None:
    if row is None:
        return None
    values = {name: row[name] for name in _PLAN_FIELDS}
    for name in _PLAN_DATES:
        values[name] = _date(values[name])
    return Plan(**values)


def write_and_load(session: Session, patient: Patient, dates: Iterable[date], now: datetime) -> Loaded:
    """Widen the patient's logged range to ``dates``, record the activity, and load the snapshot."""
    logged = list(dates)
    assert patient.id is not None and logged
    row = (
        session.execute(
            _statement_for(session),
            {
                "patient_id": patient.id,
                "account_id": patient.user_id,
                "of_clinic": patient.clinic_id,
                "earliest": min(logged),
                "latest": max(logged),
                "now": now,
            },
            execution_options={"synchronize_session": False},
        )
        .mappings()
        .one()
    )
    # The patient object mirrors the row without being marked changed (no second UPDATE).
    set_committed_value(patient, "programme_started_on", row["programme_started_on"])
    set_committed_value(patient, "last_log_on", row["last_log_on"])
    set_committed_value(patient, "last_activity_at", row["last_activity_at"])
    days = sorted((_pain_day(r) for r in _decoded(row["logs"]) or ()), key=lambda d: d.on)
    screening = _decoded(row["screening"])
    known: frozenset[Symptom] = frozenset()
    if screening is not None:
        known = _screened(_decoded(screening["answers"]), _decoded(screening["result"]))
    plan = _plan(_decoded(row["plan"]))
    decision = _decoded(row["decision"])
    stored = {
        int(c["day"]): StoredCheckpoint(
            baseline_mean=c["baseline"],
            current_mean=c["current"],
            classification=c["classification"],
            ruleset_version=c["version"],
        )
        for c in _decoded(row["checkpoints"]) or ()
    }
    snapshot = PatientSnapshot(
        timezone=patient.timezone,
        profile=profile_of(patient),
        days=tuple(days),
        known_symptoms=known,
        plan=PlanState(str(plan.status), plan.flare_started_on, plan.reduced_until) if plan is not None else None,
        checkpoints=stored,
    )
    last = None
    if decision is not None:
        last = LastDecision(
            action=decision["action"],
            reasons=list(_decoded(decision["reasons"]) or []),
            actor_type=decision["actor"],
            decided_at=_instant(decision["at"]),
        )
    return Loaded(snapshot=snapshot, plan=plan, last_decision=last, reach=_reach(row))


def _time(value: Any) -> time | None:
    return time.fromisoformat(value) if isinstance(value, str) else value


def _reach(row: Mapping[Any, Any]) -> Reach:
    devices: dict[int, list[int]] = {}
    for found in sorted(_decoded(row["devices"]) or (), key=lambda d: int(d["id"])):
        devices.setdefault(int(found["user"]), []).append(int(found["id"]))
    care_team = tuple(sorted({int(i) for i in _decoded(row["care_team"]) or ()}))
    quiet = _decoded(row["quiet"])
    return Reach(
        country=row["country"],
        unresolved_rules=frozenset(str(r) for r in _decoded(row["unresolved"]) or ()),
        care_team=care_team,
        devices={user: tuple(ids) for user, ids in devices.items()},
        quiet_start=_time(quiet["start"]) if quiet is not None else None,
        quiet_end=_time(quiet["end"]) if quiet is not None else None,
    )
