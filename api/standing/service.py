"""Save the patient's current state (``patient_state``), one row the triage list reads in order.

``api.rules.standing`` decides the values; this module only loads what they derive from and
saves them. Who calls what:

* a pain-log write (``api.pain_logs.evaluation``) saves the whole row from the snapshot it
  already loaded, in one statement (``save_written``);
* anything that opens an alert, raises its tier or resolves it saves the alert part
  (``save_alerts``, one statement; ``api.alerts.service`` and ``api.alerts.lifecycle``);
* a change of time zone clears the day part's validity (``invalidate``);
* the ``standings`` job recomputes, every ten minutes, the rows whose local date moved
  (``api.standing.job``: ``stale_rows``, then ``refresh``), and the triage list recomputes
  any row of its team it finds out of date before it reads (``stale_of_team``), so a job
  that has not run yet or a new patient never shows an old standing. Registration creates
  the row (``create``), out of date until first computed.

The alert part is counted in SQL where it is saved in one statement with the row and in
Python (``alert_standing``) where rows are recomputed in batches; a property test holds
the two equal on both databases (``tests/standing``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
import structlog
from sqlalchemy import ColumnElement, bindparam, case, func, select
from sqlalchemy.dialects import postgresql
from sqlmodel import Session

from api.clock import local_today
from api.models import Alert, AlertStatus, CareTeamMember, PainLog, Patient, PatientState, UTCDateTime
from api.rules.settings import RuleSettings
from api.rules.standing import (
    ALERT_TIERS,
    NO_ALERT_RANK,
    NOT_IMPROVING_RULES,
    AlertStanding,
    DayStanding,
    alert_standing,
    day_standing,
    day_standing_of_windows,
    local_day_bounds,
    window_span,
)
from api.rules.types import PainDay
from api.sqldates import add_days
from api.upsert import insert_on, insert_rows

_log = structlog.get_logger("api.standing")

TABLE: Any = PatientState.__table__  # type: ignore[attr-defined]
_ALERT: Any = Alert.__table__  # type: ignore[attr-defined]
COUNT_COLUMNS = tuple(f"open_{tier.value}" for tier in ALERT_TIERS)
ALERT_COLUMNS = ("tier_rank", *COUNT_COLUMNS, "not_improving")
DAY_COLUMNS = (
    "as_of",
    "valid_from",
    "valid_until",
    "classification",
    "class_rank",
    "baseline_mean",
    "current_mean",
    "change",
    "silence_key",
)


def alert_columns(patient_id: ColumnElement[Any]) -> dict[str, ColumnElement[Any]]:
    """The alert part counted in SQL for ``patient_id``: ``alert_standing`` over the unresolved alerts."""
    unresolved = sa.and_(_ALERT.c.patient_id == patient_id, _ALERT.c.status != AlertStatus.RESOLVED.value)
    ranks = case(*((_ALERT.c.tier == tier.value, i) for i, tier in enumerate(ALERT_TIERS)), else_=NO_ALERT_RANK)
    bits = case(*((_ALERT.c.rule == code, 1 << i) for i, code in enumerate(NOT_IMPROVING_RULES)), else_=0)
    values: dict[str, ColumnElement[Any]] = {
        "tier_rank": select(func.coalesce(func.min(ranks), NO_ALERT_RANK)).where(unresolved).scalar_subquery(),
        "not_improving": select(func.coalesce(func.sum(bits), 0)).where(unresolved).scalar_subquery(),
    }
    for name, tier in zip(COUNT_COLUMNS, ALERT_TIERS, strict=True):
        values[name] = select(func.count()).where(unresolved, _ALERT.c.tier == tier.value).scalar_subquery()
    return values


def _day_params() -> dict[str, Any]:
    types: dict[str, Any] = {"as_of": sa.Date(), "valid_from": UTCDateTime(), "valid_until": UTCDateTime()}
    return {name: bindparam(name, type_=types.get(name, TABLE.c[name].type)) for name in DAY_COLUMNS}


def _save_statement(dialect: str) -> Any:
    pid = bindparam("patient_id", type_=sa.Integer())
    statement = insert_on(dialect, TABLE).values(patient_id=pid, **_day_params(), **alert_columns(pid))
    return statement.on_conflict_do_update(
        index_elements=[TABLE.c.patient_id],
        set_={name: statement.excluded[name] for name in (*DAY_COLUMNS, *ALERT_COLUMNS)},
    )


def _alerts_statement() -> Any:
    return (
        sa.update(TABLE)
        .where(TABLE.c.patient_id.in_(bindparam("patient_ids", expanding=True)))
        .values(**alert_columns(TABLE.c.patient_id))
    )


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, kind: str) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _STATEMENTS.get((kind, dialect))
    if statement is None:
        statement = _save_statement(dialect) if kind == "save" else _alerts_statement()
        _STATEMENTS[(kind, dialect)] = statement
    return statement


def known_zone(timezone: str) -> str:
    """The patient's zone, or UTC for one the zone database does not know (validated on the
    way in; logged, and never a reason to leave a patient off the list or fail it)."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _log.error("unknown_timezone", timezone=timezone)
        return "UTC"
    return timezone


