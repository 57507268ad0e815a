"""Which patients of one time zone the daily sweep must look at, chosen in SQL.

Every condition is a date comparison against constants of the zone's local day (so
the indexes on ``(timezone, last_log_on)``, ``(timezone, programme_started_on)``,
``plan.flare_started_on`` and the checkpoint results' primary key serve it), plus an
anti-join that drops patients whose alert or nudge for the current episode already
exists. Only the candidates reach Python; a quiet day costs a few index probes.

Every condition is a conservative pre-filter of a pure rule: it may select a patient the
rule then leaves alone, never miss one the rule would open an alert (or nudge) for.
``tests/alerts/test_candidates_property.py`` proves it over generated histories on both
databases: exactly for checkpoints, silence and flares (occurrence-key strings included),
as a superset for the log rules. Two conditions lean on the write path, which evaluates
every rule on every log: checkpoints are selected once reached by yesterday (a log
written today on its day recorded it already), and a worsening week only when its last
days went unlogged (a log on or after its last day judged it).

Each candidate carries what it needs: ``windows`` (a checkpoint reached and not yet
recorded: baseline and checkpoint windows are loaded), ``logs`` (worsening week just
completed, medication review or persistent numbness: the full history is loaded),
``silence`` and ``flare`` (the patient and plan rows suffice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum, auto
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import ColumnElement, and_, exists, false, or_
from sqlmodel import Session, col, select

from api.models import Alert, AlertStatus, CheckpointResult, Notification, PainLog, Patient, Plan
from api.models.clinical import MUSCLE_RELAXANT_SQL, NUMBNESS_SQL
from api.rules.settings import RuleSettings
from api.rules.types import RuleCode
from api.rules.windows import checkpoint_days
from api.sqldates import add_days, date_text, days_between

# Catch-up limit for week ends missed while no sweep ran (older ones wait for the next log).
MAX_CATCH_UP_DAYS = 28


class Need(StrEnum):
    WINDOWS = auto()
    LOGS = auto()
    SILENCE = auto()
    FLARE = auto()


@dataclass(frozen=True, slots=True)
class ZoneDay:
    """One zone's sweep: its local today and the local date it was last swept (None: never)."""

    timezone: str
    today: date
    previous: date | None

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    def start_of(self, day: date) -> datetime:
        """The instant the local ``day`` begins (first valid instant after a DST gap)."""
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(self.timezone))

    def completed_days(self) -> list[date]:
        """Days completed since the last sweep (yesterday alone on a zone's first sweep)."""
        first = self.yesterday
        if self.previous is not None and self.previous < self.today:
            first = max(self.previous, self.today - timedelta(days=MAX_CATCH_UP_DAYS))
        return [first + timedelta(days=i) for i in range((self.yesterday - first).days + 1)]


def nudge_key(patient_id: int, last_log_on: date | None) -> str:
    """Occurrence key of the silence nudge: one per patient and silence episode."""
    return f"nudge:silence:{patient_id}:after:{last_log_on.isoformat() if last_log_on else 'enrolment'}"


def _alert_exists(rule: RuleCode, *, key: Any = None, unresolved: bool = False) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [col(Alert.patient_id) == Patient.id, col(Alert.rule) == rule]
    if key is not None:
        conditions.append(col(Alert.occurrence_key) == key)
    if unresolved:
        conditions.append(col(Alert.status) != AlertStatus.RESOLVED)
    return exists().where(*conditions)


def _checkpoints(zone: ZoneDay, rules: RuleSettings) -> ColumnElement[bool]:
    started = col(Patient.programme_started_on)
    due = [
        and_(
            started <= zone.yesterday - timedelta(days=day_n - 1),
            ~exists().where(
                col(CheckpointResult.patient_id) == Patient.id, col(CheckpointResult.checkpoint_day) == day_n
            ),
        )
        for day_n in checkpoint_days(rules)
    ]
    return or_(*due)


def _worsening(zone: ZoneDay, rules: RuleSettings) -> ColumnElement[bool]:
    """A programme week ended on a completed day, the patient logged enough of it, not its last day.

    A log on the week's last day (or later) already evaluated the week when it was written.
    """
    week = rules.window_days
    first_possible = week * (1 + rules.worsening_consecutive_windows) - 1
    started = col(Patient.programme_started_on)
    ends = []
    for end in zone.completed_days():
        since_start = days_between(sa.literal(end, sa.Date), started)
        ends.append(
            and_(
                started <= end - timedelta(days=first_possible),
                since_start % week == week - 1,
                col(Patient.last_log_on).between(end - timedelta(days=week - rules.min_valid_days), end - timedelta(1)),
            )
        )
    return or_(*ends) if ends else false()


