"""``GET /me/progress``: the pain trend from the rules core and exercise adherence
(``api.plans.adherence``, the same definition the clinician's views use)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from api.models import PainLog, Patient
from api.patients.schemas import ProgressPublic, SeriesPoint
from api.plans.adherence import PlanDays, adherence_over, pause_decisions, paused_days, sessions_by_day
from api.plans.service import plan_for
from api.rules.settings import RuleSettings
from api.rules.types import PainDay
from api.rules.version import RULESET_VERSION
from api.rules.windows import progress_summary


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
        assert plan.id is not None
        first = today - timedelta(days=27)
        by_day = sessions_by_day(session, [patient.id], first, today).get(patient.id, {})
        paused = paused_days(pause_decisions(session, [plan.id]).get(plan.id, []), zone, first, today)
        plan_days = PlanDays(plan_id=plan.id, started_on=plan.started_on, sessions_per_week=plan.sessions_per_week)
        adherence_7d = adherence_over(plan_days, by_day, paused, today, 7)
        adherence_28d = adherence_over(plan_days, by_day, paused, today, 28)
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
