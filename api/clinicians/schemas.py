"""Clinician-facing bodies: invites, the triage list and the patient summary (SPEC §3)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from api.alerts.schemas import AlertPublic
from api.patients.schemas import ProgressPublic
from api.plans.schemas import PlanDecisionPublic, PlanPublic
from api.rules.types import Classification, Tier
from api.schemas import Public
from api.screenings.schemas import ScreeningPublic


class InvitePublic(Public):
    code: str
    expires_at: datetime


class OpenAlertCounts(Public):
    """Unresolved (open or acknowledged) alerts by tier."""

    emergency: int
    urgent_same_day: int
    urgent_days: int
    routine: int


class PlanBrief(Public):
    level: int
    status: str


class TriageRow(Public):
    """One patient of the caller's care team, in triage order (see README "Clinician dashboard")."""

    patient_id: int
    display_name: str
    priority: Tier = Field(description="the highest tier among the patient's unresolved alerts; `none` without any")
    open_alerts: OpenAlertCounts
    pain_7d_mean: float | None = Field(
        description="mean back pain of the 7 local days ending today (null with fewer than 4 logged days)"
    )
    change_from_baseline: float | None = Field(
        description="baseline mean (programme days 1-7) minus pain_7d_mean: positive is better"
    )
    classification: Classification = Field(description="as GET /me/progress (CLINICAL_RULES.md §3)")
    adherence_7d: float | None = Field(
        description="sessions done / planned over 7 days, capped at 1; null when nothing was planned: "
        "no plan (`plan` is null), or no session was due in the 7 days (the plan started today, or was paused)"
    )
    plan: PlanBrief | None = Field(description="null until a plan is assigned (after the STarT Back questionnaire)")
    not_improving_alerts: list[str] = Field(
        description="rule codes of the patient's unresolved alerts saying pain is not improving (no_improvement_2w, "
        "_4w, _6w, persistent_12w, worsening); beside a `completed` plan the dashboard flags the plan for review"
    )
    last_log_on: date | None
    days_since_last_log: int | None = Field(description="local days since the last log (null: never logged)")
    timezone: str
    today: date = Field(description="the patient's local date now")
    unread_messages: int = Field(
        default=0, description="the patient's messages nobody in the care team has read yet (not part of the order)"
    )


class PatientFacts(Public):
    """Profile facts the clinician needs; no contact details."""

    id: int
    display_name: str
    timezone: str
    locale: str = Field(description="BCP 47: the language the patient reads Backstep in")
    today: date = Field(description="the patient's local date now")
    birth_year: int | None
    age: int | None = Field(description="age reached this year (only the birth year is stored)")
    episode_started_on: date | None
    cancer_history: bool
    osteoporosis_or_steroids: bool
    risk_group: str | None
    programme_started_on: date | None
    last_log_on: date | None
    registered_at: datetime


class WeeklyAdherence(Public):
    """One local calendar week (Monday to Sunday) of planned and done exercise sessions."""

    week_start: date
    week_end: date
    planned: int
    done: int
    adherence: float | None = Field(description="min(done / planned, 1); null when nothing was planned that week")


class SessionDay(Public):
    date: date
    sessions: int


class LevelChange(Public):
    """A plan decision that changed the level or status, on the patient's local date."""

    date: date
    action: str
    from_level: int | None
    to_level: int | None
    to_status: str | None
    actor: str


class PatientSummary(Public):
    patient: PatientFacts
    progress: ProgressPublic = Field(description="as GET /me/progress; `series` is the daily back and leg pain")
    sessions: list[SessionDay] = Field(description="days with exercise sessions over the series' range")
    level_changes: list[LevelChange] = Field(description="plan level and status changes over the series' range")
    weekly_adherence: list[WeeklyAdherence] = Field(description="the last 12 local calendar weeks, oldest first")
    plan: PlanPublic | None
    plan_history: list[PlanDecisionPublic] = Field(description="the 10 latest decisions, newest first")
    open_alerts: list[AlertPublic] = Field(description="unresolved alerts, most urgent first")
    screenings: list[ScreeningPublic] = Field(description="newest first (at most 50)")
    unread_messages: int = Field(description="the patient's messages nobody in the care team has read yet")
