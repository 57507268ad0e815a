"""Dashboard login and logout (the dependencies every page uses: ``api.dashboard.access``).

Login reuses the API's throttling (per account and client IP, and per client IP:
``api/auth/throttle.py``) and password check, and admits clinicians (their patients) and
admins (the unassigned-patients queue only; every clinician page sends them there). Sessions
run on the wall clock. Every POST carries a CSRF token: the session's synchronizer token, or
before login a random token in its own short-lived cookie that the form must echo.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.audit import record_audit
from api.auth import service as auth_service
from api.dashboard.access import (
    HOME,
    LOGIN,
    AnyCheckedLogin,
    home_of,
)
from api.dashboard.pages import render
from api.dashboard.sessions import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    clear_cookie,
    current_login,
    end_session,
    set_cookie,
    start_session,
    tokens_match,
)
from api.deps import ClientIpDep, NowDep, SessionDep, SettingsDep, WallNowDep
from api.models import Role

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _login_page(settings: SettingsDep, *, error: str | None = None, status: int = 200, email: str = "") -> Response:
    token = secrets.token_urlsafe(32)
    response = render("login.html", status, error=error, csrf_token=token, email=email)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, settings, max_age=3600)
    return response


@router.get("")
def dashboard_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
def login_form(request: Request, session: SessionDep, settings: SettingsDep, wall_now: WallNowDep) -> Response:
    login = current_login(session, request.cookies.get(COOKIE), wall_now, settings)
    if login is not None:
        return RedirectResponse(home_of(login.user), status_code=303)
    return _login_page(settings)


@router.post("/login")
def login(
    request: Request,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(settings, error="This login form had expired. Please try again.", status=403, email=email)
    outcome = auth_service.authenticate(
        session, email, password, client_ip, settings, now=now, wall_now=wall_now, via="dashboard_session"
    )
    if outcome.retry_after is not None:
        minutes = max(1, round(outcome.retry_after / 60))
        message = f"Too many failed logins. Try again in about {minutes} minute{'s' if minutes > 1 else ''}."
        return _login_page(settings, error=message, status=429, email=email)
    user = outcome.user
    if user is None:
        return _login_page(settings, error="E-mail or password is wrong.", status=401, email=email)
    if user.role not in (Role.CLINICIAN, Role.ADMIN):
        message = "This dashboard is for physiotherapists and administrators. Patients use the Backstep app."
        return _login_page(settings, error=message, status=403, email=email)
    secret, row = start_session(session, user, wall_now, settings)
    record_audit(
        session, at=now, action="login", resource="dashboard_session", actor=user, detail={"session_id": row.id}
    )
    response = RedirectResponse(home_of(user), status_code=303)
    set_cookie(response, COOKIE, secret, settings)
    clear_cookie(response, LOGIN_CSRF_COOKIE, settings)
    return response


@router.post("/logout")
def logout(
    login: AnyCheckedLogin, session: SessionDep, settings: SettingsDep, now: NowDep, wall_now: WallNowDep
) -> Response:
    end_session(session, login.row, wall_now)
    record_audit(
        session,
        at=now,
        action="logout",
        resource="dashboard_session",
        actor=login.user,
        detail={"session_id": login.row.id},
    )
    response = RedirectResponse(LOGIN, status_code=303)
    clear_cookie(response, COOKIE, settings)
    return response
