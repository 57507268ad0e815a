"""Dashboard logins: cookie sessions stored server-side, with their CSRF token.

The cookie carries a random secret (HttpOnly, SameSite=Strict, Secure outside
development, path ``/dashboard``); the database keeps its SHA-256, the owner, a
synchronizer CSRF token, an absolute expiry (``BACKSTEP_DASHBOARD_SESSION_HOURS``) and
the last activity (idle logout after ``BACKSTEP_DASHBOARD_IDLE_MINUTES``). Logging out
revokes the row, so a copied cookie is useless afterwards; so does deactivating the
account or changing its role. Every time here is the wall clock (``Clock.wall_now``): the
test clock moves the rules, never who is logged in.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Response
from sqlalchemy import update
from sqlmodel import Session, col, select

from api.config import Environment, Settings
from api.models import DashboardSession, Role, User
from api.security import hash_token, new_refresh_secret

COOKIE = "backstep_session"
LOGIN_CSRF_COOKIE = "backstep_login_csrf"
MFA_COOKIE = "backstep_mfa"  # the login's MFA token between the password and the code
COOKIE_PATH = "/dashboard"


@dataclass(frozen=True, slots=True)
class LoggedIn:
    row: DashboardSession
    user: User

    @property
    def csrf_token(self) -> str:
        return self.row.csrf_token


def secure_cookies(settings: Settings) -> bool:
    return settings.environment is not Environment.DEVELOPMENT


def set_cookie(response: Response, name: str, value: str, settings: Settings, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=secure_cookies(settings),
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, name: str, settings: Settings) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, secure=secure_cookies(settings), httponly=True, samesite="strict")


def start_session(session: Session, user: User, now: datetime, settings: Settings) -> tuple[str, DashboardSession]:
    """A new login for ``user``: the cookie secret and the stored row."""
    assert user.id is not None
    secret = new_refresh_secret()
    row = DashboardSession(
        user_id=user.id,
        token_hash=hash_token(secret),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.dashboard_session_hours),
    )
    session.add(row)
    session.flush()
    return secret, row


def current_login(session: Session, secret: str | None, now: datetime, settings: Settings) -> LoggedIn | None:
    """The live session of an active clinician or admin for this cookie, its activity time refreshed."""
    if not secret:
        return None
    found = session.exec(
        select(DashboardSession, User)
        .join(User, col(User.id) == DashboardSession.user_id)
        .where(DashboardSession.token_hash == hash_token(secret))
    ).first()
    if found is None:
        return None
    row, user = found
    idle = timedelta(minutes=settings.dashboard_idle_minutes)
    if row.revoked_at is not None or row.expires_at <= now or row.last_seen_at + idle <= now:
        return None
    # Clinicians work their patients; admins only the unassigned-patients queue (api/dashboard/queue.py).
    if not user.is_active or user.role not in (Role.CLINICIAN, Role.ADMIN):
        return None
    row.last_seen_at = now
    session.add(row)
    return LoggedIn(row, user)


def end_session(session: Session, row: DashboardSession, now: datetime) -> None:
    session.execute(
        update(DashboardSession)
        .where(col(DashboardSession.id) == row.id, col(DashboardSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of a CSRF token; a missing one never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
