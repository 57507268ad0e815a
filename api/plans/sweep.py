"""The plans' part of the daily sweep: due weekly reviews and prolonged flares.

Only plans that are due are touched: active or reduced plans whose ``next_review_on``
is on or before the latest local date anywhere, found through the
(status, next_review_on) index, then filtered by each patient's own local date.
Batches of ``batch_size`` plans, one transaction each, in the shape of every scheduled
job (``api.batches.run_batches``): on PostgreSQL the batch's plans are claimed with FOR
UPDATE SKIP LOCKED, so several sweep processes share the work and never review a plan
twice (UNIQUE(plan_id, review_on) is the backstop), and a batch that fails is redone
plan by plan.
A sweep that did not run for a while catches up: one review per missed week, in
order, each judged on its own week's data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import Engine
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, func, select

from api.alerts.service import raise_alert
from api.batches import run_batches
from api.clock import local_today
from api.config import Settings
from api.db import session_scope
from api.i18n import DEFAULT_LOCALE
from api.i18n.patients import user_locales
from api.models import Alert, AlertStatus, ExerciseSession, PainLog, Patient, Plan, PlanDecision, PlanStatus
from api.notifications.service import enqueue_notifications
from api.plans.notify import draft_for
from api.plans.review import LoggedSession, PlanWeekData, decide_review, insert_decisions
from api.plans.service import REVIEW_INTERVAL
from api.reminders.service import reschedule_patient
from api.rules.monitoring import prolonged_flare
from api.rules.settings import RuleSettings
from api.rules.types import Difficulty, PainDay, PlanAction, SessionRecord, Tier

_log = structlog.get_logger("api.plans.sweep")

REVIEWED_STATUSES = (PlanStatus.ACTIVE, PlanStatus.REDUCED)
# Emergency and urgent alerts (same day or within days) block progression until resolved.
BLOCKING_TIERS = (Tier.EMERGENCY, Tier.URGENT_SAME_DAY, Tier.URGENT_DAYS)
# UTC+14 (Line Islands) is the furthest ahead any patient's calendar can be.
_MAX_UTC_OFFSET = timedelta(hours=14)


def latest_local_date(now: datetime) -> date:
    """The latest calendar date any time zone has reached at ``now``."""
    return (now.astimezone(UTC) + _MAX_UTC_OFFSET).date()


def review_dates(next_review_on: date, today: date) -> list[date]:
    """Every review date due by ``today``: one per missed week, oldest first."""
    dates = []
    due = next_review_on
    while due <= today:
        dates.append(due)
        due += REVIEW_INTERVAL
    return dates


def run_plan_sweep(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """The sweep job's plans step, with the configured rules and batch size."""
    return sweep_plans(engine, now, batch_size=settings.sweep_batch_size, rules=settings.rules)


def sweep_plans(engine: Engine, now: datetime, *, batch_size: int, rules: RuleSettings) -> dict[str, int]:
    """Run every due weekly review and the prolonged-flare check; counts for the job log."""
    horizon = latest_local_date(now)
    totals = run_batches(engine, _ReviewWork(now, horizon, rules), batch_size)
    prolonged = _prolonged_flares(engine, now, horizon, batch_size, rules)
    return {
        "plan_reviews": totals["reviews"],
        "plan_review_errors": totals["errors"] + totals["failed"],
        "prolonged_flares": prolonged,
    }


@dataclass(slots=True)
class _ReviewWork:
    """Plans due a weekly review by the latest local date anywhere, in id order.

    The claim walks forward by id (``after_id``): a plan claimed but not yet due in its
    own zone is left as it was, and must not be claimed again in this run.
    """

    now: datetime
    horizon: date
    rules: RuleSettings
    after_id: int = 0
    name: str = "plan_reviews"

    def claim(self, session: Session, limit: int) -> list[tuple[Plan, str, int]]:
        rows = _claim_due(session, self.horizon, self.after_id, limit)
        if rows:
            self.after_id = rows[-1][0].id or self.after_id
        return rows

    def key(self, item: tuple[Plan, str, int]) -> int | None:
        return item[0].id

    def process(self, session: Session, batch: Sequence[tuple[Plan, str, int]]) -> Counter[str]:
        counts: Counter[str] = Counter()
        _review_batch(session, batch, self.now, self.rules, counts)
        return counts

    def give_up(self, session: Session, item: tuple[Plan, str, int]) -> None:
        """Left due: the next sweep reviews it again."""


@dataclass(frozen=True, slots=True)
class _Due:
    plan: Plan
    timezone: str
    user_id: int
    dates: list[date]


