"""GET /me/notifications and POST /me/notifications/{id}/read: the caller's own feed only."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Delivery, DeliveryStatus, NotificationKind, User
from api.notifications.devices import register_device
from api.notifications.service import enqueue_notification
from tests.factories import app_now, auth, make_clinician, make_patient, patient_auth, patient_user
from tests.notifications.helpers import counts

FEED = "/api/v1/me/notifications"


def notify(session: Session, user: User, title: str, minutes_ago: int, app: FastAPI, **extra: object) -> int:
    assert user.id is not None
    created = enqueue_notification(
        session,
        user_id=user.id,
        kind=extra.pop("kind", NotificationKind.NUDGE),  # type: ignore[arg-type]
        title=title,
        body="body",
        now=app_now(app) - timedelta(minutes=minutes_ago),
        **extra,  # type: ignore[arg-type]
    )
    session.commit()
    assert created is not None and created.id is not None
    return created.id


def test_the_feed_is_newest_first_and_cursor_paginated(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    for n in range(5):
        notify(session, user, f"n{n}", minutes_ago=50 - n, app=app)
    headers = patient_auth(session, app, patient)
    first = client.get(FEED, params={"limit": 2}, headers=headers).json()
    second = client.get(FEED, params={"limit": 2, "cursor": first["next_cursor"]}, headers=headers).json()
    third = client.get(FEED, params={"limit": 2, "cursor": second["next_cursor"]}, headers=headers).json()
    titles = [i["title"] for page in (first, second, third) for i in page["items"]]
    assert titles == ["n4", "n3", "n2", "n1", "n0"]
    assert third["next_cursor"] is None
    item = first["items"][0]
    assert set(item) >= {"id", "kind", "title", "body", "created_at", "read_at", "safety", "patient_id", "alert_id"}
    assert client.get(FEED, params={"cursor": "not-a-cursor"}, headers=headers).status_code == 422


def test_marking_read_is_idempotent_and_cancels_an_unsent_push(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    assert user.id is not None
    register_device(session, user.id, "webhook", "phone-1", app_now(app))  # type: ignore[arg-type]
    session.commit()
    notification_id = notify(session, user, "hello", minutes_ago=0, app=app)
    headers = patient_auth(session, app, patient)
    first = client.post(f"{FEED}/{notification_id}/read", headers=headers)
    again = client.post(f"{FEED}/{notification_id}/read", headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["read_at"] is not None and again.json()["read_at"] == first.json()["read_at"]
    session.commit()
    [delivery] = session.exec(select(Delivery)).all()
    assert delivery.status == DeliveryStatus.CANCELLED
    unread = client.get(FEED, params={"unread": True}, headers=headers).json()
    assert unread["items"] == []


def test_another_patient_can_neither_see_nor_mark_my_notifications(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    alice, bob = make_patient(session, app, name="A"), make_patient(session, app, name="B")
    mine = notify(session, patient_user(session, alice), "for A", minutes_ago=0, app=app)
    bob_headers = patient_auth(session, app, bob)
    assert client.get(FEED, headers=bob_headers).json()["items"] == []
    before = counts(session)
    response = client.post(f"{FEED}/{mine}/read", headers=bob_headers)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.post(f"{FEED}/999999/read", headers=bob_headers).status_code == 404
    assert counts(session) == before
    alice_feed = client.get(FEED, headers=patient_auth(session, app, alice)).json()
    assert [i["read_at"] for i in alice_feed["items"]] == [None]


def test_clinicians_receive_care_team_alerts_in_their_feed(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    notify(
        session,
        clinician,
        "Emergency alert for a patient in your care",
        minutes_ago=0,
        app=app,
        kind=NotificationKind.CARE_TEAM_ALERT,
        patient_id=patient.id,
        safety=True,
    )
    [item] = client.get(FEED, headers=auth(app, clinician)).json()["items"]
    assert (item["kind"], item["safety"], item["patient_id"]) == ("care_team_alert", True, patient.id)
    assert client.get(FEED, headers=patient_auth(session, app, patient)).json()["items"] == []
