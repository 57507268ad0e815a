"""Creating notifications: an in-app feed row, plus one outbox delivery per push device.

Everything that tells a person something goes through ``enqueue_notification`` (or its
batch form ``enqueue_notifications``); delivery happens later (``backstep jobs run
deliveries``), so a push provider outage never loses a message and a rolled-back request
never sends one. The feed row *is* the in-app channel: it is visible as soon as the
transaction commits, whatever happens to the pushes.

Pushes of non-safety messages to a patient wait for the end of the patient's quiet hours
(the feed row does not); safety messages are pushed at once, whatever the hour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from api.i18n import DEFAULT_LOCALE, render
from api.i18n.patients import user_locales
from api.models import Delivery, Device, Notification, NotificationKind, Patient, ReminderPreference
from api.rules.reminders_due import ReminderPrefs, after_quiet_hours
from api.rules.text import Msg, Text
from api.upsert import insert_rows


@dataclass(frozen=True, slots=True)
class NotificationDraft:
    """One notification to create; see ``enqueue_notification`` for the fields."""

    user_id: int
    kind: NotificationKind
    title: str
    body: str
    patient_id: int | None = None
    alert_id: int | None = None
    safety: bool = False
    occurrence_key: str | None = None
    data: Mapping[str, Any] | None = None
    intended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KnownRecipients:
    """What the caller already loaded about some recipients, so queueing does not look it up again.

    Complete for every user in ``users``: their live devices (a user without any is absent
    from ``devices``), the locale of those who are patients (staff are absent: English),
    the quiet hours of those patients who stored reminder preferences.
    """

    users: frozenset[int]
    devices: Mapping[int, Sequence[int]] = field(default_factory=dict)
    locales: Mapping[int, str] = field(default_factory=dict)
    quiet: Mapping[int, ReminderPrefs] = field(default_factory=dict)


def enqueue_notification(
    session: Session,
    *,
    user_id: int,
    kind: NotificationKind,
    title: str,
    body: str,
    now: datetime,
    patient_id: int | None = None,
    alert_id: int | None = None,
    safety: bool = False,
    occurrence_key: str | None = None,
    data: dict[str, Any] | None = None,
    intended_at: datetime | None = None,
) -> Notification | None:
    """Queue a notification for ``user_id``; None if ``occurrence_key`` was already used.

    The unique occurrence key makes this safe to call from racing schedulers and
    retried requests: exactly one row wins, the others are no-ops. ``safety`` messages
    are pushed immediately, even in quiet hours; ``intended_at`` (default ``now``) is
    when the message is meant to reach the person.
    """
    draft = NotificationDraft(
        user_id=user_id,
        kind=kind,
        title=title,
        body=body,
        patient_id=patient_id,
        alert_id=alert_id,
        safety=safety,
        occurrence_key=occurrence_key,
        data=data,
        intended_at=intended_at,
    )
    inserted = enqueue_notifications(session, [draft], now)
    return session.get(Notification, inserted[0]) if inserted else None


def enqueue_notifications(
    session: Session, drafts: Sequence[NotificationDraft], now: datetime, *, known: KnownRecipients | None = None
) -> list[int]:
    """Queue many notifications in a handful of statements; the ids of those inserted.

    Drafts whose occurrence key already exists are skipped (not an error), so the
    reminder tick can replay a batch after a crash and create nothing twice. ``known``:
    when it covers every recipient, their locales, devices and quiet hours are not read
    again (one insert of the notifications, one of their deliveries).
    """
    if not drafts:
        return []
    if known is not None and not {d.user_id for d in drafts} <= known.users:
        known = None
    drafts = _in_their_language(session, drafts, known)
    table = Notification.__table__  # type: ignore[attr-defined]
    values = [
        {
            "user_id": d.user_id,
            "patient_id": d.patient_id,
            "alert_id": d.alert_id,
            "kind": d.kind,
            "title": d.title,
            "body": d.body,
            "data": dict(d.data or {}),
            "safety": d.safety,
            "occurrence_key": d.occurrence_key,
            "created_at": now,
            "intended_at": d.intended_at or now,
        }
        for d in drafts
    ]
    # One statement for many rows (``insert_rows``), so a tick of thousands of reminders stays cheap.
    statement, parameters = insert_rows(session, table, values, then=_returning_queued)
    rows = session.execute(statement, parameters).all()
    _queue_pushes(session, rows, now, known)
    session.flush()
    return [row.id for row in rows]


def _returning_queued(statement: Any) -> Any:
    table = Notification.__table__  # type: ignore[attr-defined]
    return statement.on_conflict_do_nothing().returning(
        table.c.id, table.c.user_id, table.c.safety, table.c.intended_at
    )


def _in_their_language(
    session: Session, drafts: Sequence[NotificationDraft], known: KnownRecipients | None = None
) -> Sequence[NotificationDraft]:
    """Titles and bodies given as catalogue messages, rendered in each patient's locale (staff: English)."""
    if not any(isinstance(t, Msg | Text) for d in drafts for t in (d.title, d.body)):
        return drafts
    locales = known.locales if known is not None else user_locales(session, {d.user_id for d in drafts})
    return [
        replace(
            d,
            title=render(d.title, locales.get(d.user_id, DEFAULT_LOCALE)),
            body=render(d.body, locales.get(d.user_id, DEFAULT_LOCALE)),
        )
        for d in drafts
    ]