def _claim_due(session: Session, horizon: date, after_id: int, limit: int) -> list[tuple[Plan, str, int]]:
    query = (
        select(Plan, Patient.timezone, Patient.user_id)
        .join(Patient, col(Patient.id) == col(Plan.patient_id))
        .where(
            col(Plan.status).in_(REVIEWED_STATUSES),
            col(Plan.next_review_on) <= horizon,
            col(Plan.id) > after_id,
        )
        .order_by(col(Plan.id))
        .limit(limit)
        .with_for_update(skip_locked=True, of=Plan)
        .execution_options(populate_existing=True)
    )
    return [(plan, timezone, user_id) for plan, timezone, user_id in session.exec(query).all()]


def _review_batch(
    session: Session, rows: Sequence[tuple[Plan, str, int]], now: datetime, rules: RuleSettings, totals: Counter[str]
) -> None:
    due = []
    for plan, timezone, user_id in rows:
        dates = review_dates(plan.next_review_on, local_today(timezone, now))
        if dates:  # not yet due in a zone behind the horizon
            due.append(_Due(plan, timezone, user_id, dates))
    if not due:
        return
    first = min(d.dates[0] for d in due)
    last = max(d.dates[-1] for d in due)
    data = _load(session, [(d.plan, d.timezone) for d in due], first, last, rules)
    sessions_before = {d.plan.id: d.plan.sessions_per_week for d in due}
    try:
        # Fast path: decide the whole batch in memory, insert its decisions in one
        # statement and flush the plans together.
        with session.begin_nested():
            decided = [row for item in due for row in _decide(item, data, now, rules)]
            ids = insert_decisions(session, decided)
            if len(ids) != len(decided):
                raise _AlreadyDecided
    except Exception as exc:
        if not isinstance(exc, _AlreadyDecided):
            _log.warning("plan_review_batch_failed", plans=len(due), error_type=type(exc).__name__)
        # Slow path: one savepoint per plan, so a plan the library no longer matches (or a
        # review decided elsewhere) does not hold up everyone else's.
        decided, ids = _one_by_one(session, due, data, now, rules, totals)
    totals["reviews"] += len(ids)
    # One message per plan, about where its reviews left it (the latest change of level or status).
    latest_change: dict[int, dict[str, Any]] = {}
    for row in decided:
        if row["action"] != PlanAction.HOLD and (row["plan_id"], row["review_on"]) in ids:
            latest_change[row["plan_id"]] = row
    drafts = []
    locales = user_locales(session, {item.user_id for item in due})  # level names in the patient's language
    for item in due:
        plan = item.plan
        if plan.sessions_per_week != sessions_before[plan.id]:
            reschedule_patient(session, plan.patient_id, now, rules)  # the exercise days changed
        change = latest_change.get(plan.id or 0)
        if change is not None:
            decision_id = ids[(change["plan_id"], change["review_on"])]
            draft = draft_for(
                plan,
                user_id=item.user_id,
                decision_id=decision_id,
                action=PlanAction(change["action"]),
                locale=locales.get(item.user_id, DEFAULT_LOCALE),
            )
            drafts += [draft] if draft is not None else []
    enqueue_notifications(session, drafts, now)


class _AlreadyDecided(Exception):
    """A review in the batch was decided by someone else: undo and take the slow path."""


def _decide(item: _Due, data: dict[int, PlanWeekData], now: datetime, rules: RuleSettings) -> list[dict[str, Any]]:
    """Every due review of one plan, oldest first, each on its own week's data."""
    rows = []
    for review_on in item.dates:
        rows.append(decide_review(item.plan, review_on, data[item.plan.patient_id], now, rules))
        if item.plan.status not in REVIEWED_STATUSES:
            break  # completed during the catch-up: no further reviews
    return rows


def _one_by_one(
    session: Session,
    due: list[_Due],
    data: dict[int, PlanWeekData],
    now: datetime,
    rules: RuleSettings,
    totals: Counter[str],
) -> tuple[list[dict[str, Any]], dict[tuple[int, date], int]]:
    decided: list[dict[str, Any]] = []
    ids: dict[tuple[int, date], int] = {}
    for item in due:
        plan = item.plan
        try:
            with session.begin_nested():
                rows = _decide(item, data, now, rules)
                inserted = insert_decisions(session, rows)
                if len(inserted) != len(rows):
                    raise _AlreadyDecided
        except _AlreadyDecided:
            # Decided elsewhere (or the clock went back): move past what exists, retry next run.
            latest = session.exec(select(func.max(PlanDecision.review_on)).where(PlanDecision.plan_id == plan.id)).one()
            if latest is not None:
                plan.next_review_on = max(plan.next_review_on, latest + REVIEW_INTERVAL)
            _log.warning("plan_review_already_decided", plan_id=plan.id)
            continue
        except Exception:
            _log.exception("plan_review_failed", plan_id=plan.id)
            totals["errors"] += 1
            continue
        decided += rows
        ids.update(inserted)
    return decided, ids


