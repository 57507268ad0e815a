"""``GET /me/export``: everything stored about the patient, as one JSON document.

The data-access copy of SPEC §2.10: profile, screenings, pain logs, sessions, the plan and
every decision on it, alerts about the patient (with the clinicians' notes), reminder
settings, the in-app feed, push devices (never their tokens, which are credentials) and the
conversation with the care team.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import Field
from sqlmodel import Session, col, select

from api.alerts.schemas import AlertPublic
from api.messages.schemas import MessagePublic
from api.messages.service import all_messages
from api.models import (
    Alert,
    Device,
    ExerciseSession,
    Notification,
    PainLog,
    Patient,
    PlanDecision,
    ReminderPreference,
    Screening,
    User,
)
from api.notifications.schemas import NotificationPublic
from api.pain_logs.schemas import PainLogPublic
from api.patients.schemas import (
    ExportAccount,
    ExportDevice,
    ExportProfile,
    ExportReminders,
)
from api.plans.schemas import PlanDecisionPublic, PlanPublic
from api.plans.service import plan_for
from api.plans.views import plan_public
from api.schemas import Public
from api.screenings.schemas import ScreeningPublic
from api.sessions.schemas import ExerciseSessionPublic

EXPORT_SCHEMA_VERSION = "1"


class ExportPublic(Public):
    schema_version: Literal["1"] = Field(description="bumped whenever the document's shape changes")
    generated_at: datetime
    account: ExportAccount
    profile: ExportProfile
    screenings: list[ScreeningPublic]
    pain_logs: list[PainLogPublic]
    exercise_sessions: list[ExerciseSessionPublic]
    plan: PlanPublic | None
    plan_decisions: list[PlanDecisionPublic]
    alerts: list[AlertPublic]
    reminders: ExportReminders | None
    notifications: list[NotificationPublic]
    devices: list[ExportDevice]
    messages: list[MessagePublic] = Field(description="the conversation with the care team, oldest first")


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def build_export(session: Session, user: User, patient: Patient, now: datetime) -> ExportPublic:
    assert patient.id is not None and user.id is not None
    pid = patient.id
    plan = plan_for(session, pid)
    prefs = session.get(ReminderPreference, pid)
    screenings = session.exec(select(Screening).where(Screening.patient_id == pid).order_by(col(Screening.id))).all()
    logs = session.exec(select(PainLog).where(PainLog.patient_id == pid).order_by(col(PainLog.log_date))).all()
    sessions = session.exec(
        select(ExerciseSession).where(ExerciseSession.patient_id == pid).order_by(col(ExerciseSession.performed_at))
    ).all()
    decisions = session.exec(
        select(PlanDecision)
        .where(PlanDecision.patient_id == pid)
        .order_by(col(PlanDecision.decided_at), col(PlanDecision.id))
    ).all()
    alerts = session.exec(select(Alert).where(Alert.patient_id == pid).order_by(col(Alert.id))).all()
    notifications = session.exec(
        select(Notification).where(Notification.user_id == user.id).order_by(col(Notification.id))
    ).all()
    devices = session.exec(select(Device).where(Device.user_id == user.id).order_by(col(Device.id))).all()
    return ExportPublic(
        schema_version=EXPORT_SCHEMA_VERSION,
        generated_at=now,
        account=ExportAccount.model_validate(user),
        profile=ExportProfile.model_validate(patient),
        screenings=[ScreeningPublic.of(s) for s in screenings],
        pain_logs=[PainLogPublic.of(log) for log in logs],
        exercise_sessions=[ExerciseSessionPublic.of(s) for s in sessions],
        plan=plan_public(session, plan) if plan is not None else None,
        plan_decisions=[PlanDecisionPublic.model_validate(d) for d in decisions],
        alerts=[AlertPublic.of(a) for a in alerts],
        reminders=ExportReminders(
            daily_log_enabled=prefs.daily_log_enabled,
            daily_log_time=_hhmm(prefs.daily_log_time),
            exercise_enabled=prefs.exercise_enabled,
            exercise_time=_hhmm(prefs.exercise_time),
            weekly_checkin_enabled=prefs.weekly_checkin_enabled,
            weekly_checkin_weekday=prefs.weekly_checkin_weekday,
            weekly_checkin_time=_hhmm(prefs.weekly_checkin_time),
            quiet_start=_hhmm(prefs.quiet_start),
            quiet_end=_hhmm(prefs.quiet_end),
            updated_at=prefs.updated_at,
        )
        if prefs is not None
        else None,
        notifications=[NotificationPublic.model_validate(n) for n in notifications],
        devices=[ExportDevice.model_validate(d) for d in devices],
        messages=all_messages(session, pid),
    )