def _silence(zone: ZoneDay, rules: RuleSettings) -> ColumnElement[bool]:
    last = col(Patient.last_log_on)
    nudge_days, alert_days = rules.silence_nudge_days, rules.silence_alert_days
    prefix = sa.literal("nudge:silence:") + sa.cast(Patient.id, sa.String) + sa.literal(":after:")
    nudged = exists().where(col(Notification.occurrence_key) == prefix + date_text(last))
    never_nudged = exists().where(col(Notification.occurrence_key) == prefix + sa.literal("enrolment"))
    alerted = _alert_exists(RuleCode.SILENT, key=sa.literal("silent-from:") + date_text(add_days(last, 1)))
    any_silent = _alert_exists(RuleCode.SILENT)
    open_silent = _alert_exists(RuleCode.SILENT, unresolved=True)
    created = col(Patient.created_at)
    return or_(
        and_(last <= zone.today - timedelta(days=nudge_days), ~nudged),
        and_(last <= zone.today - timedelta(days=alert_days), ~alerted, ~open_silent),
        and_(
            last.is_(None),
            or_(
                and_(created < zone.start_of(zone.today - timedelta(days=nudge_days - 1)), ~never_nudged),
                and_(created < zone.start_of(zone.today - timedelta(days=alert_days - 1)), ~any_silent),
            ),
        ),
    )


def _latest_log(*conditions: Any) -> ColumnElement[bool]:
    return exists().where(
        col(PainLog.patient_id) == Patient.id, col(PainLog.log_date) == Patient.last_log_on, *conditions
    )


def _count_logs(*conditions: Any) -> Any:
    return (
        select(sa.func.count())
        .select_from(PainLog)
        .where(col(PainLog.patient_id) == Patient.id, *conditions)
        .scalar_subquery()
    )


def _log_rules(zone: ZoneDay, rules: RuleSettings) -> ColumnElement[bool]:
    """Medication review and persistent numbness: no alert of the rule is open and the logs could fire it.

    Necessary conditions of the pure rules, never sufficient ones: more relaxant days since
    the earliest day a 28-day window ending yesterday or today can start than the rule
    allows; a latest log with numbness and at least as many numbness logs as the run needs.
    The predicates are the literal SQL of the partial indexes on ``pain_log`` so both
    databases use those small indexes instead of scanning every log.
    """
    relaxant, numb = sa.text(MUSCLE_RELAXANT_SQL), sa.text(NUMBNESS_SQL)
    window_start = zone.yesterday - timedelta(days=rules.muscle_relaxant_lookback_days - 1)
    medication = and_(
        ~_alert_exists(RuleCode.MEDICATION_REVIEW, unresolved=True),
        _count_logs(relaxant, col(PainLog.log_date) >= window_start) > rules.muscle_relaxant_max_days,
    )
    numbness = and_(
        _latest_log(numb),
        ~_alert_exists(RuleCode.PERSISTENT_NUMBNESS, unresolved=True),
        _count_logs(numb) >= rules.persistent_numbness_days,
    )
    return or_(medication, numbness)


def _flare(zone: ZoneDay, rules: RuleSettings) -> ColumnElement[bool]:
    started = col(Plan.flare_started_on)
    key = sa.literal("flare-from:") + date_text(started)
    return and_(
        started <= zone.today - timedelta(days=rules.prolonged_flare_days),
        ~_alert_exists(RuleCode.PROLONGED_FLARE, key=key),
        ~_alert_exists(RuleCode.PROLONGED_FLARE, unresolved=True),
    )


def no_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT off for this transaction.

    The correlated sub-queries above have large cost estimates, so JIT would spend
    about a second compiling queries that run in milliseconds.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL jit = off"))


def not_swept(zone: ZoneDay) -> ColumnElement[bool]:
    swept = col(Patient.swept_on)
    return or_(swept.is_(None), swept != zone.today)


def find_candidates(session: Session, zone: ZoneDay, rules: RuleSettings) -> dict[int, set[Need]]:
    """Patient ids of the zone to sweep today, with what each one needs evaluated."""
    no_jit(session)
    in_zone = and_(col(Patient.timezone) == zone.timezone, not_swept(zone))
    queries: Sequence[tuple[Need, Any]] = (
        (Need.WINDOWS, select(Patient.id).where(in_zone, _checkpoints(zone, rules))),
        (Need.LOGS, select(Patient.id).where(in_zone, or_(_worsening(zone, rules), _log_rules(zone, rules)))),
        (Need.SILENCE, select(Patient.id).where(in_zone, _silence(zone, rules))),
        (
            Need.FLARE,
            select(Patient.id).join(Plan, col(Plan.patient_id) == Patient.id).where(in_zone, _flare(zone, rules)),
        ),
    )
    found: dict[int, set[Need]] = {}
    for need, query in queries:
        for patient_id in session.exec(query).all():
            if patient_id is not None:
                found.setdefault(patient_id, set()).add(need)
    return found


def checkpoint_windows(rules: RuleSettings) -> ColumnElement[bool]:
    """Pain logs inside the baseline or a checkpoint window (relative to each patient's day 1)."""
    started, on = col(Patient.programme_started_on), col(PainLog.log_date)
    week = rules.window_days
    windows = [on <= add_days(started, week - 1)]
    windows += [on.between(add_days(started, n - week), add_days(started, n - 1)) for n in checkpoint_days(rules)]
    return or_(*windows)
