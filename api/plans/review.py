"""One weekly plan review: build the rules' input from a week of data, persist the decision.

The review on date R judges the 7 local days R-7 … R-1 (the week at the plan's level)
and compares its mean back pain with the 7 days before. The data is loaded for a
whole batch of plans by ``api.plans.sweep``; this module only computes and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from statistics import fmean
from typing import Any

import structlog
from sqlmodel import Session

from api.models import ActorType, Plan, PlanDecision, PlanStatus
from api.plans.service import REVIEW_INTERVAL, set_base_status
from api.rules.progression import (
    WeeklyReviewInput,
    planned_weekdays,
    session_class,
    weekly_review,
)
from api.rules.settings import RuleSettings
from api.rules.text import Msg
from api.rules.types import Difficulty, PainDay, PlanAction, SessionRecord
from api.rules.walking import initial_walking_target, next_walking_target
from api.rules.windows import window_mean
from api.upsert import insert_rows
from exercise_library import get_library

_log = structlog.get_logger("api.plans.review")


@dataclass(frozen=True, slots=True)
class LoggedSession:
    id: str
    record: SessionRecord


@dataclass(slots=True)
class PlanWeekData:
    """What the reviews of one plan need, loaded in bulk by the sweep."""

    days: list[PainDay] = field(default_factory=list)
    sessions: list[LoggedSession] = field(default_factory=list)
    # Flare episodes as [first day, end) local dates; end None while the flare goes on.
    flares: list[tuple[date, date | None]] = field(default_factory=list)
    open_urgent_alert: bool = False


def week_of(review_on: date) -> tuple[date, date]:
    """First and last local date judged by the review on ``review_on``."""
    return review_on - REVIEW_INTERVAL, review_on - timedelta(days=1)


def _flare_in(data: PlanWeekData, start: date, end: date) -> bool:
    if any(d.flare for d in data.days if start <= d.on <= end):
        return True
    return any(first <= end and (until is None or until > start) for first, until in data.flares)


def _mean(values: Sequence[float]) -> float | None:
    return fmean(values) if values else None


@dataclass(frozen=True, slots=True)
class ReviewPlanInput:
    review: WeeklyReviewInput
    week_mean_minutes: float | None
    sessions: list[dict[str, str]]


def review_input(plan: Plan, review_on: date, data: PlanWeekData, rules: RuleSettings) -> ReviewPlanInput:
    """The weekly review's input for the week before ``review_on``."""
    start, end = week_of(review_on)
    week_days = [start + timedelta(days=i) for i in range(7)]
    planned_days = planned_weekdays(plan.sessions_per_week)
    week_sessions = sorted((s for s in data.sessions if start <= s.record.on <= end), key=lambda s: s.record.on)
    classes = tuple(session_class(s.record, data.days, rules) for s in week_sessions)
    rpes = [s.record.rpe for s in week_sessions if s.record.rpe is not None]
    minutes = [d.activity_minutes for d in data.days if start <= d.on <= end and d.activity_minutes is not None]
    review = WeeklyReviewInput(
        level=plan.level,
        level_count=get_library().level_count(plan.template_id),
        planned_sessions=sum(1 for day in week_days if day.weekday() in planned_days),
        done_sessions=len(week_sessions),
        session_classes=classes,
        weekly_mean_prev=window_mean(data.days, start - REVIEW_INTERVAL, start - timedelta(days=1), rules),
        weekly_mean_this=window_mean(data.days, start, end, rules),
        mean_rpe=_mean(rpes),
        too_hard_count=sum(1 for s in week_sessions if s.record.difficulty is Difficulty.TOO_HARD),
        days_at_level=(review_on - plan.level_started_on).days,
        flare_in_week=_flare_in(data, start, end),
        open_urgent_alert=data.open_urgent_alert,
        top_level_reviews_met=plan.top_level_reviews_met,
    )
    sessions = [
        {"id": s.id, "on": s.record.on.isoformat(), "class": str(c)}
        for s, c in zip(week_sessions, classes, strict=True)
    ]
    return ReviewPlanInput(review, _mean(minutes), sessions)


