from __future__ import annotations

from datetime import timedelta

import jwt
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api.models import AuditEvent, CareTeamMember, Invite, Patient, RefreshToken, User
from tests.factories import PASSWORD, app_now, auth, make_clinician, make_patient, patient_user
from tests.wallclock import WallClock

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def register(client: TestClient, email: str = "Pat@Example.org", **extra: object) -> dict[str, object]:
    response = client.post(REGISTER, json={"email": email, "password": PASSWORD, "display_name": "Pat", **extra})
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def login(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, object]:
    response = client.post(LOGIN, json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def count(session: Session, model: type) -> int:
    session.rollback()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_register_creates_a_patient_with_a_lower_cased_email(client: TestClient, session: Session) -> None:
    body = register(client)
    assert body["email"] == "pat@example.org"
    assert body["role"] == "patient"
    user = session.get(User, body["id"])
    assert user is not None and user.password_hash.startswith("$argon2id$")
    assert session.exec(select(Patient).where(Patient.user_id == user.id)).one().timezone == "Europe/London"


def test_register_twice_with_the_same_email_is_a_conflict(client: TestClient, session: Session) -> None:
    register(client)
    response = client.post(REGISTER, json={"email": "PAT@example.org", "password": PASSWORD, "display_name": "x"})
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert count(session, User) == 1


def test_invite_code_joins_the_clinicians_care_team_once(client: TestClient, session: Session, app: FastAPI) -> None:
    clinician = make_clinician(session, app)
    invite = client.post("/api/v1/clinician/invites", headers=auth(app, clinician))
    assert invite.status_code == 201
    code = invite.json()["code"]
    body = register(client, invite_code=code.lower())
    patient = session.exec(select(Patient).where(Patient.user_id == body["id"])).one()
    team = session.exec(select(CareTeamMember).where(CareTeamMember.patient_id == patient.id)).all()
    assert [m.clinician_id for m in team] == [clinician.id]
    assert patient.clinic_id is not None

    reused = client.post(
        REGISTER, json={"email": "b@example.org", "password": PASSWORD, "display_name": "B", "invite_code": code}
    )
    assert reused.status_code == 422
    assert reused.json()["errors"][0]["loc"] == ["body", "invite_code"]
    assert count(session, User) == 2  # the clinician and the first patient only


def test_expired_invite_is_refused_and_nothing_is_written(client: TestClient, session: Session, app: FastAPI) -> None:
    clinician = make_clinician(session, app)
    code = client.post("/api/v1/clinician/invites", headers=auth(app, clinician)).json()["code"]
    invite = session.exec(select(Invite)).one()
    invite.expires_at = app_now(app) - timedelta(seconds=1)
    session.add(invite)
    session.commit()
    users_before = count(session, User)
    response = client.post(
        REGISTER, json={"email": "c@example.org", "password": PASSWORD, "display_name": "C", "invite_code": code}
    )
    assert response.status_code == 422
    assert count(session, User) == users_before


def test_login_returns_a_bearer_pair_that_opens_me(client: TestClient) -> None:
    register(client)
    tokens = login(client, "pat@example.org")
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["patient"]["timezone"] == "Europe/London"


def test_wrong_password_five_times_in_a_row_is_throttled(client: TestClient) -> None:
    register(client)
    for _ in range(5):
        response = client.post(LOGIN, json={"email": "pat@example.org", "password": "not the password"})
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    # Even the right password is refused while the account is locked.
    locked = client.post(LOGIN, json={"email": "pat@example.org", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_throttled"
    assert int(locked.headers["Retry-After"]) > 0


def test_throttle_lifts_after_the_wait(client: TestClient, wall: WallClock) -> None:
    register(client)
    for _ in range(5):
        client.post(LOGIN, json={"email": "pat@example.org", "password": "not the password"})
    wall.advance(timedelta(seconds=61))  # BACKSTEP_LOGIN_DELAY_SECONDS
    assert client.post(LOGIN, json={"email": "pat@example.org", "password": PASSWORD}).status_code == 200


def test_a_success_resets_the_account_failure_count(client: TestClient) -> None:
    register(client)
    for _ in range(4):
        client.post(LOGIN, json={"email": "pat@example.org", "password": "not the password"})
    login(client, "pat@example.org")
    for _ in range(4):
        assert client.post(LOGIN, json={"email": "pat@example.org", "password": "nope"}).status_code == 401
    login(client, "pat@example.org")


def test_one_ip_guessing_many_accounts_is_throttled(client: TestClient) -> None:
    for attempt in range(20):
        response = client.post(LOGIN, json={"email": f"guess{attempt}@example.org", "password": "x"})
        assert response.status_code == 401
    assert client.post(LOGIN, json={"email": "other@example.org", "password": "x"}).status_code == 429


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient, session: Session) -> None:
    register(client)
    first = login(client, "pat@example.org")
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]

    reuse = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["code"] == "refresh_token_reused"
    # The thief's reuse also kills the legitimate newest token of that family.
    assert client.post(REFRESH, json={"refresh_token": rotated["refresh_token"]}).status_code == 401
    session.rollback()
    assert all(t.revoked_at is not None for t in session.exec(select(RefreshToken)).all())


def test_other_logins_survive_a_family_revocation(client: TestClient) -> None:
    register(client)
    phone = login(client, "pat@example.org")
    tablet = login(client, "pat@example.org")
    client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})
    client.post(REFRESH, json={"refresh_token": phone["refresh_token"]})  # reuse: phone family revoked
    assert client.post(REFRESH, json={"refresh_token": tablet["refresh_token"]}).status_code == 200


