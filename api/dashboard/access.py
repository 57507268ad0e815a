"""What every dashboard page depends on: the login, the CSRF check, the patient in care, the home pages.

Kept out of the router modules so pages import them from here, never from another router.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Request

from api.dashboard.sessions import (
    COOKIE,
    LoggedIn,
    current_login,
    tokens_match,
)
from api.deps import RowIdPath, SessionDep, SettingsDep, WallNowDep, patient_in_care
from api.models import Patient, Role, User

HOME = "/dashboard/patients"
ADMIN_HOME = "/dashboard/unassigned"
LOGIN = "/dashboard/login"


def home_of(user: User) -> str:
    return ADMIN_HOME if user.role == Role.ADMIN else HOME


class LoginRequired(Exception):
    """No live dashboard session: the handler sends the browser to the login page."""


class CsrfRejected(Exception):
    """A POST without the session's CSRF token."""


class PageNotFound(Exception):
    """Unknown, or not in the caller's care team: the same page either way."""


class AdminElsewhere(Exception):
    """An admin on a clinician's page: the handler sends them to the unassigned-patients queue."""


def get_any_login(request: Request, session: SessionDep, settings: SettingsDep, wall_now: WallNowDep) -> LoggedIn:
    login = current_login(session, request.cookies.get(COOKIE), wall_now, settings)
    if login is None:
        raise LoginRequired
    return login


AnyLogin = Annotated[LoggedIn, Depends(get_any_login)]


def get_login(login: AnyLogin) -> LoggedIn:
    """A clinician's login: the patients pages and their actions."""
    if login.user.role != Role.CLINICIAN:
        raise AdminElsewhere
    return login


Login = Annotated[LoggedIn, Depends(get_login)]


def get_admin_login(login: AnyLogin) -> LoggedIn:
    """An admin's login: a clinician asking for an admin page gets the not-found page."""
    if login.user.role != Role.ADMIN:
        raise PageNotFound
    return login


AdminLogin = Annotated[LoggedIn, Depends(get_admin_login)]


def get_patient(login: Login, session: SessionDep, patient_id: RowIdPath) -> Patient:
    assert login.user.id is not None
    patient = patient_in_care(session, login.user.id, patient_id)
    if patient is None:
        raise PageNotFound
    return patient


DashboardPatient = Annotated[Patient, Depends(get_patient)]


def check_csrf(login: Login, csrf_token: Annotated[str, Form(max_length=100)] = "") -> LoggedIn:
    if not tokens_match(login.csrf_token, csrf_token):
        raise CsrfRejected
    return login


CheckedLogin = Annotated[LoggedIn, Depends(check_csrf)]


def check_any_csrf(login: AnyLogin, csrf_token: Annotated[str, Form(max_length=100)] = "") -> LoggedIn:
    if not tokens_match(login.csrf_token, csrf_token):
        raise CsrfRejected
    return login


AnyCheckedLogin = Annotated[LoggedIn, Depends(check_any_csrf)]


def check_admin_csrf(login: AdminLogin, csrf_token: Annotated[str, Form(max_length=100)] = "") -> LoggedIn:
    if not tokens_match(login.csrf_token, csrf_token):
        raise CsrfRejected
    return login


CheckedAdminLogin = Annotated[LoggedIn, Depends(check_admin_csrf)]
