"""Care-team messaging over HTTP (issue 18): sending, replays, read markers, pagination, access."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent, Delivery, DevicePlatform, Message, Notification, NotificationKind
from api.notifications.devices import register_device
from tests.factories import app_now, assert_field_refused, make_patient, patient_auth
from tests.messages.helpers import ME, Team, clinician_path, counts, make_team, new_message


@pytest.fixture
def team(app: FastAPI, session: Session) -> Team:
    return make_team(app, session)


def test_a_patient_and_the_care_team_converse(client: TestClient, team: Team) -> None:
    sent = client.post(ME, json=new_message("My back is stiff in the mornings"), headers=team.patient_headers)
    assert sent.status_code == 201, sent.text
    message = sent.json()["message"]
    assert message["author_role"] == "patient" and message["author_name"] == "Camille Laurent"
    assert message["body"] == "My back is stiff in the mornings" and message["read_at"] is None
    assert set(message) == {"id", "client_id", "author_role", "author_name", "body", "created_at", "read_at"}
    safety = sent.json()["safety"]
    assert "not monitored for emergencies" in safety["statement"] and "999" in safety["statement"]
    assert safety["emergency_number"] == "999"
    assert safety["red_flag_checklist"] == {
        "questions": "/api/v1/screening-instruments",
        "submit": "/api/v1/me/screenings",
        "instrument": "red_flags",
    }

    seen = client.get(clinician_path(team.patient), headers=team.clinician_headers)
    assert seen.status_code == 200
    assert [m["id"] for m in seen.json()["items"]] == [message["id"]]
    assert seen.json()["unread_messages"] == 1
    listed = client.get("/api/v1/clinician/patients", headers=team.clinician_headers).json()["items"]
    unread = {row["patient_id"]: row["unread_messages"] for row in listed}
    assert unread == {team.patient.id: 1, team.other.id: 0}
    summary = client.get(f"/api/v1/clinician/patients/{team.patient.id}", headers=team.clinician_headers)
    assert summary.json()["unread_messages"] == 1

    reply = client.post(
        clinician_path(team.patient),
        json=new_message("That is common at first: keep going."),
        headers=team.clinician_headers,
    )
    assert reply.status_code == 201
    assert reply.json()["message"]["author_role"] == "clinician"
    assert reply.json()["message"]["author_name"] == "Sam Okafor"

    mine = client.get(ME, headers=team.patient_headers).json()
    assert [m["author_role"] for m in mine["items"]] == ["clinician", "patient"]  # newest first
    assert mine["unread_messages"] == 1
    assert "not monitored for emergencies" in mine["safety"]["statement"]


def test_read_markers_on_both_sides(client: TestClient, team: Team) -> None:
    first = client.post(ME, json=new_message("one"), headers=team.patient_headers).json()["message"]
    second = client.post(ME, json=new_message("two"), headers=team.patient_headers).json()["message"]
    reply = client.post(clinician_path(team.patient), json=new_message("three"), headers=team.clinician_headers)
    third = reply.json()["message"]

    marked = client.post(
        f"{clinician_path(team.patient)}/read", json={"up_to_id": first["id"]}, headers=team.colleague_headers
    )
    assert marked.status_code == 200
    assert marked.json() == {"marked_read": 1, "unread_messages": 1}
    # Read by the care team (any clinician of it), up to the id given, and only the patient's messages.
    items = {m["id"]: m for m in client.get(ME, headers=team.patient_headers).json()["items"]}
    assert items[first["id"]]["read_at"] is not None and items[second["id"]]["read_at"] is None
    assert items[third["id"]]["read_at"] is None
    again = client.post(
        f"{clinician_path(team.patient)}/read", json={"up_to_id": third["id"]}, headers=team.clinician_headers
    )
    assert again.json() == {"marked_read": 1, "unread_messages": 0}
    items_after = {m["id"]: m for m in client.get(ME, headers=team.patient_headers).json()["items"]}
    assert items_after[first["id"]]["read_at"] == items[first["id"]]["read_at"]  # the first read time stays
    assert items_after[third["id"]]["read_at"] is None  # the clinician's own message waits for the patient

    patient_read = client.post(f"{ME}/read", json={"up_to_id": third["id"]}, headers=team.patient_headers)
    assert patient_read.json() == {"marked_read": 1, "unread_messages": 0}
    repeat = client.post(f"{ME}/read", json={"up_to_id": third["id"]}, headers=team.patient_headers)
    assert repeat.json() == {"marked_read": 0, "unread_messages": 0}


def test_up_to_id_must_be_a_message_of_this_conversation(client: TestClient, session: Session, team: Team) -> None:
    theirs = client.post(ME, json=new_message("other's"), headers=team.other_headers).json()["message"]
    before = counts(session)
    for up_to in (theirs["id"], 2**31 - 1):
        refused = client.post(f"{ME}/read", json={"up_to_id": up_to}, headers=team.patient_headers)
        assert_field_refused(refused, ["body", "up_to_id"])
    for bad in ({}, {"up_to_id": "1"}, {"up_to_id": 0}, {"up_to_id": 2**31}, {"up_to_id": 1, "extra": True}):
        refused = client.post(f"{ME}/read", json=bad, headers=team.patient_headers)
        assert refused.status_code == 422, bad
    assert counts(session) == before


def test_a_replay_is_a_no_op_and_another_body_is_409(client: TestClient, session: Session, team: Team) -> None:
    body = new_message("Can I swim?")
    created = client.post(ME, json=body, headers=team.patient_headers)
    assert created.status_code == 201
    before = counts(session)
    replay = client.post(ME, json=body, headers=team.patient_headers)
    assert replay.status_code == 200
    assert replay.json()["message"] == created.json()["message"]
    assert "not monitored for emergencies" in replay.json()["safety"]["statement"]
    assert counts(session) == before  # nothing stored, queued or audited again

    changed = client.post(ME, json={**body, "body": "Can I run?"}, headers=team.patient_headers)
    assert changed.status_code == 409
    assert changed.json()["code"] == "message_id_conflict"
    assert "not monitored for emergencies" in changed.json()["safety"]["statement"]
    # The same id from the other side of the conversation is another message: 409 too.
    clinician = client.post(clinician_path(team.patient), json=body, headers=team.clinician_headers)
    assert clinician.status_code == 409
    # Another patient may use the same id in their own conversation.
    assert client.post(ME, json=body, headers=team.other_headers).status_code == 201
    session.rollback()
    assert len(session.exec(select(Message).where(Message.patient_id == team.patient.id)).all()) == 1


def test_two_concurrent_sends_of_one_id_store_one_message(client: TestClient, session: Session, team: Team) -> None:
    body = new_message("sent twice by a flaky connection")
    senders = 8
    barrier = threading.Barrier(senders)

    def send(_: int) -> tuple[int, Any]:
        barrier.wait()
        response = client.post(ME, json=body, headers=team.patient_headers)
        return response.status_code, response.json()["message"]["id"]

    with ThreadPoolExecutor(max_workers=senders) as pool:
        results = list(pool.map(send, range(senders)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * (senders - 1) + [201]
    assert len({message_id for _, message_id in results}) == 1
    session.rollback()
    assert len(session.exec(select(Message)).all()) == 1
    # One notification per clinician of the care team, one audit event.
    assert len(session.exec(select(Notification).where(Notification.kind == NotificationKind.MESSAGE)).all()) == 2
    assert len(session.exec(select(AuditEvent).where(col(AuditEvent.resource).startswith("message/"))).all()) == 1


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"body": "   \n\t ", "client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"body": "", "client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"body": "x" * 4001, "client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"body": 12, "client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"body": "hello\u0000", "client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"client_id": str(uuid.uuid4())}, ["body", "body"]),
        ({"body": "hello", "client_id": "not-a-uuid"}, ["body", "client_id"]),
        ({"body": "hello", "client_id": 7}, ["body", "client_id"]),
        ({"body": "hello"}, ["body", "client_id"]),
        ({"body": "hello", "client_id": str(uuid.uuid4()), "urgent": True}, ["body", "urgent"]),
    ],
)
def test_bad_input_is_422_naming_the_field_and_nothing_is_written(
    client: TestClient, session: Session, team: Team, body: dict[str, Any], loc: list[str]
) -> None:
    before = counts(session)
    for path, headers in ((ME, team.patient_headers), (clinician_path(team.patient), team.clinician_headers)):
        assert_field_refused(client.post(path, json=body, headers=headers), loc)
    assert counts(session) == before


def test_4000_characters_of_any_text_are_stored_as_written(client: TestClient, team: Team) -> None:
    text = "  Ça va? 😊 " + "é" * (4000 - 11)
    assert len(text) == 4000
    sent = client.post(ME, json=new_message(text), headers=team.patient_headers)
    assert sent.status_code == 201, sent.text
    assert client.get(ME, headers=team.patient_headers).json()["items"][0]["body"] == text


def test_the_conversation_is_cursor_paginated(client: TestClient, team: Team) -> None:
    ids = [
        client.post(ME, json=new_message(f"message {n}"), headers=team.patient_headers).json()["message"]["id"]
        for n in range(7)
    ]
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = client.get(clinician_path(team.patient), params=params, headers=team.clinician_headers).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids[::-1]
    tampered = client.get(ME, params={"cursor": "eyJpZCI6IngifQ"}, headers=team.patient_headers)
    assert_field_refused(tampered, ["query", "cursor"])


def test_a_patient_nobody_follows_is_told_and_nothing_is_stored(
    client: TestClient, app: FastAPI, session: Session, team: Team
) -> None:
    alone = make_patient(session, app, name="Nobody's")
    before = counts(session)
    refused = client.post(ME, json=new_message(), headers=patient_auth(session, app, alone))
    assert refused.status_code == 409
    assert refused.json()["code"] == "no_care_team"
    assert "not monitored for emergencies" in refused.json()["safety"]["statement"]
    assert counts(session) == before


def test_the_push_carries_no_message_text_and_no_phi(
    client: TestClient, app: FastAPI, session: Session, team: Team
) -> None:
    now = app_now(app)
    for user_id, token in ((team.patient.user_id, "patient-phone"), (team.clinician.id, "physio-phone")):
        assert user_id is not None
        register_device(session, user_id, DevicePlatform.FCM, token, now)
    session.commit()
    secret = "my bladder feels odd since Tuesday"
    client.post(ME, json=new_message(secret), headers=team.patient_headers)
    client.post(
        clinician_path(team.patient),
        json=new_message("Please call 999 about the bladder"),
        headers=team.clinician_headers,
    )
    session.rollback()
    pushed = session.exec(select(Notification).join(Delivery, col(Delivery.notification_id) == Notification.id)).all()
    assert {n.kind for n in pushed} == {"message"}
    assert {n.user_id for n in pushed} == {team.patient.user_id, team.clinician.id}
    for notification in pushed:
        shown = f"{notification.title} {notification.body}".lower()
        assert "bladder" not in shown and "camille" not in shown and "sam" not in shown
    to_patient = next(n for n in pushed if n.user_id == team.patient.user_id)
    assert to_patient.body == "You have a new message from your physiotherapist."
    feed = client.get("/api/v1/me/notifications", headers=team.patient_headers).json()["items"]
    assert [n["kind"] for n in feed] == ["message"]


def test_other_patients_and_outside_clinicians_get_404(client: TestClient, session: Session, team: Team) -> None:
    message = client.post(ME, json=new_message(), headers=team.patient_headers).json()["message"]
    before = counts(session)
    path = clinician_path(team.patient)
    for headers in (team.outsider_headers,):
        assert client.get(path, headers=headers).status_code == 404
        assert client.post(path, json=new_message(), headers=headers).status_code == 404
        assert client.post(f"{path}/read", json={"up_to_id": message["id"]}, headers=headers).status_code == 404
    # Patients are not clinicians: 403 on the care team's paths; their own list never shows another's.
    assert client.get(path, headers=team.other_headers).status_code == 403
    assert client.get(ME, headers=team.other_headers).json()["items"] == []
    assert (
        client.get(
            clinician_path(team.patient).replace(str(team.patient.id), "999999"), headers=team.clinician_headers
        ).status_code
        == 404
    )
    assert client.get(ME, headers=team.clinician_headers).status_code == 403
    assert counts(session) == before


def test_every_clinician_read_is_audited(client: TestClient, session: Session, team: Team) -> None:
    client.post(ME, json=new_message(), headers=team.patient_headers)
    client.get(clinician_path(team.patient), headers=team.clinician_headers)
    session.rollback()
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "read", AuditEvent.resource == "message")).all()
    assert len(reads) == 1
    assert reads[0].actor_id == team.clinician.id and reads[0].patient_id == team.patient.id
    assert reads[0].detail["count"] == 1
    sent = session.exec(select(AuditEvent).where(col(AuditEvent.resource).startswith("message/"))).all()
    assert [e.action for e in sent] == ["create"]
    assert "Camille" not in str([e.detail for e in sent])
