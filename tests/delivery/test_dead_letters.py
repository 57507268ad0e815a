"""Admins see dead letters (why, not what) and can requeue one, audited."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from api.config import Settings
from api.delivery.dispatcher import claim, deliver_due
from api.models import AuditEvent, Delivery, DeliveryStatus, DevicePlatform, NotificationKind
from api.notifications.devices import register_device, retire_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.factories import (
    assert_field_refused,
    auth,
    make_admin,
    make_clinician,
    make_patient,
    patient_auth,
    patient_user,
)
from tests.reminders.helpers import fresh, set_clock, utc

T0 = utc(2026, 6, 8, 12, 0)
URL = "/api/v1/admin/dead-letters"


def dead_letters(app: FastAPI, session: Session, engine: Engine, settings: Settings) -> list[int]:
    """Four dead letters (no provider is configured in tests), one of them a safety alert; ids oldest first."""
    set_clock(app, session, T0)
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    clinician = make_clinician(session, app)
    assert user.id is not None and clinician.id is not None
    register_device(session, user.id, DevicePlatform.FCM, "phone", T0)
    register_device(session, clinician.id, DevicePlatform.WEBHOOK, "pager", T0)
    drafts = [
        NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Zebra title", body=f"zebra {n}")
        for n in range(3)
    ]
    drafts.append(
        NotificationDraft(
            user_id=clinician.id, kind=NotificationKind.CARE_TEAM_ALERT, title="t", body="symptoms", safety=True
        )
    )
    enqueue_notifications(session, drafts, T0)
    session.commit()
    assert deliver_due(engine, settings, T0)["dead"] == 4
    return [d.id for d in fresh(session).exec(select(Delivery).order_by(col(Delivery.id))).all() if d.id]


def test_admins_page_through_dead_letters_newest_first_without_message_text(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    ids = dead_letters(app, session, engine, settings)
    headers = auth(app, make_admin(session, app))
    first = client.get(URL, params={"limit": 3}, headers=headers)
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:3]
    rest = client.get(URL, params={"limit": 3, "cursor": page["next_cursor"]}, headers=headers).json()
    assert [item["id"] for item in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    item = page["items"][-1]
    assert item["status"] == "dead" and item["kind"] == "nudge" and item["platform"] == "fcm"
    assert item["last_error"].startswith("FCM push is not configured")
    assert "zebra" not in first.text.lower() and "symptoms" not in first.text  # no titles, no bodies
    safety = client.get(URL, params={"safety": True}, headers=headers).json()["items"]
    assert [(i["kind"], i["safety"]) for i in safety] == [("care_team_alert", True)]
    nudges = client.get(URL, params={"kind": "nudge"}, headers=headers).json()["items"]
    assert len(nudges) == 3


def test_requeue_puts_a_dead_letter_back_due_now_with_a_fresh_window_and_is_audited(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    ids = dead_letters(app, session, engine, settings)
    later = T0 + timedelta(days=3)
    set_clock(app, session, later)
    admin = make_admin(session, app)
    headers = auth(app, admin)
    response = client.post(f"{URL}/{ids[0]}/retry", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["give_up_at"]) == ("pending", None)
    row = fresh(session).get(Delivery, ids[0])
    assert row is not None and row.status == DeliveryStatus.PENDING
    assert later <= row.next_attempt_at < later + timedelta(minutes=1)  # due now (the test clock runs)
    assert [c.delivery_id for c in claim(engine, settings, row.next_attempt_at)] == [ids[0]]  # taken again
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "retry_dead_letter")).all()
    assert (event.actor_id, event.resource) == (admin.id, f"delivery/{ids[0]}")
    assert "zebra" not in str(event.detail).lower()

    again = client.post(f"{URL}/{ids[0]}/retry", headers=headers)
    assert again.status_code == 409 and again.json()["code"] == "not_dead_letter"
    assert client.post(f"{URL}/999999/retry", headers=headers).status_code == 404
    assert_field_refused(client.post(f"{URL}/0/retry", headers=headers), ["path", "delivery_id"])


def test_a_dead_letter_whose_device_is_retired_cannot_be_requeued(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    ids = dead_letters(app, session, engine, settings)
    row = session.get(Delivery, ids[0])
    assert row is not None and row.device_id is not None
    retire_device(session, row.device_id, "FCM UNREGISTERED", T0)
    session.commit()
    response = client.post(f"{URL}/{ids[0]}/retry", headers=auth(app, make_admin(session, app)))
    assert response.status_code == 409 and response.json()["code"] == "device_retired"
    assert fresh(session).get(Delivery, ids[0]) is not None
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "retry_dead_letter")).all() == []


def test_only_admins_see_or_requeue_dead_letters_and_bad_filters_are_refused(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    ids = dead_letters(app, session, engine, settings)
    for headers in (
        auth(app, make_clinician(session, app, name="Other")),
        patient_auth(session, app, make_patient(session, app)),
    ):
        assert client.get(URL, headers=headers).status_code == 403
        assert client.post(f"{URL}/{ids[0]}/retry", headers=headers).status_code == 403
    assert client.get(URL).status_code == 401
    admin = auth(app, make_admin(session, app))
    assert_field_refused(client.get(URL, params={"kind": "gossip"}, headers=admin), ["query", "kind"])
    assert_field_refused(client.get(URL, params={"limit": 0}, headers=admin), ["query", "limit"])
    assert_field_refused(client.get(URL, params={"cursor": "nonsense!"}, headers=admin), ["query", "cursor"])
    assert fresh(session).get(Delivery, ids[0]) is not None
    assert {d.status for d in session.exec(select(Delivery)).all()} == {DeliveryStatus.DEAD}
