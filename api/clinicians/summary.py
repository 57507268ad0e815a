"""One patient as their clinician sees it: facts, progress, series, adherence, plan, alerts.

Shared by ``GET /clinician/patients/{id}`` and the dashboard's patient page, so both
show the same numbers. Progress (means, classification, daily series) is the capture
domain's ``progress_for``, the plan views are the plans domain's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case
from sqlmodel import Session, col, select

from api.alerts.schemas import AlertPublic
from api.clinicians.schemas import LevelChange, PatientFacts, PatientSummary, SessionDay, WeeklyAdherence
from api.messages.service import unread_count
from api.models import Alert, AlertStatus, AuthorRole, Patient, PlanDecision, Screening, User
from api.patients.progress import progress_for
from api.plans.adherence import PlanDays, count_between, pause_decisions, paused_days, sessions_by_day
from api.plans.service import plan_for
from api.plans.views import history_page, plan_public
from api.rules.settings import RuleSettings
from api.rules.types import PlanAction, Tier
from api.screenings.schemas import ScreeningPublic

SERIES_DAYS = 90
ADHERENCE_WEEKS = 12
_TIER_ORDER = case(
    {Tier.EMERGENCY.value: 0, Tier.URGENT_SAME_DAY.value: 1, Tier.URGENT_DAYS.value: 2},
    value=col(Alert.tier),
    else_=3,
)
# Decisions drawn on the chart: a weekly "hold" changes nothing, so it is left out.
CHART_ACTIONS = frozenset(PlanAction) - {PlanAction.HOLD}


def patient_facts(session: Session, patient: Patient, now: datetime) -> PatientFacts:
    user = session.get(User, patient.user_id)
    assert user is not None and patient.id is not None
    today = now.astimezone(ZoneInfo(patient.timezone)).date()
    return PatientFacts(
        id=patient.id,
        display_name=user.display_name,
        timezone=patient.timezone,
        locale=patient.locale,
        today=today,
        birth_year=patient.birth_year,
        age=today.year - patient.birth_year if patient.birth_year is not None else None,
        episode_started_on=patient.episode_started_on,
        cancer_history=patient.cancer_history,
        osteoporosis_or_steroids=patient.osteoporosis_or_steroids,
        risk_group=patient.risk_group,
        programme_started_on=patient.programme_started_on,
        last_log_on=patient.last_log_on,
        registered_at=patient.created_at,
    )


def open_alerts(session: Session, patient_id: int) -> list[Alert]:
    """Unresolved alerts, most urgent first (tier, then open before acknowledged, newest)."""
    return list(
        session.exec(
            select(Alert)
            .where(Alert.patient_id == patient_id, Alert.status != AlertStatus.RESOLVED)
            .order_by(_TIER_ORDER, col(Alert.status).desc(), col(Alert.opened_at).desc(), col(Alert.id).desc())
        ).all()
    )


def patient_summary(session: Session, patient: Patient, now: datetime, rules: RuleSettings) -> PatientSummary:
    assert patient.id is not None
    facts = patient_facts(session, patient, now)
    zone, today = ZoneInfo(patient.timezone), facts.today
    progress = progress_for(session, patient, now, rules, SERIES_DAYS)
    series_from = today - timedelta(days=SERIES_DAYS - 1)
    weeks_from = today - timedelta(days=today.weekday() + 7 * (ADHERENCE_WEEKS - 1))
    first = min(series_from, weeks_from)
    by_day = sessions_by_day(session, [patient.id], first, today).get(patient.id, {})
    plan = plan_for(session, patient.id)
    weekly: list[WeeklyAdherence] = []
    if plan is not None:
        assert plan.id is not None
        days = PlanDays(plan.id, plan.started_on, plan.sessions_per_week)
        paused = paused_days(pause_decisions(session, [plan.id]).get(plan.id, ()), zone, weeks_from, today)
        for week in range(ADHERENCE_WEEKS):
            start = weeks_from + timedelta(days=7 * week)
            count = count_between(days, by_day, paused, start, start + timedelta(days=6), today)
            weekly.append(
                WeeklyAdherence(
                    week_start=start,
                    week_end=start + timedelta(days=6),
                    planned=count.planned,
                    done=count.done,
                    adherence=count.adherence,
                )
            )
    decisions = session.exec(
        select(PlanDecision)
        .where(PlanDecision.patient_id == patient.id)
        .order_by(col(PlanDecision.decided_at), col(PlanDecision.id))
    ).all()
    changes = [
        LevelChange(
            date=d.decided_at.astimezone(zone).date() if d.review_on is None else d.review_on,
            action=d.action,
            from_level=d.from_level,
            to_level=d.to_level,
            to_status=d.to_status,
            actor=d.actor_type,
        )
        for d in decisions
        if d.action in CHART_ACTIONS
    ]
    screenings = session.exec(
        select(Screening).where(Screening.patient_id == patient.id).order_by(col(Screening.id).desc()).limit(50)
    ).all()
    return PatientSummary(
        patient=facts,
        progress=progress,
        sessions=[SessionDay(date=d, sessions=n) for d, n in sorted(by_day.items()) if d >= series_from],
        level_changes=[c for c in changes if c.date >= series_from],
        weekly_adherence=weekly,
        plan=plan_public(session, plan) if plan is not None else None,
        plan_history=history_page(session, patient.id, 10, None).items,
        open_alerts=[AlertPublic.of(a) for a in open_alerts(session, patient.id)],
        screenings=[ScreeningPublic.of(s) for s in screenings],
        unread_messages=unread_count(session, patient.id, AuthorRole.CLINICIAN),
    )
