"""Dashboard login: cookie session, CSRF, throttling, clinicians only, logout, expiry, headers."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.dashboard.headers import HEADERS
from api.models import AuditEvent, DashboardSession, User
from tests.dashboard.conftest import LOGIN, form_token, log_in
from tests.factories import make_admin, make_patient, patient_user
from tests.wallclock import WallClock


def test_a_clinician_logs_in_with_a_strict_http_only_secure_cookie(
    web: TestClient, physio: User, session: Session
) -> None:
    page = web.get(LOGIN)
    assert page.status_code == 200 and "Sign in" in page.text
    token = form_token(page.text)
    response = web.post(
        LOGIN, data={"email": physio.email.upper(), "password": "correct horse battery", "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/patients"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("backstep_session="))
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "secure", "samesite=strict", "path=/dashboard"} <= attributes
    assert web.get("/dashboard/patients").status_code == 200
    session.rollback()
    row = session.exec(select(DashboardSession)).one()
    secret = cookie.split(";")[0].split("=", 1)[1]
    assert row.user_id == physio.id and secret not in row.token_hash
    login_event = session.exec(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert login_event.actor_id == physio.id and login_event.resource == "dashboard_session"


def test_development_cookies_are_not_secure_elsewhere_they_are(app: FastAPI) -> None:
    from api.dashboard.sessions import secure_cookies
    from tests.conftest import test_settings

    assert secure_cookies(app.state.settings) is True  # environment "test"
    assert secure_cookies(test_settings("sqlite://", environment="development")) is False


def test_login_without_the_form_token_is_refused(web: TestClient, physio: User, session: Session) -> None:
    web.get(LOGIN)
    response = web.post(
        LOGIN, data={"email": physio.email, "password": "correct horse battery", "csrf_token": "forged"}
    )
    assert response.status_code == 403 and "expired" in response.text
    assert "backstep_session=" not in response.headers.get("set-cookie", "")
    session.rollback()
    assert session.exec(select(DashboardSession)).all() == []


def test_wrong_passwords_are_throttled_like_the_api(web: TestClient, physio: User) -> None:
    for _ in range(5):
        token = form_token(web.get(LOGIN).text)
        response = web.post(LOGIN, data={"email": physio.email, "password": "wrong password!", "csrf_token": token})
        assert response.status_code == 401 and "E-mail or password is wrong" in response.text
    token = form_token(web.get(LOGIN).text)
    locked = web.post(LOGIN, data={"email": physio.email, "password": "correct horse battery", "csrf_token": token})
    assert locked.status_code == 429 and "Too many failed logins" in locked.text


def test_patients_cannot_use_the_dashboard(web: TestClient, app: FastAPI, session: Session) -> None:
    user = patient_user(session, make_patient(session, app))
    token = form_token(web.get(LOGIN).text)
    response = web.post(LOGIN, data={"email": user.email, "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 403 and "Patients use the Backstep app" in response.text
    assert web.get("/dashboard/patients").status_code == 303


def test_admins_sign_in_to_the_unassigned_queue_and_nothing_else(
    web: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    token = form_token(web.get(LOGIN).text)
    response = web.post(LOGIN, data={"email": admin.email, "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard/unassigned"
    assert web.get("/dashboard/unassigned").status_code == 200
    for path in ("/dashboard/patients", "/dashboard/patients/1", "/dashboard"):
        moved = web.get(path, follow_redirects=True)
        assert moved.url.path == "/dashboard/unassigned", path


def test_pages_need_a_session(web: TestClient) -> None:
    for path in ("/dashboard/patients", "/dashboard/patients/1", "/dashboard/patients/1/export.csv"):
        response = web.get(path)
        assert response.status_code == 303 and response.headers["location"] == LOGIN
    response = web.post("/dashboard/patients/1/plan", data={"action": "pause", "reason": "x"})
    assert response.status_code == 303 and response.headers["location"] == LOGIN
    assert web.get("/dashboard").headers["location"] == "/dashboard/patients"


def test_logout_revokes_the_session_server_side(web: TestClient, physio: User) -> None:
    token = log_in(web, physio)
    stolen = web.cookies.get("backstep_session")
    assert web.post("/dashboard/logout", data={"csrf_token": "wrong"}).status_code == 403
    response = web.post("/dashboard/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["location"] == LOGIN
    assert web.get("/dashboard/patients").status_code == 303
    web.cookies.set("backstep_session", stolen or "", domain="testserver", path="/dashboard")
    assert web.get("/dashboard/patients").status_code == 303


def test_an_idle_or_old_session_ends(web: TestClient, physio: User, wall: WallClock) -> None:
    # Session lifetimes run on the wall clock (the test clock never logs anyone out).
    log_in(web, physio)
    wall.advance(timedelta(minutes=29))
    assert web.get("/dashboard/patients").status_code == 200
    wall.advance(timedelta(minutes=31))
    assert web.get("/dashboard/patients").status_code == 303
    log_in(web, physio)
    ended = None
    for minutes in range(25, 12 * 60, 25):  # active all day long: the absolute limit still applies
        wall.advance(timedelta(minutes=25))
        if web.get("/dashboard/patients").status_code != 200:
            ended = minutes
            break
    assert ended is not None and 10 * 60 <= ended <= 10 * 60 + 25  # BACKSTEP_DASHBOARD_SESSION_HOURS


def test_a_deactivated_clinician_is_logged_out(web: TestClient, physio: User, session: Session) -> None:
    log_in(web, physio)
    session.rollback()
    user = session.get(User, physio.id)
    assert user is not None
    user.is_active = False
    session.add(user)
    session.commit()
    assert web.get("/dashboard/patients").status_code == 303


def test_every_dashboard_response_carries_the_security_headers(web: TestClient, physio: User) -> None:
    responses = [
        web.get(LOGIN),
        web.get("/dashboard/static/app.css"),
        web.get("/dashboard/patients"),
        web.get("/dashboard/nope"),
    ]
    log_in(web, physio)
    responses += [
        web.get("/dashboard/patients"),
        web.get("/dashboard/patients/999"),
        web.get("/dashboard/static/chart.js"),
    ]
    for response in responses:
        for name, value in HEADERS.items():
            assert response.headers.get(name) == value, (response.url, name)
    csp = HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert web.get("/dashboard/patients/999").status_code == 404