@lru_cache(maxsize=1024)
def _bounds(timezone: str, as_of: date, now: datetime) -> tuple[datetime, datetime]:
    return local_day_bounds(timezone, as_of, now)


def _day_values(timezone: str, day: DayStanding, now: datetime) -> dict[str, Any]:
    valid_from, valid_until = _bounds(timezone, day.as_of, now)
    return {
        "as_of": day.as_of,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "classification": day.classification.value,
        "class_rank": day.class_rank,
        "baseline_mean": day.baseline_mean,
        "current_mean": day.current_mean,
        "change": day.change,
        "silence_key": day.silence_key,
    }


def save_written(
    session: Session, patient: Patient, days: Iterable[PainDay], now: datetime, rules: RuleSettings
) -> None:
    """The whole row after pain logs were written: the day part from the logs the write path
    loaded (``days``: every log of the patient), the alert part as stored now. One statement."""
    assert patient.id is not None
    today = local_today(patient.timezone, now)
    day = day_standing(days, today, patient.last_log_on, patient.created_at.date(), rules)
    session.execute(_statement(session, "save"), {"patient_id": patient.id, **_day_values(patient.timezone, day, now)})


def save_alerts(session: Session, patient_ids: Collection[int]) -> None:
    """The alert part of these patients' rows, after their alerts changed (one statement).

    A patient without a row gets none here: the row is computed whole where it is read.
    """
    if patient_ids:
        session.flush()  # alert changes made through the ORM (a tier raised) are counted
        session.execute(
            _statement(session, "alerts"),
            {"patient_ids": sorted(patient_ids)},
            execution_options={"synchronize_session": False},
        )


def invalidate(session: Session, patient_ids: Collection[int]) -> None:
    """Mark the day part out of date (a new time zone): it is recomputed before it is read."""
    if patient_ids:
        session.execute(
            sa.update(TABLE).where(TABLE.c.patient_id.in_(sorted(patient_ids))).values(valid_until=None),
            execution_options={"synchronize_session": False},
        )


def create(session: Session, patient_id: int) -> None:
    """A new patient's row, out of date until first computed (registration; the migration
    gave every earlier patient one). The triage list reads only patients with a row."""
    session.add(PatientState(patient_id=patient_id))


def _out_of_date(now: datetime) -> ColumnElement[bool]:
    # Each condition has its index, so the rows found are the out-of-date ones, not the team.
    return sa.or_(TABLE.c.valid_until.is_(None), TABLE.c.valid_until <= now, TABLE.c.valid_from > now)


def stale_of_team(session: Session, clinician_id: int, now: datetime) -> list[int]:
    """The care team's patients whose row is not valid at ``now`` (cost: those rows, not the team)."""
    care: Any = CareTeamMember.__table__  # type: ignore[attr-defined]
    query = (
        select(TABLE.c.patient_id)
        .select_from(TABLE.join(care, care.c.patient_id == TABLE.c.patient_id))
        .where(care.c.clinician_id == clinician_id, _out_of_date(now))
    )
    return list(session.scalars(query).all())


def stale_rows(session: Session, now: datetime) -> list[int]:
    """Every patient whose row is missing or not valid at ``now``, by id (the ``standings``
    job: a row that went missing is made here)."""
    patient: Any = Patient.__table__  # type: ignore[attr-defined]
    query = (
        select(patient.c.id)
        .select_from(patient.outerjoin(TABLE, TABLE.c.patient_id == patient.c.id))
        .where(sa.or_(TABLE.c.patient_id.is_(None), _out_of_date(now)))
        .order_by(patient.c.id)
    )
    return list(session.scalars(query).all())


