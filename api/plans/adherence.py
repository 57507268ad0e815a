"""Exercise adherence: sessions done over sessions planned, for one patient or a page.

One definition for ``GET /me/progress``, the clinician's patient page and the triage
list: sessions done over sessions planned on the plan's weekdays, capped at 1
(``api.rules.progression.adherence``); planned days count from the plan's start, not
while the plan was paused (a paused plan prescribes no exercise), and today only once a
session is logged for it, so a morning never shows a miss. When nothing was planned the
adherence is unknown (None), not 100 %. Inputs for a whole page of patients load in two
queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from api.models import ExerciseSession, PlanDecision
from api.rules.progression import adherence, planned_weekdays
from api.rules.types import PlanAction


@dataclass(frozen=True, slots=True)
class PlanDays:
    """What adherence needs of a plan."""

    plan_id: int
    started_on: date
    sessions_per_week: int


@dataclass(frozen=True, slots=True)
class Count:
    planned: int
    done: int

    @property
    def adherence(self) -> float | None:
        return adherence(self.done, self.planned) if self.planned else None


def sessions_by_day(
    session: Session, patient_ids: Sequence[int], first: date, last: date
) -> dict[int, dict[date, int]]:
    """Exercise sessions per patient and local date within [first, last], in one query."""
    if not patient_ids:
        return {}
    rows = session.exec(
        select(col(ExerciseSession.patient_id), col(ExerciseSession.performed_on), func.count())
        .where(
            col(ExerciseSession.patient_id).in_(patient_ids),
            col(ExerciseSession.performed_on) >= first,
            col(ExerciseSession.performed_on) <= last,
        )
        .group_by(col(ExerciseSession.patient_id), col(ExerciseSession.performed_on))
    ).all()
    counted: dict[int, dict[date, int]] = defaultdict(dict)
    for patient_id, on, n in rows:
        counted[patient_id][on] = int(n)
    return counted


def pause_decisions(session: Session, plan_ids: Sequence[int]) -> dict[int, list[tuple[str, datetime]]]:
    """Pause and resume decisions per plan, oldest first, in one query."""
    if not plan_ids:
        return {}
    rows = session.exec(
        select(col(PlanDecision.plan_id), col(PlanDecision.action), col(PlanDecision.decided_at))
        .where(
            col(PlanDecision.plan_id).in_(plan_ids),
            col(PlanDecision.action).in_([PlanAction.PAUSE, PlanAction.RESUME]),
        )
        .order_by(col(PlanDecision.plan_id), col(PlanDecision.decided_at), col(PlanDecision.id))
    ).all()
    by_plan: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for plan_id, action, at in rows:
        by_plan[plan_id].append((action, at))
    return by_plan


def paused_days(decisions: Iterable[tuple[str, datetime]], zone: ZoneInfo, first: date, today: date) -> set[date]:
    """Local dates on which the plan was paused at some moment, within [first, today]."""
    paused: set[date] = set()
    since: date | None = None
    for action, at in decisions:
        on = at.astimezone(zone).date()
        if action == PlanAction.PAUSE and since is None:
            since = on
        elif action == PlanAction.RESUME and since is not None:
            paused.update(_span(since, on))
            since = None
    if since is not None:
        paused.update(_span(since, today))
    return {d for d in paused if first <= d <= today}


def _span(first: date, last: date) -> Iterable[date]:
    return (first + timedelta(days=i) for i in range((last - first).days + 1))


def count_between(
    plan: PlanDays, by_day: Mapping[date, int], paused: set[date], first: date, last: date, today: date
) -> Count:
    """Planned and done sessions over the local dates [first, min(last, today)]."""
    weekdays = planned_weekdays(plan.sessions_per_week)
    end = min(last, today)
    planned = sum(
        1
        for d in _span(max(first, plan.started_on), end)
        if d.weekday() in weekdays and d not in paused and (d < today or by_day.get(d, 0) > 0)
    )
    done = sum(n for d, n in by_day.items() if first <= d <= end)
    return Count(planned=planned, done=done)


def adherence_over(
    plan: PlanDays, by_day: Mapping[date, int], paused: set[date], today: date, days: int
) -> float | None:
    """Adherence over the ``days`` local dates ending today; None when nothing was planned."""
    return count_between(plan, by_day, paused, today - timedelta(days=days - 1), today, today).adherence
