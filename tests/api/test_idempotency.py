"""Idempotency-Key: a retried POST replays the first response instead of acting twice."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.models import Clinic, Invite
from tests.factories import auth, make_admin, make_clinician


def count(session: Session, model: type) -> int:
    session.rollback()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_retried_post_with_the_same_key_replays_the_response(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    headers = {**auth(app, make_admin(session, app)), "Idempotency-Key": "retry-1"}
    first = client.post("/api/v1/admin/clinics", json={"name": "North"}, headers=headers)
    second = client.post("/api/v1/admin/clinics", json={"name": "North"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert count(session, Clinic) == 1


def test_the_same_key_with_another_body_is_refused(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = {**auth(app, make_admin(session, app)), "Idempotency-Key": "retry-2"}
    client.post("/api/v1/admin/clinics", json={"name": "North"}, headers=headers)
    other = client.post("/api/v1/admin/clinics", json={"name": "South"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert count(session, Clinic) == 1


def test_keys_are_per_user_and_optional(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    colleague = make_clinician(session, app)
    key = {"Idempotency-Key": "invite-1"}
    mine = client.post("/api/v1/clinician/invites", headers={**auth(app, clinician), **key})
    theirs = client.post("/api/v1/clinician/invites", headers={**auth(app, colleague), **key})
    assert mine.json()["code"] != theirs.json()["code"]
    client.post("/api/v1/clinician/invites", headers={**auth(app, clinician), **key})
    client.post("/api/v1/clinician/invites", headers=auth(app, clinician))  # no key: always acts
    assert count(session, Invite) == 3


def test_a_failed_request_does_not_burn_its_key(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = {**auth(app, make_admin(session, app)), "Idempotency-Key": "retry-3"}
    assert client.post("/api/v1/admin/clinics", json={"name": ""}, headers=headers).status_code == 422
    assert client.post("/api/v1/admin/clinics", json={"name": "Fixed"}, headers=headers).status_code == 201


def test_a_malformed_key_is_a_422_naming_the_header(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = {**auth(app, make_admin(session, app)), "Idempotency-Key": "has spaces"}
    response = client.post("/api/v1/admin/clinics", json={"name": "North"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "idempotency-key"]
