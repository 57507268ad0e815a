"""The dashboard's second step: a code page after the password (CSRF, the same throttle), and
for physiotherapists who must use MFA, an enrolment page with the QR code."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlmodel import Session, col, select

from api.dashboard.sessions import COOKIE, MFA_COOKIE
from api.main import create_app
from api.models import AuditEvent, DashboardSession, User
from tests.api.mfa_helpers import Enrolled, enrol, wrong_code
from tests.conftest import test_settings
from tests.dashboard.conftest import LOGIN, form_token
from tests.factories import PASSWORD, make_clinician
from tests.wallclock import WallClock

CODE = "/dashboard/login/code"
ENROL = "/dashboard/login/enrol"
HOME = "/dashboard/patients"


def browser(app: object) -> TestClient:
    """A second browser on the same app; no context manager, whose lifespan would dispose the
    engine the first client still uses."""
    return TestClient(app, base_url="https://testserver", follow_redirects=False)  # type: ignore[arg-type]


def password(web: TestClient, user: User) -> Response:
    token = form_token(web.get(LOGIN).text)
    return web.post(LOGIN, data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def submit_code(web: TestClient, code: str) -> Response:
    token = form_token(web.get(CODE).text)
    return web.post(CODE, data={"code": code, "csrf_token": token})


def sessions(session: Session) -> int:
    session.rollback()
    return len(session.exec(select(DashboardSession)).all())


@pytest.fixture
def enrolled(web: TestClient, app: FastAPI, physio: User, wall: WallClock) -> Enrolled:
    # Through `web`: a second client context would run a second lifespan on the same engine.
    done = enrol(web, app, physio, wall.now())
    wall.advance(timedelta(seconds=30))
    return done


def test_the_password_leads_to_the_code_page_and_only_the_code_to_a_session(
    web: TestClient, physio: User, enrolled: Enrolled, wall: WallClock, session: Session
) -> None:
    first = password(web, physio)
    assert first.status_code == 303 and first.headers["location"] == CODE
    assert MFA_COOKIE in web.cookies and COOKIE not in web.cookies
    assert sessions(session) == 0
    # Without the code the dashboard is closed.
    assert web.get(HOME).headers["location"] == LOGIN
    page = web.get(CODE)
    assert page.status_code == 200 and "Authentication code" in page.text
    done = submit_code(web, enrolled.code(wall.now()))
    assert done.status_code == 303 and done.headers["location"] == HOME
    assert COOKIE in web.cookies and MFA_COOKIE not in web.cookies
    assert web.get(HOME).status_code == 200
    assert sessions(session) == 1
    login = session.exec(select(AuditEvent).where(AuditEvent.action == "login")).one()
    assert login.resource == "dashboard_session" and login.detail["mfa"] == "totp"


def test_the_code_form_needs_its_csrf_token(
    web: TestClient, physio: User, enrolled: Enrolled, wall: WallClock, session: Session
) -> None:
    password(web, physio)
    web.get(CODE)
    refused = web.post(CODE, data={"code": enrolled.code(wall.now()), "csrf_token": "forged"})
    assert refused.status_code == 403 and sessions(session) == 0


def test_wrong_codes_are_throttled_and_a_replayed_code_refused(
    web: TestClient, physio: User, enrolled: Enrolled, wall: WallClock, session: Session
) -> None:
    password(web, physio)
    wrong = enrolled.wrong_code(wall.now())
    assert [submit_code(web, wrong).status_code for _ in range(6)] == [401] * 5 + [429]
    assert "Too many failed attempts" in submit_code(web, enrolled.code(wall.now())).text
    wall.advance(timedelta(minutes=2))
    code = enrolled.code(wall.now())
    assert submit_code(web, code).status_code == 303
    # The same code on another browser, in the same window: refused.
    other = browser(web.app)
    assert password(other, physio).status_code == 303
    assert submit_code(other, code).status_code == 401
    assert sessions(session) == 1


def test_a_recovery_code_signs_in_once(
    web: TestClient, physio: User, enrolled: Enrolled, session: Session, app: FastAPI
) -> None:
    password(web, physio)
    assert submit_code(web, enrolled.recovery_codes[0]).status_code == 303
    other = browser(app)
    password(other, physio)
    assert submit_code(other, enrolled.recovery_codes[0]).status_code == 401


def test_the_code_page_without_a_password_step_goes_back_to_sign_in(web: TestClient, physio: User) -> None:
    assert web.get(CODE).headers["location"] == LOGIN
    assert web.get(ENROL).headers["location"] == LOGIN
    web.cookies.set(MFA_COOKIE, "forged", domain="testserver.local", path="/dashboard")
    assert web.post(CODE, data={"code": "123456", "csrf_token": "x"}).headers["location"] == LOGIN


# --- required: enrolment at sign-in -------------------------------------------------------


@pytest.fixture
def required_web(database_url: str) -> Iterator[TestClient]:
    app = create_app(test_settings(database_url, mfa_required_for_staff=True))
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def test_a_physiotherapist_who_must_use_mfa_enrols_at_sign_in(
    required_web: TestClient, session: Session, wall: WallClock
) -> None:
    app = required_web.app
    assert isinstance(app, FastAPI)
    physio = make_clinician(session, app)
    first = password(required_web, physio)
    assert first.headers["location"] == ENROL
    page = required_web.get(ENROL)
    assert page.status_code == 200 and "<svg" in page.text and "<path" in page.text
    shown = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text)
    assert shown is not None
    secret = "".join(shown.group(1).split())
    # Reloading shows the same secret, not a new one.
    assert secret in "".join(required_web.get(ENROL).text.split())
    token = form_token(required_web.get(ENROL).text)
    wrong = required_web.post(ENROL, data={"code": wrong_code(secret, wall.now()), "csrf_token": token})
    assert wrong.status_code == 401 and "<svg" in wrong.text
    token = form_token(wrong.text)
    done = required_web.post(ENROL, data={"code": pyotp.TOTP(secret).at(wall.now()), "csrf_token": token})
    assert done.status_code == 200 and "Your recovery codes" in done.text
    assert len(re.findall(r"<li><code>[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}</code></li>", done.text)) == 10
    assert required_web.get(HOME).status_code == 200
    session.rollback()
    assert [row.action for row in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()][-5:] == [
        "login_password_verified",
        "mfa_enrol",
        "mfa_failed",
        "mfa_confirm",
        "login",
    ]
    # Next time: the code page, not the enrolment.
    required_web.post("/dashboard/logout", data={"csrf_token": form_token(required_web.get(HOME).text)})
    assert password(required_web, physio).headers["location"] == CODE