def _among(session: Session, column: Any, ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as ``= ANY(:ids)``, one array parameter, so a batch of
    a thousand ids is not a statement of a thousand parameters for psycopg to parse again."""
    if session.get_bind().dialect.name == "postgresql":
        array = postgresql.ARRAY(sa.Integer())
        among: ColumnElement[bool] = column == sa.any_(sa.cast(sa.literal(list(ids), array), array))
        return among
    listed: ColumnElement[bool] = column.in_(ids)
    return listed


def refresh(session: Session, patient_ids: Sequence[int], now: datetime, rules: RuleSettings) -> None:
    """Recompute these patients' rows whole, in four statements whatever their number (five
    around a midnight, when the patients' local dates differ).

    Callers hold no patient row lock yet (a request or a sweep batch of their own).
    """
    if not patient_ids:
        return
    ids = sorted(set(patient_ids))
    patient: Any = Patient.__table__  # type: ignore[attr-defined]
    log: Any = PainLog.__table__  # type: ignore[attr-defined]
    # The patient rows are locked (in id order) as every writer locks them, so no write of a
    # log or an alert of theirs commits between what is loaded here and what is saved.
    patients = session.execute(
        select(
            patient.c.id,
            patient.c.timezone,
            patient.c.created_at,
            patient.c.last_log_on,
            patient.c.programme_started_on,
        )
        .where(_among(session, patient.c.id, ids))
        .order_by(patient.c.id)
        .with_for_update(key_share=True)
    ).all()
    if not patients:
        return
    zones = {timezone: local_today(known_zone(timezone), now) for timezone in {p.timezone for p in patients}}
    by_today: dict[date, list[int]] = defaultdict(list)
    for p in patients:
        by_today[zones[p.timezone]].append(p.id)
    # Each window's (sum, logged days), added up where the logs are: one grouped query per
    # distinct local today (one, two at most around midnight), whatever the number of patients.
    span = window_span(rules).days
    sums: dict[int, tuple[tuple[int, int], tuple[int, int]]] = {}
    for today, group in by_today.items():
        base_end = add_days(patient.c.programme_started_on, span)
        in_base = sa.and_(log.c.log_date >= patient.c.programme_started_on, log.c.log_date <= base_end)
        in_current = log.c.log_date >= today - timedelta(days=span)
        for pid, base_total, base_n, current_total, current_n in session.execute(
            select(
                log.c.patient_id,
                func.coalesce(func.sum(log.c.back_pain).filter(in_base), 0),
                func.count().filter(in_base),
                func.coalesce(func.sum(log.c.back_pain).filter(in_current), 0),
                func.count().filter(in_current),
            )
            .join(patient, patient.c.id == log.c.patient_id)
            .where(
                _among(session, log.c.patient_id, group),
                log.c.log_date <= today,
                sa.or_(in_current, log.c.log_date <= base_end),
            )
            .group_by(log.c.patient_id)
        ):
            sums[pid] = ((int(base_total), int(base_n)), (int(current_total), int(current_n)))
    unresolved: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pid, tier, rule in session.execute(
        select(_ALERT.c.patient_id, _ALERT.c.tier, _ALERT.c.rule).where(
            _among(session, _ALERT.c.patient_id, ids), _ALERT.c.status != AlertStatus.RESOLVED.value
        )
    ):
        unresolved[pid].append((tier, rule))
    rows = []
    for pid, timezone, created_at, last_log_on, started in patients:
        today = zones[timezone]
        baseline, current = sums.get(pid, ((0, 0), (0, 0)))
        start = started if started is not None and started <= today else None  # the first log up to today
        day = day_standing_of_windows(start, today, baseline, current, last_log_on, created_at.date(), rules)
        rows.append(
            {
                "patient_id": pid,
                **_day_values(known_zone(timezone), day, now),
                **_alert_values(alert_standing(unresolved[pid])),
            }
        )
    statement, parameters = insert_rows(session, TABLE, rows)
    statement = statement.on_conflict_do_update(
        index_elements=[TABLE.c.patient_id],
        set_={name: statement.excluded[name] for name in (*DAY_COLUMNS, *ALERT_COLUMNS)},
    )
    session.execute(statement, parameters)


def _alert_values(standing: AlertStanding) -> dict[str, int]:
    return {
        "tier_rank": standing.tier_rank,
        **dict(zip(COUNT_COLUMNS, standing.counts, strict=True)),
        "not_improving": standing.not_improving,
    }