def _load(
    session: Session, plans: list[tuple[Plan, str]], first: date, last: date, rules: RuleSettings
) -> dict[int, PlanWeekData]:
    """Logs, sessions, flare episodes and blocking alerts for a batch, in four queries.

    Logs reach back two weeks before the first reviewed week (the previous week's mean
    and the usual pain before its first session) and up to the last review date
    (next-morning pain of the week's last day).
    """
    patient_ids = [plan.patient_id for plan, _ in plans]
    data: dict[int, PlanWeekData] = {pid: PlanWeekData() for pid in patient_ids}
    week = REVIEW_INTERVAL
    lookback = timedelta(days=max(week.days, rules.usual_pain_lookback_days))
    logs = session.execute(
        select_columns(
            col(PainLog.patient_id),
            col(PainLog.log_date),
            col(PainLog.back_pain),
            col(PainLog.flare),
            col(PainLog.activity_minutes),
        ).where(
            col(PainLog.patient_id).in_(patient_ids),
            col(PainLog.log_date) >= first - week - lookback,
            col(PainLog.log_date) <= last,
        )
    ).all()
    for pid, on, pain, flare, minutes in logs:
        data[pid].days.append(PainDay(on=on, back_pain=pain, flare=flare, activity_minutes=minutes))
    sessions = session.execute(
        select_columns(
            col(ExerciseSession.id),
            col(ExerciseSession.patient_id),
            col(ExerciseSession.performed_on),
            col(ExerciseSession.pain_during),
            col(ExerciseSession.pain_next_morning),
            col(ExerciseSession.rpe),
            col(ExerciseSession.difficulty),
        ).where(
            col(ExerciseSession.patient_id).in_(patient_ids),
            col(ExerciseSession.performed_on) >= first - week,
            col(ExerciseSession.performed_on) < last,
        )
    ).all()
    for sid, pid, on, during, morning, rpe, difficulty in sessions:
        record = SessionRecord(on, during, morning, rpe, Difficulty(difficulty) if difficulty else None)
        data[pid].sessions.append(LoggedSession(str(sid), record))
    blocked = session.exec(
        select(Alert.patient_id)
        .where(
            col(Alert.patient_id).in_(patient_ids),
            col(Alert.status) != AlertStatus.RESOLVED,
            col(Alert.tier).in_(BLOCKING_TIERS),
        )
        .distinct()
    ).all()
    for pid in blocked:
        data[pid].open_urgent_alert = True
    _load_flares(session, plans, first - week, data)
    return data


def _load_flares(session: Session, plans: list[tuple[Plan, str]], since: date, data: dict[int, PlanWeekData]) -> None:
    """Flare episodes that may overlap a reviewed week: ended ones from their restore (or the
    pause that ended them), the ongoing one from the plan itself."""
    zones = {plan.id: (plan.patient_id, ZoneInfo(timezone)) for plan, timezone in plans}
    ended = session.execute(
        select_columns(
            col(PlanDecision.plan_id), col(PlanDecision.action), col(PlanDecision.inputs), col(PlanDecision.decided_at)
        ).where(
            col(PlanDecision.plan_id).in_(list(zones)),
            col(PlanDecision.action).in_([PlanAction.RESTORE, PlanAction.PAUSE]),
            col(PlanDecision.decided_at) >= datetime.combine(since - timedelta(days=1), time(), UTC),
        )
    ).all()
    for plan_id, action, inputs, decided_at in ended:
        patient_id, zone = zones[plan_id]
        episode = inputs if action == PlanAction.RESTORE else inputs.get("flare_ended")
        started = episode.get("flare_started_on") if isinstance(episode, dict) else None
        if isinstance(started, str):
            end = decided_at.astimezone(zone).date()
            data[patient_id].flares.append((date.fromisoformat(started), end))
    for plan, _ in plans:
        if plan.flare_started_on is not None:
            data[plan.patient_id].flares.append((plan.flare_started_on, None))


def _prolonged_flares(engine: Engine, now: datetime, horizon: date, batch_size: int, rules: RuleSettings) -> int:
    """Open ``prolonged_flare`` for every flare past 7 days, including those with no new logs."""
    found = 0
    last_id = 0
    cutoff = horizon - timedelta(days=rules.prolonged_flare_days)
    while True:
        with session_scope(engine) as session:
            rows = session.execute(
                select_columns(col(Plan.id), col(Plan.patient_id), col(Plan.flare_started_on), col(Patient.timezone))
                .join(Patient, col(Patient.id) == col(Plan.patient_id))
                .where(
                    col(Plan.status) == PlanStatus.REDUCED,
                    col(Plan.flare_started_on) <= cutoff,
                    col(Plan.id) > last_id,
                )
                .order_by(col(Plan.id))
                .limit(batch_size)
            ).all()
            for plan_id, patient_id, started, timezone in rows:
                last_id = plan_id or last_id
                spec = prolonged_flare(started, local_today(timezone, now), rules)
                if spec is not None:
                    raise_alert(session, patient_id, spec, now)
                    found += 1
        if len(rows) < batch_size:
            return found
