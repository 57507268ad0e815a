from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.config import Settings
from api.main import create_app
from tests.conftest import open_session, test_settings
from tests.factories import PASSWORD, auth, make_admin, make_clinic


def test_admin_creates_a_clinic_and_a_clinician_who_can_log_in(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    headers = auth(app, make_admin(session, app))
    clinic = client.post("/api/v1/admin/clinics", json={"name": "Northside"}, headers=headers)
    assert clinic.status_code == 201
    created = client.post(
        "/api/v1/admin/clinicians",
        headers=headers,
        json={
            "email": "Physio@Example.org",
            "password": PASSWORD,
            "display_name": "Dr P",
            "clinic_id": clinic.json()["id"],
        },
    )
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "email": "physio@example.org",
        "role": "clinician",
        "display_name": "Dr P",
        "clinic_id": clinic.json()["id"],
    }
    login = client.post("/api/v1/auth/login", json={"email": "physio@example.org", "password": PASSWORD})
    assert login.status_code == 200


def test_a_clinician_needs_an_existing_clinic(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_admin(session, app))
    response = client.post(
        "/api/v1/admin/clinicians",
        headers=headers,
        json={"email": "p@example.org", "password": PASSWORD, "display_name": "P", "clinic_id": 999},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "clinic_id"]


def test_audit_lists_writes_newest_first_with_filters_and_cursor(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    headers = auth(app, admin)
    for name in ("A", "B", "C"):
        client.post("/api/v1/admin/clinics", json={"name": name}, headers=headers)
    first = client.get("/api/v1/admin/audit", params={"actor_id": admin.id, "limit": 2}, headers=headers).json()
    assert [e["resource"] for e in first["items"]] == ["clinic/3", "clinic/2"]
    assert all(e["request_id"] for e in first["items"])
    second = client.get(
        "/api/v1/admin/audit",
        params={"actor_id": admin.id, "limit": 2, "cursor": first["next_cursor"]},
        headers=headers,
    ).json()
    assert [e["resource"] for e in second["items"]] == ["clinic/1"]
    assert second["next_cursor"] is None
    bad = client.get("/api/v1/admin/audit", params={"cursor": "%%%"}, headers=headers)
    assert bad.status_code == 422


def test_the_test_clock_moves_the_application_clock(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_admin(session, app))
    target = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)
    response = client.put("/api/v1/admin/test-clock", json={"now": "2027-03-28T00:30:00Z"}, headers=headers)
    assert response.status_code == 200
    moved = app.state.clock.now()
    assert target <= moved < target.replace(minute=31)
    headers = auth(app, make_admin(session, app))  # tokens are dated by the application clock too
    assert (
        client.put("/api/v1/admin/test-clock", json={"now": "2027-03-28T00:30:00"}, headers=headers).status_code == 422
    )  # no offset


def test_other_processes_see_the_test_clock(
    client: TestClient, app: FastAPI, session: Session, settings: Settings
) -> None:
    headers = auth(app, make_admin(session, app))
    client.put("/api/v1/admin/test-clock", json={"now": "2030-01-01T12:00:00+01:00"}, headers=headers)
    other = create_app(settings)  # a second process: same database, its own clock object
    assert other.state.clock.now().year == 2030
    other.state.engine.dispose()


def test_the_test_clock_is_404_where_disabled(database_url: str) -> None:
    app = create_app(test_settings(database_url, allow_test_clock=False))
    with TestClient(app) as client, open_session(app.state.engine) as session:
        make_clinic(session, app)
        headers = auth(app, make_admin(session, app))
        response = client.put("/api/v1/admin/test-clock", json={"now": "2030-01-01T00:00:00Z"}, headers=headers)
    assert response.status_code == 404
    assert response.json()["code"] == "test_clock_disabled"
