"""Loading a cohort for the outcomes report: a fixed number of statements, whatever its size.

The cohort is the patients in scope (a clinician's care team, or an admin's clinic) whose
programme day 1 falls in the period. Their pain logs (programme days 1-84 only: nothing
later decides a reported checkpoint), scored ODI screenings, plans, the last 28 days of
sessions and the plans' pauses are read in one statement each; each patient's figures
then come from the single-patient rules (``api.rules.outcomes.patient_outcome``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.models import CareTeamMember, Instrument, PainLog, Patient, Plan, Screening, User
from api.plans.adherence import PlanDays, adherence_over, pause_decisions, paused_days, sessions_by_day
from api.rules.outcomes import OdiScore, PatientOutcome, patient_outcome, report_checkpoints
from api.rules.settings import RuleSettings
from api.rules.types import PainDay
from api.rules.windows import complete_through
from api.sqldates import add_days

ADHERENCE_DAYS = 28


@dataclass(frozen=True, slots=True)
class Member:
    """One patient of the cohort: what the report groups by, and their figures."""

    patient_id: int
    risk_group: str | None
    outcome: PatientOutcome


def in_scope(clinician_id: int | None, clinic_id: int | None) -> sa.Select[Any]:
    """Ids of the patients a report may count: a clinician's care team, or a clinic."""
    if clinician_id is not None:
        return sa.select(col(CareTeamMember.patient_id)).where(col(CareTeamMember.clinician_id) == clinician_id)
    return sa.select(col(Patient.id)).where(col(Patient.clinic_id) == clinic_id)


def load_cohort(
    session: Session,
    scope: sa.Select[Any],
    first: date,
    last: date,
    now: datetime,
    rules: RuleSettings,
) -> list[Member]:
    """The cohort's patients with their per-patient outcomes, in patient id order."""
    cohort = sa.select(col(Patient.id)).where(
        col(Patient.id).in_(scope),
        col(Patient.programme_started_on) >= first,
        col(Patient.programme_started_on) <= last,
    )
    patients: list[tuple[int, str, str | None]] = [
        (int(pid), zone, risk)
        for pid, zone, risk in session.exec(
            select(col(Patient.id), col(Patient.timezone), col(Patient.risk_group))
            .where(col(Patient.id).in_(cohort))
            .order_by(col(Patient.id))
        ).all()
        if pid is not None
    ]
    if not patients:
        return []
    horizon = max(report_checkpoints(rules)) - 1
    logs: dict[int, list[PainDay]] = defaultdict(list)
    for pid, on, back in session.exec(
        select(col(PainLog.patient_id), col(PainLog.log_date), col(PainLog.back_pain))
        .join(Patient, col(Patient.id) == col(PainLog.patient_id))
        .where(
            col(Patient.id).in_(cohort), col(PainLog.log_date) <= add_days(col(Patient.programme_started_on), horizon)
        )
    ).all():
        logs[pid].append(PainDay(on=on, back_pain=back))
    zones = {pid: ZoneInfo(zone) for pid, zone, _ in patients}
    odi: dict[int, list[OdiScore]] = defaultdict(list)
    for pid, at, percent in session.exec(
        select(col(Screening.patient_id), col(Screening.created_at), col(Screening.percent)).where(
            col(Screening.patient_id).in_(cohort),
            col(Screening.instrument) == Instrument.ODI,
            col(Screening.percent).is_not(None),
        )
    ).all():
        assert percent is not None  # filtered above
        odi[pid].append(OdiScore(on=at.astimezone(zones[pid]).date(), percent=percent))
    plans = {
        pid: PlanDays(plan_id, started_on, per_week)
        for plan_id, pid, started_on, per_week in session.exec(
            select(col(Plan.id), col(Plan.patient_id), col(Plan.started_on), col(Plan.sessions_per_week)).where(
                col(Plan.patient_id).in_(cohort)
            )
        ).all()
        if plan_id is not None  # a primary key: never None once stored
    }
    today = {pid: now.astimezone(zones[pid]).date() for pid in zones}
    sessions = sessions_by_day(
        session, sorted(plans), min(today.values()) - timedelta(days=ADHERENCE_DAYS - 1), max(today.values())
    )
    pauses = pause_decisions(session, [p.plan_id for p in plans.values()])
    members = []
    for pid, _zone, risk_group in patients:
        days = logs.get(pid, [])
        as_of = complete_through(today[pid], max((d.on for d in days if d.on <= today[pid]), default=None))
        adherence = None
        plan = plans.get(pid)
        if plan is not None:
            since = today[pid] - timedelta(days=ADHERENCE_DAYS - 1)
            paused = paused_days(pauses.get(plan.plan_id, ()), zones[pid], since, today[pid])
            adherence = adherence_over(plan, sessions.get(pid, {}), paused, today[pid], ADHERENCE_DAYS)
        outcome = patient_outcome(days, as_of, odi.get(pid, []), adherence, rules)
        members.append(Member(patient_id=pid, risk_group=risk_group, outcome=outcome))
    return members


def care_teams(session: Session, patient_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """Each patient's care-team clinicians ``(id, display name)``, in one statement."""
    if not patient_ids:
        return {}
    teams: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pid, clinician_id, name in session.exec(
        select(col(CareTeamMember.patient_id), col(CareTeamMember.clinician_id), col(User.display_name))
        .join(User, col(User.id) == col(CareTeamMember.clinician_id))
        .where(col(CareTeamMember.patient_id).in_(patient_ids))
    ).all():
        teams[pid].append((clinician_id, name))
    return teams