def _queue_pushes(session: Session, rows: Sequence[Any], now: datetime, known: KnownRecipients | None = None) -> None:
    """One pending delivery per live device of each recipient."""
    user_ids = {row.user_id for row in rows}
    if not user_ids:
        return
    devices: dict[int, list[int]] = {}
    if known is not None:
        devices = {user: list(ids) for user, ids in known.devices.items() if user in user_ids and ids}
    else:
        for device_id, user_id in session.exec(
            select(Device.id, Device.user_id).where(col(Device.user_id).in_(user_ids), col(Device.retired_at).is_(None))
        ).all():
            assert device_id is not None
            devices.setdefault(user_id, []).append(device_id)
    if not devices:
        return
    waiting = {row.user_id for row in rows if not row.safety and row.user_id in devices}
    if known is not None:
        quiet = {user: prefs for user, prefs in known.quiet.items() if user in waiting}
    else:
        quiet = _quiet_hours(session, waiting)
    deliveries = []
    for row in rows:
        intended: datetime = row.intended_at
        deliver_at = intended
        if not row.safety and row.user_id in quiet:
            deliver_at = after_quiet_hours(quiet[row.user_id], max(intended, now))
        deliveries += [
            {
                "notification_id": row.id,
                "device_id": device_id,
                "status": "pending",
                "safety": row.safety,
                "attempts": 0,
                "next_attempt_at": deliver_at,
                "intended_at": intended,
                "created_at": now,
            }
            for device_id in devices.get(row.user_id, ())
        ]
    if deliveries:
        statement, parameters = insert_rows(session, Delivery.__table__, deliveries)  # type: ignore[attr-defined]
        session.execute(statement, parameters)


def _quiet_hours(session: Session, user_ids: set[int]) -> dict[int, ReminderPrefs]:
    """Quiet hours of the patients among ``user_ids`` (staff have none)."""
    if not user_ids:
        return {}
    found = session.exec(
        select(
            col(Patient.user_id),
            col(Patient.timezone),
            col(ReminderPreference.quiet_start),
            col(ReminderPreference.quiet_end),
        )
        .join(ReminderPreference, col(ReminderPreference.patient_id) == Patient.id)
        .where(col(Patient.user_id).in_(user_ids))
    ).all()
    return {
        user_id: ReminderPrefs(timezone=zone, quiet_start=start, quiet_end=end) for user_id, zone, start, end in found
    }
