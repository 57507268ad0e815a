"""Access tokens die with their login, at no extra query; security lifetimes run on the
wall clock, so moving the test clock logs nobody out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from api.models import User
from tests.dashboard.conftest import log_in
from tests.factories import PASSWORD, make_admin, make_clinician, make_patient, patient_user
from tests.wallclock import WallClock

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"


def login(client: TestClient, email: str) -> dict[str, Any]:
    response = client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def patient_email(session: Session, app: FastAPI) -> str:
    return patient_user(session, make_patient(session, app)).email


def test_logout_ends_the_access_token_at_the_next_request(client: TestClient, session: Session, app: FastAPI) -> None:
    tokens = login(client, patient_email(session, app))
    assert client.get(ME, headers=bearer(tokens)).status_code == 200
    assert client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    refused = client.get(ME, headers=bearer(tokens))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_family_ends_every_access_token_and_other_logins_refresh(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    email = patient_email(session, app)
    phone, tablet = login(client, email), login(client, email)
    rotated = client.post(REFRESH, json={"refresh_token": phone["refresh_token"]}).json()
    # The old refresh token comes back: stolen. The family is revoked...
    assert client.post(REFRESH, json={"refresh_token": phone["refresh_token"]}).status_code == 401
    # ...and the access tokens issued so far die now, not in up to 15 minutes.
    for tokens in (phone, rotated, tablet):
        assert client.get(ME, headers=bearer(tokens)).status_code == 401
    # The tablet's login was not revoked: its refresh token brings a working access token.
    renewed = client.post(REFRESH, json={"refresh_token": tablet["refresh_token"]})
    assert renewed.status_code == 200
    assert client.get(ME, headers=bearer(renewed.json())).status_code == 200
    assert client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}).status_code == 401


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs meanwhile, except the test clock's own reads."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "test_clock" not in statement:
            seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_revocation_check_costs_no_extra_statement(
    client: TestClient, session: Session, app: FastAPI, engine: Engine
) -> None:
    tokens = login(client, patient_email(session, app))
    with statements(engine) as live:
        # A patient path that reads no other account (GET /me also names the care team).
        assert client.get(f"{ME}/pain-logs", headers=bearer(tokens)).status_code == 200
    # One read of the account row settles who is calling and whether the token still counts.
    user_reads = [s for s in live if s.startswith("SELECT") and "FROM app_user" in s]
    assert len(user_reads) == 1 and "token_version" in user_reads[0]
    assert not [s for s in live if "refresh_token" in s or "dashboard_session" in s]

    client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]})
    with statements(engine) as dead:
        assert client.get(ME, headers=bearer(tokens)).status_code == 401
    queries = [s for s in dead if s.split()[0] not in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert len(queries) == 1 and queries[0] == user_reads[0]


def move_test_clock(client: TestClient, app: FastAPI, headers: dict[str, str], days: int) -> None:
    """``PUT /admin/test-clock`` to ``days`` from the application's now."""
    target = app.state.clock.now() + timedelta(days=days)
    moved = client.put("/api/v1/admin/test-clock", json={"now": target.isoformat()}, headers=headers)
    assert moved.status_code == 200, moved.text


def test_moving_the_test_clock_logs_nobody_out(client: TestClient, session: Session, app: FastAPI) -> None:
    admin = make_admin(session, app)
    physio = make_clinician(session, app)
    admin_tokens = login(client, admin.email)
    patient_tokens = login(client, patient_email(session, app))
    web = TestClient(app, base_url="https://testserver", follow_redirects=False)
    log_in(web, physio)
    for days in (30, -30, -30):  # +30 days, back to now, then 30 days before now
        move_test_clock(client, app, bearer(admin_tokens), days)
        assert client.get(ME, headers=bearer(admin_tokens)).status_code == 200  # the admin's own token
        assert client.get(ME, headers=bearer(patient_tokens)).status_code == 200
        assert web.get("/dashboard/patients").status_code == 200
        renewed = client.post(REFRESH, json={"refresh_token": patient_tokens["refresh_token"]})
        assert renewed.status_code == 200, days
        patient_tokens = renewed.json()
    # A logout still takes effect at once.
    assert client.post(LOGOUT, json={"refresh_token": patient_tokens["refresh_token"]}).status_code == 204
    assert client.get(ME, headers=bearer(patient_tokens)).status_code == 401


def test_tokens_and_sessions_still_expire_on_the_wall_clock(
    client: TestClient, session: Session, app: FastAPI, wall: WallClock
) -> None:
    physio = make_clinician(session, app)
    tokens = login(client, patient_email(session, app))
    web = TestClient(app, base_url="https://testserver", follow_redirects=False)
    log_in(web, physio)
    wall.advance(timedelta(minutes=14))
    assert client.get(ME, headers=bearer(tokens)).status_code == 200
    wall.advance(timedelta(minutes=2))
    assert client.get(ME, headers=bearer(tokens)).status_code == 401  # 15-minute access token
    assert web.get("/dashboard/patients").status_code == 200  # active 16 minutes ago: not idle yet
    wall.advance(timedelta(minutes=31))
    assert web.get("/dashboard/patients").status_code == 303  # idle for 31 minutes
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 200


def test_a_token_without_a_version_is_refused(client: TestClient, session: Session, app: FastAPI) -> None:
    import jwt

    user = session.get(User, patient_user(session, make_patient(session, app)).id)
    assert user is not None
    settings = app.state.settings
    now = app.state.clock.wall_now()
    claims = {
        "sub": str(user.id),
        "role": user.role,
        "iss": "backstep",
        "aud": "backstep-api",
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(now.timestamp()) + 600,
    }
    for extra in ({}, {"ver": "0"}, {"ver": True}, {"ver": user.token_version + 1}):
        token = jwt.encode({**claims, **extra}, settings.jwt_secret, algorithm="HS256")
        assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401, extra
    token = jwt.encode({**claims, "ver": user.token_version}, settings.jwt_secret, algorithm="HS256")
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 200
