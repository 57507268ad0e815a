"""enqueue_notification: one feed row per occurrence key, one pending push per live device,
held for quiet hours unless it is a safety message."""

from __future__ import annotations

from fastapi import FastAPI
from sqlmodel import Session, col, select

from api.models import Delivery, DevicePlatform, Notification, NotificationKind
from api.notifications.devices import register_device, retire_device
from api.notifications.service import NotificationDraft, enqueue_notification, enqueue_notifications
from tests.factories import make_clinician, make_patient, patient_user
from tests.reminders.helpers import set_clock, utc

LATE_EVENING = utc(2026, 6, 8, 22, 30)  # 23:30 BST: inside the default quiet hours


def test_pushes_wait_for_the_end_of_quiet_hours_but_safety_messages_do_not(app: FastAPI, session: Session) -> None:
    set_clock(app, session, LATE_EVENING)
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    assert user.id is not None
    register_device(session, user.id, DevicePlatform.FCM, "phone", LATE_EVENING)
    register_device(session, user.id, DevicePlatform.WEBHOOK, "watch", LATE_EVENING)
    nudge = enqueue_notification(
        session, user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b", now=LATE_EVENING
    )
    safety = enqueue_notification(
        session, user_id=user.id, kind=NotificationKind.SAFETY, title="t", body="b", now=LATE_EVENING, safety=True
    )
    session.commit()
    assert nudge is not None and safety is not None
    pushes = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
    assert len(pushes) == 4
    for push in pushes:
        if push.notification_id == nudge.id:
            assert (push.next_attempt_at, push.safety) == (utc(2026, 6, 9, 7, 0), False)  # 08:00 BST
        else:
            assert (push.next_attempt_at, push.safety) == (LATE_EVENING, True)
        assert push.intended_at == LATE_EVENING and push.attempts == 0


def test_staff_have_no_quiet_hours(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    assert clinician.id is not None
    register_device(session, clinician.id, DevicePlatform.FCM, "tablet", LATE_EVENING)
    enqueue_notification(
        session, user_id=clinician.id, kind=NotificationKind.PLAN_CHANGE, title="t", body="b", now=LATE_EVENING
    )
    session.commit()
    [push] = session.exec(select(Delivery)).all()
    assert push.next_attempt_at == LATE_EVENING


def test_an_occurrence_key_is_used_once_and_retired_devices_get_nothing(app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    assert user.id is not None
    live = register_device(session, user.id, DevicePlatform.FCM, "live", LATE_EVENING)
    dead = register_device(session, user.id, DevicePlatform.FCM, "dead", LATE_EVENING)
    retire_device(session, dead, "test", LATE_EVENING)
    draft = NotificationDraft(
        user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b", occurrence_key="nudge:1", safety=True
    )
    assert len(enqueue_notifications(session, [draft, draft], LATE_EVENING)) == 1  # same key twice in one batch
    assert enqueue_notifications(session, [draft], LATE_EVENING) == []
    assert (
        enqueue_notification(
            session,
            user_id=user.id,
            kind=NotificationKind.NUDGE,
            title="t",
            body="b",
            now=LATE_EVENING,
            occurrence_key="nudge:1",
        )
        is None
    )
    session.commit()
    assert len(session.exec(select(Notification)).all()) == 1
    assert [d.device_id for d in session.exec(select(Delivery)).all()] == [live]
