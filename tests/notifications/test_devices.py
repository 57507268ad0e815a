"""POST /me/devices and DELETE /me/devices/{id}: any role, idempotent, never someone else's."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Delivery, DeliveryStatus, Device, NotificationKind
from api.notifications.service import enqueue_notification
from tests.factories import (
    app_now,
    assert_field_refused,
    auth,
    make_clinician,
    make_patient,
    patient_auth,
    patient_user,
)
from tests.notifications.helpers import counts

DEVICES = "/api/v1/me/devices"


def test_registering_is_idempotent_and_a_token_moves_to_its_new_owner(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    alice, bob = make_patient(session, app), make_patient(session, app)
    alice_headers, bob_headers = patient_auth(session, app, alice), patient_auth(session, app, bob)
    body = {"platform": "fcm", "token": "fcm-token-abc:123"}
    first = client.post(DEVICES, json=body, headers=alice_headers)
    again = client.post(DEVICES, json=body, headers=alice_headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    device_id = first.json()["id"]

    session.commit()  # end the read snapshot taken before the requests wrote
    alice_user = patient_user(session, alice)
    assert alice_user.id is not None
    enqueue_notification(
        session, user_id=alice_user.id, kind=NotificationKind.NUDGE, title="t", body="b", now=app_now(app)
    )
    session.commit()
    # Alice signs out, Bob signs in on the same phone: the token follows Bob and Alice's
    # undelivered push is cancelled rather than shown to Bob.
    moved = client.post(DEVICES, json=body, headers=bob_headers)
    assert moved.status_code == 201 and moved.json()["id"] == device_id
    session.commit()
    device = session.get(Device, device_id)
    assert device is not None and device.user_id == bob.user_id
    [delivery] = session.exec(select(Delivery)).all()
    assert (delivery.status, delivery.last_error) == (DeliveryStatus.CANCELLED, "device moved to another account")


def test_deleting_retires_the_device_and_cancels_its_pending_pushes(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    device_id = client.post(DEVICES, json={"platform": "webhook", "token": "gw-1"}, headers=headers).json()["id"]
    session.commit()  # end the read snapshot taken before the request wrote
    user = patient_user(session, patient)
    assert user.id is not None
    enqueue_notification(session, user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b", now=app_now(app))
    session.commit()
    assert client.delete(f"{DEVICES}/{device_id}", headers=headers).status_code == 204
    assert client.delete(f"{DEVICES}/{device_id}", headers=headers).status_code == 204  # idempotent
    session.commit()
    session.expire_all()
    device = session.get(Device, device_id)
    assert device is not None and device.retired_at is not None
    [delivery] = session.exec(select(Delivery)).all()
    assert delivery.status == DeliveryStatus.CANCELLED
    # A retired device gets no new deliveries; registering the token again revives it.
    enqueue_notification(session, user_id=user.id, kind=NotificationKind.NUDGE, title="t", body="b", now=app_now(app))
    session.commit()
    assert len(session.exec(select(Delivery)).all()) == 1
    assert (
        client.post(DEVICES, json={"platform": "webhook", "token": "gw-1"}, headers=headers).json()["id"] == device_id
    )


def test_nobody_deletes_someone_elses_device(client: TestClient, app: FastAPI, session: Session) -> None:
    alice, bob = make_patient(session, app), make_patient(session, app)
    clinician = make_clinician(session, app)
    device_id = client.post(
        DEVICES, json={"platform": "fcm", "token": "alice-phone"}, headers=patient_auth(session, app, alice)
    ).json()["id"]
    before = counts(session)
    for headers in (patient_auth(session, app, bob), auth(app, clinician)):
        response = client.delete(f"{DEVICES}/{device_id}", headers=headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.delete(f"{DEVICES}/987654", headers=patient_auth(session, app, bob)).status_code == 404
    assert counts(session) == before
    device = session.get(Device, device_id)
    assert device is not None and device.retired_at is None


def test_clinicians_register_devices_too(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    response = client.post(DEVICES, json={"platform": "fcm", "token": "ward-tablet"}, headers=auth(app, clinician))
    assert response.status_code == 201


VALID: dict[str, Any] = {"platform": "fcm", "token": "tok-1"}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"platform": "apns"}, "platform"),
    ({"platform": 1}, "platform"),
    ({"platform": None}, "platform"),
    ({"token": ""}, "token"),
    ({"token": "has space"}, "token"),
    ({"token": "x" * 1025}, "token"),
    ({"token": 12345}, "token"),
    ({"token": ["a"]}, "token"),
    ({"extra": True}, "extra"),
]


def test_bad_device_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    before = counts(session)
    cases = [({**VALID, **change}, field) for change, field in BAD]
    cases += [({k: v for k, v in VALID.items() if k != missing}, missing) for missing in VALID]
    for body, field in cases:
        response = client.post(DEVICES, json=body, headers=headers)
        assert_field_refused(response, ["body", field], body)
    assert counts(session) == before
