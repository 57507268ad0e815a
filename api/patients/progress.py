"""``GET /me/progress``: the pain trend from the rules core and exercise adherence.

Adherence is sessions done over sessions planned (the plan's weekdays), capped at 1, per
``api.rules.progression.adherence``. Planned days count from the plan's start and not
while the plan was paused (a paused plan prescribes no exercise). Today counts as a
planned day only once a session is logged for it, so a morning never shows a miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from api.models import ExerciseSession, PainLog, Patient, Plan, PlanDecision
from api.patients.schemas import ProgressPublic, SeriesPoint
from api.plans.service import plan_for
from api.rules.progression import adherence, planned_weekdays
from api.rules.settings import RuleSettings
from api.rules.types import PainDay, PlanAction
from api.rules.version import RULESET_VERSION
from api.rules.windows import progress_summary


def _paused_days(session: Session, plan: Plan, zone: ZoneInfo, first: date, today: date) -> set[date]:
    """Local dates on which the plan was paused at some moment, within [first, today]."""
    decisions = session.exec(
        select(col(PlanDecision.action), col(PlanDecision.decided_at))
        .where(
            PlanDecision.plan_id == plan.id,
            col(PlanDecision.action).in_([PlanAction.PAUSE, PlanAction.RESUME]),
        )
        .order_by(col(PlanDecision.decided_at), col(PlanDecision.id))
    ).all()
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


def _adherence(plan: Plan, sessions_by_day: dict[date, int], paused: set[date], today: date, days: int) -> float:
    weekdays = planned_weekdays(plan.sessions_per_week)
    first = today - timedelta(days=days - 1)
    planned = sum(
        1
        for d in _span(max(first, plan.started_on), today)
        if d.weekday() in weekdays and d not in paused and (d < today or sessions_by_day.get(d, 0) > 0)
    )
    done = sum(n for d, n in sessions_by_day.items() if first <= d <= today)
    return adherence(done, planned)


def progress_for(session: Session, patient: Patient, now: datetime, rules: RuleSettings, days: int) -> ProgressPublic:
    zone = ZoneInfo(patient.timezone)
    today = now.astimezone(zone).date()
    series_from = today - timedelta(days=days - 1)
    window = timedelta(days=rules.window_days - 1)
    start = patient.programme_started_on
    since = min(series_from, today - window)
    in_range = col(PainLog.log_date) >= since
    if start is not None:
        in_range = in_range | (col(PainLog.log_date) <= start + window)
    rows = session.exec(
        select(col(PainLog.log_date), col(PainLog.back_pain), col(PainLog.leg_pain))
        .where(PainLog.patient_id == patient.id, in_range, col(PainLog.log_date) <= today)
        .order_by(col(PainLog.log_date))
    ).all()
    summary = progress_summary([PainDay(on=on, back_pain=back) for on, back, _leg in rows], today, rules)
    adherence_7d = adherence_28d = None
    assert patient.id is not None
    plan = plan_for(session, patient.id)
    if plan is not None:
        first = today - timedelta(days=27)
        counted = session.exec(
            select(col(ExerciseSession.performed_on), func.count())
            .where(
                ExerciseSession.patient_id == patient.id,
                col(ExerciseSession.performed_on) >= first,
                col(ExerciseSession.performed_on) <= today,
            )
            .group_by(col(ExerciseSession.performed_on))
        ).all()
        by_day = {on: int(n) for on, n in counted}
        paused = _paused_days(session, plan, zone, first, today)
        adherence_7d = _adherence(plan, by_day, paused, today, 7)
        adherence_28d = _adherence(plan, by_day, paused, today, 28)
    return ProgressPublic(
        programme_started_on=summary.programme_start,
        programme_day=summary.programme_day,
        baseline_mean=summary.baseline_mean,
        current_mean=summary.current_mean,
        change=summary.change,
        change_percent=summary.change_percent,
        classification=summary.classification,
        adherence_7d=adherence_7d,
        adherence_28d=adherence_28d,
        days_logged_7d=summary.days_logged_current,
        series=[SeriesPoint(date=on, back_pain=back, leg_pain=leg) for on, back, leg in rows if on >= series_from],
        ruleset_version=RULESET_VERSION,
    )
