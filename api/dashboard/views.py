"""What the patient page shows, assembled from the same services as the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api.alerts.schemas import AlertPublic
from api.clinicians.schemas import PatientSummary
from api.clinicians.summary import SERIES_DAYS, patient_summary
from api.clinicians.words import ACTION_WORDS, STATUS_WORDS
from api.messages.schemas import MessagePublic, MessageSafety
from api.messages.service import conversation_page
from api.models import Alert, AlertStatus, AuthorRole, PainLog, Patient, User
from api.plans.schemas import PlanDecisionPublic
from api.plans.views import history_page
from api.rules.settings import RuleSettings
from api.rules.types import PlanAction
from exercise_library import get_library

RECENT_LOGS = 14
# The page shows the plan history in full (the API's summary carries the 10 latest): a
# year of weekly reviews is about 60 decisions. Beyond this many the page says where the
# rest are rather than hiding them silently.
HISTORY_SHOWN = 250
# The latest messages of the conversation, shown oldest first like a chat; the older ones
# are in ``GET /api/v1/clinician/patients/{id}/messages``.
MESSAGES_SHOWN = 50


@dataclass(frozen=True, slots=True)
class PatientPage:
    summary: PatientSummary
    recent_logs: list[PainLog]
    resolved_alerts: list[AlertPublic]
    staff_names: dict[int, str]
    chart: dict[str, Any]
    templates: list[tuple[str, str]]
    history: list[PlanDecisionPublic]
    history_truncated: bool
    messages: list[MessagePublic]  # oldest first
    messages_truncated: bool
    message_safety: MessageSafety  # what the patient is told about messages
    reply_client_id: str  # a fresh UUID per rendered form: a double submit is a replay, not two messages

    @property
    def today(self) -> date:
        return self.summary.patient.today


def _change_label(action: str, to_level: int | None, to_status: str | None) -> str:
    if action in (PlanAction.PROGRESS, PlanAction.REGRESS, PlanAction.SET_LEVEL, PlanAction.ASSIGN):
        return f"{ACTION_WORDS.get(action, action)}: level {to_level}"
    return ACTION_WORDS.get(action, STATUS_WORDS.get(to_status or "", action))


def chart_data(summary: PatientSummary) -> dict[str, Any]:
    """Daily back and leg pain, session days and plan changes, one slot per local date.

    Days run from the first day with data (within the series' 90 days) to the patient's
    today, so missing logs are gaps, not interpolated lines.
    """
    today = summary.patient.today
    points = {p.date: p for p in summary.progress.series}
    sessions = {s.date: s.sessions for s in summary.sessions}
    starts = [d for d in (*points, *sessions, *(c.date for c in summary.level_changes)) if d <= today]
    first = max(min(starts, default=today), today - timedelta(days=SERIES_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    return {
        "timezone": summary.patient.timezone,
        "days": [d.isoformat() for d in days],
        "back": [points[d].back_pain if d in points else None for d in days],
        "leg": [points[d].leg_pain if d in points else None for d in days],
        "sessions": [sessions.get(d) or None for d in days],
        "changes": [
            {"date": c.date.isoformat(), "action": c.action, "label": _change_label(c.action, c.to_level, c.to_status)}
            for c in summary.level_changes
            if first <= c.date <= today
        ],
    }


def patient_page(session: Session, patient: Patient, now: datetime, rules: RuleSettings) -> PatientPage:
    assert patient.id is not None
    summary = patient_summary(session, patient, now, rules)
    recent = list(
        session.exec(
            select(PainLog)
            .where(PainLog.patient_id == patient.id)
            .order_by(col(PainLog.log_date).desc())
            .limit(RECENT_LOGS)
        ).all()
    )
    resolved = session.exec(
        select(Alert)
        .where(Alert.patient_id == patient.id, Alert.status == AlertStatus.RESOLVED)
        .order_by(col(Alert.resolved_at).desc())
        .limit(5)
    ).all()
    resolved_public = [AlertPublic.of(a) for a in resolved]
    history = history_page(session, patient.id, HISTORY_SHOWN, None)
    staff_ids = {
        i for a in (*summary.open_alerts, *resolved_public) for i in (a.acknowledged_by, a.resolved_by) if i is not None
    } | {d.actor_id for d in history.items if d.actor_id is not None}
    staff = (
        session.exec(select(User.id, User.display_name).where(col(User.id).in_(staff_ids))).all() if staff_ids else []
    )
    library = get_library()
    conversation = conversation_page(session, patient, AuthorRole.CLINICIAN, rules, MESSAGES_SHOWN, None)
    return PatientPage(
        summary=summary,
        recent_logs=recent,
        resolved_alerts=resolved_public,
        staff_names={int(i): name for i, name in staff if i is not None},
        chart=chart_data(summary),
        templates=sorted((t.id, t.name) for t in library.templates.values()),
        history=history.items,
        history_truncated=history.next_cursor is not None,
        messages=conversation.items[::-1],
        messages_truncated=conversation.next_cursor is not None,
        message_safety=conversation.safety,
        reply_client_id=str(uuid.uuid4()),
    )
