"""The reminder tick: send what is due, exactly once, then move each row to its next time.

One transaction per batch of due ``ReminderSchedule`` rows, in the shape of every
scheduled job (``api.batches.run_batches``: claimed with ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several schedulers share the work; a batch that fails is redone row by
row, so one bad row cannot hold up the others). Inside it: decide
with the pure rules, insert the notifications with their unique occurrence key
``reminder:{patient_id}:{kind}:{local_date}``, advance ``next_due_at``. A crash anywhere
rolls the whole batch back; a racing scheduler that got the same row anyway (its lock
was released by our commit) finds the key taken and the row already advanced. A tick
with nothing due is one index probe.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import structlog
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.batches import run_batches
from api.config import Settings
from api.models import (
    ExerciseSession,
    NotificationKind,
    PainLog,
    Patient,
    Plan,
    PlanStatus,
    ReminderPreference,
    ReminderSchedule,
    User,
)
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.observability.metrics import observe_reminder_lateness
from api.reminders.service import default_preferences, rule_prefs
from api.rules.progression import planned_weekdays
from api.rules.reminder_copy import reminder_copy
from api.rules.reminders_due import ReminderPrefs, next_due, occurrence_on, reminder_decision
from api.rules.settings import RuleSettings
from api.rules.types import ReminderKind

_log = structlog.get_logger("api.reminders")


def occurrence_key(patient_id: int, kind: str, local_date: date) -> str:
    """The unique key of one reminder: at most one per patient, kind and local date."""
    return f"reminder:{patient_id}:{kind}:{local_date.isoformat()}"


def run_reminder_tick(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """Send every reminder due at ``now``; counts of what happened."""
    totals = run_batches(engine, _ReminderWork(settings, now), settings.reminder_batch_size)
    return {"due": totals["due"], "created": totals["created"], "duplicate": totals["duplicate"]} | {
        k: v for k, v in sorted(totals.items()) if k.startswith("skipped") or k == "failed"
    }


@dataclass(frozen=True, slots=True)
class _ReminderWork:
    """Due ``ReminderSchedule`` rows, as ``run_batches`` drives them."""

    settings: Settings
    now: datetime
    name: str = "reminders"

    def claim(self, session: Session, limit: int) -> list[ReminderSchedule]:
        return claim_due(session, self.now, limit)

    def key(self, item: ReminderSchedule) -> tuple[int, str]:
        return (item.patient_id, item.kind)

    def process(self, session: Session, batch: Sequence[ReminderSchedule]) -> Counter[str]:
        return process_batch(session, batch, self.now, self.settings)

    def give_up(self, session: Session, item: ReminderSchedule) -> None:
        """Left due: the next tick tries it again (its occurrence key keeps it to one)."""


def claim_due(session: Session, now: datetime, limit: int) -> list[ReminderSchedule]:
    """Due rows, oldest first, locked for this transaction (other schedulers skip them)."""
    return list(
        session.exec(
            select(ReminderSchedule)
            .where(col(ReminderSchedule.next_due_at) <= now)
            .order_by(col(ReminderSchedule.next_due_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


@dataclass(frozen=True, slots=True)
class _Facts:
    user_id: int
    active: bool
    prefs: ReminderPrefs
    last_activity_on: date


def process_batch(
    session: Session, rows: Sequence[ReminderSchedule], now: datetime, settings: Settings
) -> Counter[str]:
    rules = settings.rules
    max_delay = timedelta(minutes=settings.reminder_max_delay_minutes)
    facts = _patient_facts(session, {r.patient_id for r in rows}, now, rules)
    plans = {
        pid: (spw, status)
        for pid, spw, status in session.exec(
            select(Plan.patient_id, Plan.sessions_per_week, Plan.status).where(
                col(Plan.patient_id).in_({r.patient_id for r in rows})
            )
        ).all()
    }
    done = _done_on(session, rows)
    counts: Counter[str] = Counter()
    drafts: list[NotificationDraft] = []
    for row in rows:
        counts["due"] += 1
        patient = facts.get(row.patient_id)
        if patient is None:  # erased while we looked; its rows go with it
            session.delete(row)
            continue
        kind = ReminderKind(row.kind)
        plan = plans.get(row.patient_id)
        days = planned_weekdays(plan[0]) if plan is not None else frozenset()
        skip = _skip_reason(row, kind, patient, days, plan, now, max_delay)
        if skip is None:
            send, why = reminder_decision(
                kind,
                row.local_date,
                (row.patient_id, kind, row.local_date) in done,
                patient.last_activity_on,
                row.last_sent_on,
                rules,
            )
            skip = None if send else why
        if skip is None:
            title, body = reminder_copy(kind)
            drafts.append(
                NotificationDraft(
                    user_id=patient.user_id,
                    kind=NotificationKind(kind.value),
                    title=title,
                    body=body,
                    patient_id=row.patient_id,
                    occurrence_key=occurrence_key(row.patient_id, kind, row.local_date),
                    data={"reminder": kind.value, "local_date": row.local_date.isoformat()},
                    intended_at=row.next_due_at,
                )
            )
            row.last_sent_on = row.local_date
            # Counted when decided: a batch that then rolls back is re-sent by the next tick and
            # counted again, later, which is what the operator should see.
            observe_reminder_lateness(kind.value, (now - row.next_due_at).total_seconds())
        else:
            counts[f"skipped_{_slug(skip)}"] += 1
        following = next_due(patient.prefs, kind, now, days, rules)
        if following is None:
            session.delete(row)
        else:
            row.next_due_at, row.local_date = following.due_at, following.local_date
            session.add(row)
    created = enqueue_notifications(session, drafts, now)
    counts["created"] += len(created)
    counts["duplicate"] += len(drafts) - len(created)
    session.flush()
    return counts


def _skip_reason(
    row: ReminderSchedule,
    kind: ReminderKind,
    patient: _Facts,
    days: frozenset[int],
    plan: tuple[int, str] | None,
    now: datetime,
    max_delay: timedelta,
) -> str | None:
    """Why this due row must not send, before the clinical decision is asked."""
    if not patient.active:
        return "account inactive"
    if now - row.next_due_at > max_delay:
        return "missed"  # the scheduler was down: a late "today" reminder would confuse
    if occurrence_on(patient.prefs, kind, row.local_date, days) is None:
        return "not wanted"  # preferences or plan changed since it was scheduled
    if kind is ReminderKind.EXERCISE_REMINDER and plan is not None and plan[1] == PlanStatus.PAUSED:
        return "plan paused"  # paused after a red flag: a clinician resumes it
    return None


def _slug(reason: str) -> str:
    if reason.startswith("no app activity"):
        return "backoff"
    return reason.replace(" ", "_")


def _patient_facts(session: Session, patient_ids: set[int], now: datetime, rules: RuleSettings) -> dict[int, _Facts]:
    found = session.execute(
        sa.select(
            col(Patient.id),
            col(Patient.user_id),
            col(Patient.timezone),
            col(Patient.created_at),
            col(Patient.last_activity_at),
            col(Patient.last_log_on),
            col(User.is_active),
            ReminderPreference,
        )
        .join(User, col(User.id) == col(Patient.user_id))
        .outerjoin(ReminderPreference, col(ReminderPreference.patient_id) == col(Patient.id))
        .where(col(Patient.id).in_(patient_ids))
    ).all()
    facts = {}
    for pid, user_id, timezone, created_at, last_activity_at, last_log_on, active, stored in found:
        zone = ZoneInfo(timezone)
        activity = [created_at.astimezone(zone).date()]
        if last_activity_at is not None:
            activity.append(last_activity_at.astimezone(zone).date())
        if last_log_on is not None:
            activity.append(last_log_on)
        prefs = stored if stored is not None else default_preferences(pid, now, rules)
        facts[pid] = _Facts(
            user_id=user_id,
            active=active,
            prefs=rule_prefs(prefs, timezone),
            last_activity_on=max(activity),
        )
    return facts


def _done_on(session: Session, rows: Sequence[ReminderSchedule]) -> set[tuple[int, ReminderKind, date]]:
    """(patient, kind, local date) whose action is already done: the log or session exists."""
    done: set[tuple[int, ReminderKind, date]] = set()
    logs = [r for r in rows if r.kind == ReminderKind.DAILY_LOG_REMINDER]
    if logs:
        for pid, on in session.exec(
            select(col(PainLog.patient_id), col(PainLog.log_date)).where(
                col(PainLog.patient_id).in_({r.patient_id for r in logs}),
                col(PainLog.log_date).in_({r.local_date for r in logs}),
            )
        ).all():
            done.add((pid, ReminderKind.DAILY_LOG_REMINDER, on))
    sessions = [r for r in rows if r.kind == ReminderKind.EXERCISE_REMINDER]
    if sessions:
        for pid, on in session.exec(
            select(col(ExerciseSession.patient_id), col(ExerciseSession.performed_on)).where(
                col(ExerciseSession.patient_id).in_({r.patient_id for r in sessions}),
                col(ExerciseSession.performed_on).in_({r.local_date for r in sessions}),
            )
        ).all():
            done.add((pid, ReminderKind.EXERCISE_REMINDER, on))
    return done
