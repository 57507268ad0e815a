"""Dashboard login and logout (the dependencies every page uses: ``api.dashboard.access``).

Login reuses the API's throttling (per account and client IP, and per client IP:
``api/auth/throttle.py``) and password check, and admits clinicians (their patients) and
admins (the unassigned-patients queue only; every clinician page sends them there). Sessions
run on the wall clock. Every POST carries a CSRF token: the session's synchronizer token, or
before login a random token in its own short-lived cookie that the form must echo.

With a second factor (``api/auth/mfa.py``) the password leads to a code page (or, for staff
who must use MFA and have none, an enrolment page with the QR code), carried by the login's
MFA token in its own short-lived cookie; only a right code starts the session.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from api.audit import record_audit
from api.auth import mfa
from api.auth import service as auth_service
from api.auth.mfa import Purpose
from api.config import Settings
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
    MFA_COOKIE,
    clear_cookie,
    current_login,
    end_session,
    set_cookie,
    start_session,
    tokens_match,
)
from api.deps import ClientIpDep, NowDep, SessionDep, SettingsDep, WallNowDep
from api.models import Role, User

router = APIRouter(prefix="/dashboard", include_in_schema=False)

CODE = "/dashboard/login/code"
ENROL = "/dashboard/login/enrol"


def _with_form_token(name: str, settings: Settings, status: int = 200, **context: object) -> Response:
    """A page whose form must echo a fresh token, also set in its own short-lived cookie."""
    token = secrets.token_urlsafe(32)
    response = render(name, status, csrf_token=token, **context)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, settings, max_age=3600)
    return response


def _login_page(settings: Settings, *, error: str | None = None, status: int = 200, email: str = "") -> Response:
    return _with_form_token("login.html", settings, status, error=error, email=email)


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
    if outcome.second_step is not None:
        # The password alone opens no session: the MFA token waits in its own cookie.
        token, lifetime = mfa.create_mfa_token(user, outcome.second_step, wall_now, settings)
        detail = {"next": outcome.second_step.value}
        record_audit(
            session, at=now, action="login_password_verified", resource="dashboard_session", actor=user, detail=detail
        )
        response = RedirectResponse(CODE if outcome.second_step is Purpose.VERIFY else ENROL, status_code=303)
        set_cookie(response, MFA_COOKIE, token, settings, max_age=lifetime)
        return response
    return _logged_in(RedirectResponse(home_of(user), status_code=303), session, user, settings, now, wall_now)


def _logged_in(
    response: Response,
    session: Session,
    user: User,
    settings: Settings,
    now: datetime,
    wall_now: datetime,
    mfa_method: str | None = None,
) -> Response:
    """Start the dashboard session and put its cookie on ``response``."""
    secret, row = start_session(session, user, wall_now, settings)
    detail: dict[str, object] = {"session_id": row.id}
    if mfa_method is not None:
        detail["mfa"] = mfa_method
    record_audit(session, at=now, action="login", resource="dashboard_session", actor=user, detail=detail)
    set_cookie(response, COOKIE, secret, settings)
    clear_cookie(response, LOGIN_CSRF_COOKIE, settings)
    clear_cookie(response, MFA_COOKIE, settings)
    return response


# --- the second step (api/auth/mfa.py) ----------------------------------------------------


def _mfa_user(
    request: Request, session: Session, settings: Settings, wall_now: datetime, purpose: Purpose
) -> User | None:
    token = request.cookies.get(MFA_COOKIE)
    if not token:
        return None
    return mfa.mfa_token_user(session, token, purpose, wall_now, settings)


def _start_again(settings: Settings) -> Response:
    """The second step expired or was never started: back to the password."""
    response = RedirectResponse(LOGIN, status_code=303)
    clear_cookie(response, MFA_COOKIE, settings)
    return response


def _refusal(outcome: mfa.FactorOutcome) -> tuple[str, int]:
    if outcome.retry_after is not None:
        minutes = max(1, round(outcome.retry_after / 60))
        return f"Too many failed attempts. Try again in about {minutes} minute{'s' if minutes > 1 else ''}.", 429
    return "That code is wrong, already used or expired. Try the code the app shows now.", 401


def _split_code(typed: str) -> tuple[str | None, str | None]:
    """A 6-digit app code, or else a recovery code (one field takes both)."""
    compact = "".join(typed.split())
    if compact.isascii() and compact.isdigit() and len(compact) == 6:
        return compact, None
    return None, compact


@router.get("/login/code")
def code_form(request: Request, session: SessionDep, settings: SettingsDep, wall_now: WallNowDep) -> Response:
    if _mfa_user(request, session, settings, wall_now, Purpose.VERIFY) is None:
        return _start_again(settings)
    return _with_form_token("mfa_code.html", settings, error=None)


@router.post("/login/code")
def code_submit(
    request: Request,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
    code: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    user = _mfa_user(request, session, settings, wall_now, Purpose.VERIFY)
    if user is None:
        return _start_again(settings)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _with_form_token("mfa_code.html", settings, 403, error="This form had expired. Please try again.")
    totp_code, recovery_code = _split_code(code)
    outcome = mfa.check_second_factor(
        session,
        user,
        code=totp_code,
        recovery_code=recovery_code,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="dashboard_session",
    )
    if outcome.method is None:
        message, status = _refusal(outcome)
        return _with_form_token("mfa_code.html", settings, status, error=message)
    return _logged_in(
        RedirectResponse(home_of(user), status_code=303), session, user, settings, now, wall_now, outcome.method
    )


def _enrol_page(
    session: Session, user: User, settings: Settings, now: datetime, *, error: str | None = None, status: int = 200
) -> Response:
    enrolment = mfa.pending_enrolment(session, user, settings)
    if enrolment is None:
        enrolment = mfa.start_enrolment(session, user, settings, now)
        record_audit(session, at=now, action="mfa_enrol", resource="totp", actor=user)
    groups = " ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4))
    # The SVG is segno's output for a URI we built: markup we trust, not user text.
    qr_svg = Markup(enrolment.qr_svg)  # noqa: S704
    return _with_form_token("mfa_enrol.html", settings, status, error=error, qr_svg=qr_svg, secret_groups=groups)


@router.get("/login/enrol")
def enrol_form(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, wall_now: WallNowDep
) -> Response:
    user = _mfa_user(request, session, settings, wall_now, Purpose.ENROL)
    if user is None:
        return _start_again(settings)
    return _enrol_page(session, user, settings, now)


@router.post("/login/enrol")
def enrol_submit(
    request: Request,
    client_ip: ClientIpDep,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    wall_now: WallNowDep,
    code: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    user = _mfa_user(request, session, settings, wall_now, Purpose.ENROL)
    if user is None:
        return _start_again(settings)
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _enrol_page(session, user, settings, now, error="This form had expired. Please try again.", status=403)
    totp_code, _ = _split_code(code)
    outcome = mfa.check_second_factor(
        session,
        user,
        code=totp_code or "",
        recovery_code=None,
        client_ip=client_ip,
        settings=settings,
        now=now,
        wall_now=wall_now,
        via="dashboard_session",
        pending=True,
    )
    if outcome.method is None:
        message, status = _refusal(outcome)
        return _enrol_page(session, user, settings, now, error=message, status=status)
    codes = mfa.confirm_enrolment(session, user, now)
    record_audit(session, at=now, action="mfa_confirm", resource="totp", actor=user)
    page = render("mfa_recovery.html", 200, recovery_codes=codes)
    return _logged_in(page, session, user, settings, now, wall_now, "totp")


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