def _minutes(value: float) -> Decimal:
    return Decimal(f"{value:g}")


def decide_review(
    plan: Plan, review_on: date, data: PlanWeekData, now: datetime, rules: RuleSettings
) -> dict[str, Any]:
    """Decide the review of ``plan`` on ``review_on``, apply it to the plan (in memory) and
    return the ``plan_decision`` row to insert.

    progress/regress move one level (the new level starts on ``review_on``), complete
    marks the plan completed (a reduced plan returns to completed after its flare), hold
    keeps the level; the walking target follows the WalkBack rule; the next review is 7
    days later. The caller inserts the row, guarded by UNIQUE(plan_id, review_on), and
    rolls the plan back if that review was already decided.
    """
    built = review_input(plan, review_on, data, rules)
    decided = weekly_review(built.review, rules)
    start, end = week_of(review_on)

    week1 = plan.week1_walking_minutes
    current = plan.walking_minutes_target
    if week1 is None:  # the first review: week 1's target becomes the patient's own mean if higher
        week1 = current = initial_walking_target(current, built.week_mean_minutes, rules)
    walking = next_walking_target(current, built.week_mean_minutes, built.review.flare_in_week, week1, rules)

    reasons = list(decided.reasons)
    if walking != plan.walking_minutes_target:
        reasons.append(
            Msg(
                "daily walking target {before} min → {after} min",
                before=_minutes(plan.walking_minutes_target),
                after=_minutes(walking),
            )
        )
    row: dict[str, Any] = {
        "plan_id": plan.id,
        "patient_id": plan.patient_id,
        "action": decided.action,
        "template_id": plan.template_id,
        "from_level": decided.from_level,
        "to_level": decided.to_level,
        "from_status": plan.status,
        "reasons": reasons,
        "inputs": {
            **decided.inputs,
            "review_on": review_on.isoformat(),
            "week_start": start.isoformat(),
            "week_end": end.isoformat(),
            "sessions": built.sessions,
            "walking": {
                "week_mean_minutes": built.week_mean_minutes,
                "target_before": plan.walking_minutes_target,
                "week1_target": week1,
                "target_after": walking,
            },
        },
        "ruleset_version": decided.ruleset_version,
        "actor_type": ActorType.SYSTEM,
        "actor_id": None,
        "review_on": review_on,
        "decided_at": now,
    }

    if decided.to_level != plan.level:
        plan.level = decided.to_level
        plan.level_started_on = review_on
        plan.sessions_per_week = get_library().sessions_per_week(plan.template_id, decided.to_level)
    if decided.action is PlanAction.COMPLETE:
        plan.top_level_reviews_met += 1
        set_base_status(plan, PlanStatus.COMPLETED)
    elif decided.action is PlanAction.HOLD and decided.all_criteria_met and plan.level == built.review.level_count:
        plan.top_level_reviews_met += 1
    else:
        plan.top_level_reviews_met = 0
    plan.walking_minutes_target = walking
    plan.week1_walking_minutes = week1
    plan.next_review_on = review_on + REVIEW_INTERVAL
    plan.updated_at = now
    row["to_status"] = plan.status
    return row


def insert_decisions(session: Session, rows: list[dict[str, Any]]) -> dict[tuple[int, date], int]:
    """Insert review decisions in one statement; ids of those inserted by (plan_id, review_on).

    A review already decided (same plan and date) is skipped by the unique constraint.
    """
    if not rows:
        return {}
    table = PlanDecision.__table__  # type: ignore[attr-defined]
    statement, parameters = insert_rows(session, table, rows)
    statement = statement.on_conflict_do_nothing().returning(table.c.id, table.c.plan_id, table.c.review_on)
    # No autoflush: the batch's plan rows are flushed together afterwards.
    with session.no_autoflush:
        inserted = session.execute(statement, parameters).all()
    return {(row.plan_id, row.review_on): row.id for row in inserted}