def test_logout_revokes_the_refresh_token(client: TestClient) -> None:
    register(client)
    tokens = login(client, "pat@example.org")
    assert client.post(LOGOUT, json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    assert client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert client.post(LOGOUT, json={"refresh_token": "unknown"}).status_code == 204


def test_unknown_and_expired_refresh_tokens_are_refused(client: TestClient, wall: WallClock) -> None:
    register(client)
    assert client.post(REFRESH, json={"refresh_token": "nope"}).json()["code"] == "invalid_refresh_token"
    tokens = login(client, "pat@example.org")
    wall.advance(timedelta(days=31))
    expired = client.post(REFRESH, json={"refresh_token": tokens["refresh_token"]})
    assert expired.status_code == 401
    assert expired.json()["code"] == "refresh_token_expired"


def test_access_tokens_expire_on_the_wall_clock(
    client: TestClient, app: FastAPI, session: Session, wall: WallClock
) -> None:
    patient = make_patient(session, app)
    headers = auth(app, patient_user(session, patient))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    wall.advance(timedelta(minutes=16))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_forged_and_unsigned_tokens_are_refused(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    claims = {
        "sub": str(user.id),
        "role": "admin",
        "ver": 0,
        "iss": "backstep",
        "aud": "backstep-api",
        "iat": 0,
        "nbf": 0,
        "exp": 4102444800,
    }
    forged = jwt.encode(claims, "not-the-secret-not-the-secret-not-the-secret", algorithm="HS256")
    unsigned = jwt.encode(claims, "", algorithm="none")
    for token in (forged, unsigned, "garbage"):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_token_whose_role_no_longer_matches_is_refused(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app)
    user = patient_user(session, patient)
    headers = auth(app, user)
    user.role = "clinician"
    session.add(user)
    session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def audit_trail(session: Session) -> list[tuple[str, str | None, int | None, object]]:
    session.rollback()
    events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [(e.action, e.actor_role, e.actor_id, e.detail.get("account_id")) for e in events]


def test_the_life_of_a_login_is_audited(client: TestClient, session: Session) -> None:
    user_id = register(client)["id"]
    assert client.post(LOGIN, json={"email": "pat@example.org", "password": "wrong-password"}).status_code == 401
    assert client.post(LOGIN, json={"email": "nobody@example.org", "password": "wrong-password"}).status_code == 401
    first = login(client, "pat@example.org")
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    assert client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401  # reuse
    login_again = login(client, "pat@example.org")
    assert client.post(LOGOUT, json={"refresh_token": login_again["refresh_token"]}).status_code == 204
    assert second["refresh_token"]

    trail = [event for event in audit_trail(session) if event[0] != "register"]
    assert trail == [
        # A failed login is not the account holder's act: no actor, the account it aimed at.
        ("login_failed", "system", None, user_id),
        ("login_failed", "system", None, None),
        ("login", "patient", user_id, None),
        ("refresh", "patient", user_id, None),
        ("refresh_reused", "system", None, user_id),
        ("login", "patient", user_id, None),
        ("logout", "patient", user_id, None),
    ]
