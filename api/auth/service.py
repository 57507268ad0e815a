"""Accounts, login throttling and refresh-token rotation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, case, update
from sqlmodel import Session, col, select

from api.audit import record_audit
from api.auth.passwords import password_problem
from api.config import Settings
from api.errors import Problem, field_error
from api.models import (
    CareTeamMember,
    Invite,
    LoginThrottle,
    Patient,
    RefreshToken,
    Role,
    User,
)
from api.reminders.service import create_default_preferences, reschedule_patient
from api.security import create_access_token, hash_password, hash_token, new_refresh_secret, verify_password
from api.upsert import insert_for


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_taken(session: Session, email: str) -> bool:
    return session.exec(select(User.id).where(User.email == normalise_email(email))).first() is not None


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role,
    now: datetime,
    settings: Settings,
) -> User:
    # Every way of making an account comes here (API, admin, CLI): the policy holds for all.
    weak = password_problem(password)
    if weak is not None:
        raise field_error(["body", "password"], f"password {weak}")
    if email_taken(session, email):
        raise Problem(409, "email_taken", "an account with this e-mail already exists")
    user = User(
        email=normalise_email(email),
        password_hash=hash_password(password, settings),
        display_name=display_name,
        role=role,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def register_patient(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    invite_code: str | None,
    now: datetime,
    settings: Settings,
) -> tuple[User, Patient]:
    """A new patient account, joined to a clinic and care team when invited."""
    invite = _usable_invite(session, invite_code, now) if invite_code else None
    user = create_user(
        session,
        email=email,
        password=password,
        display_name=display_name,
        role=Role.PATIENT,
        now=now,
        settings=settings,
    )
    assert user.id is not None
    patient = Patient(
        user_id=user.id,
        clinic_id=invite.clinic_id if invite else None,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    assert patient.id is not None
    create_default_preferences(session, patient.id, now, settings.rules)
    if invite is not None:
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=invite.clinician_id, created_at=now))
        invite.used_at = now
        invite.used_by_patient_id = patient.id
        session.add(invite)
    session.flush()
    reschedule_patient(session, patient.id, now, settings.rules)
    return user, patient


def _usable_invite(session: Session, code: str, now: datetime) -> Invite:
    invite = session.exec(select(Invite).where(Invite.code == normalise_invite_code(code)).with_for_update()).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise field_error(["body", "invite_code"], "invalid, used or expired invite code")
    return invite


def normalise_invite_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


# --- throttling -------------------------------------------------------------------


def throttle_keys(email: str, client_ip: str | None) -> tuple[str, str]:
    return f"account:{normalise_email(email)}", f"ip:{client_ip or 'unknown'}"


def locked_for(session: Session, keys: tuple[str, ...], now: datetime) -> int | None:
    """Seconds until the earliest of these keys unlocks, if any is locked."""
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))).all()
    waits = [(r.locked_until - now).total_seconds() for r in rows if r.locked_until and r.locked_until > now]
    return int(max(waits)) + 1 if waits else None


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """``user`` when the e-mail and password match an active account; ``retry_after``
    (seconds) when the account or the client IP is locked; neither for a wrong login."""

    user: User | None = None
    retry_after: int | None = None


def authenticate(
    session: Session, email: str, password: str, client_ip: str | None, settings: Settings, now: datetime, *, via: str
) -> LoginOutcome:
    """Check a login for the API and the dashboard alike: throttling, password, audit.

    A failure is counted against the account and the client IP and audited; the caller
    answers without raising, so those writes are committed.
    """
    keys = throttle_keys(email, client_ip)
    wait = locked_for(session, keys, now)
    if wait is not None:
        return LoginOutcome(retry_after=wait)
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    # The hash is checked even for an unknown e-mail, so timing does not tell which accounts exist.
    ok = verify_password(password, user.password_hash if user else None, settings)
    if user is None or not ok or not user.is_active:
        _login_failed(session, keys, user, settings, now, via=via)
        return LoginOutcome()
    clear_failures(session, keys[0])
    return LoginOutcome(user=user)


def _login_failed(
    session: Session, keys: tuple[str, str], account: User | None, settings: Settings, now: datetime, *, via: str
) -> None:
    account_key, ip_key = keys
    lockout = timedelta(minutes=settings.login_lockout_minutes)
    record_failure(session, account_key, settings.login_max_failures, lockout, lockout, now)
    ip_window = timedelta(minutes=settings.login_ip_window_minutes)
    record_failure(session, ip_key, settings.login_ip_max_failures, ip_window, lockout, now)
    # Not attributed to the account: whoever typed the password may not be its owner.
    detail = {"account_id": account.id if account is not None else None}
    record_audit(session, at=now, action="login_failed", resource=via, actor=None, detail=detail)


def record_failure(
    session: Session, key: str, limit: int, window: timedelta, lockout: timedelta, now: datetime
) -> None:
    """Count a failed login for ``key``; lock it once ``limit`` failures fall in ``window``.

    An atomic upsert, so concurrent failures from several workers all count.
    """
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    window_start = now - window
    stmt = insert_for(session, table).values(key=key, failures=1, window_started_at=now, locked_until=None)
    expired = table.c.window_started_at < window_start
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((expired, 1), else_=table.c.failures + 1),
            "window_started_at": case((expired, now), else_=table.c.window_started_at),
        },
    )
    session.execute(stmt)
    row = session.get(LoginThrottle, key, populate_existing=True)
    if row is not None and row.failures >= limit:
        row.locked_until = now + lockout
        row.failures = 0
        row.window_started_at = now
        session.add(row)
    session.flush()


def clear_failures(session: Session, key: str) -> None:
    row = session.get(LoginThrottle, key)
    if row is not None:
        session.delete(row)
        session.flush()


# --- tokens ---------------------------------------------------------------------------


def issue_tokens(
    session: Session, user: User, now: datetime, settings: Settings, family_id: str | None = None
) -> tuple[str, str, int]:
    """A new access token and a refresh token (in a new family unless one is given)."""
    assert user.id is not None
    access, lifetime = create_access_token(user.id, user.role, now, settings)
    secret = new_refresh_secret()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or str(uuid.uuid4()),
            token_hash=hash_token(secret),
            issued_at=now,
            expires_at=now + timedelta(days=settings.refresh_token_days),
        )
    )
    session.flush()
    return access, secret, lifetime


class RefreshRefused(Exception):
    def __init__(self, code: str, detail: str, account_id: int | None = None) -> None:
        self.code, self.detail, self.account_id = code, detail, account_id
        super().__init__(detail)


def rotate_refresh_token(
    session: Session, secret: str, now: datetime, settings: Settings
) -> tuple[User, str, str, int]:
    """Exchange a refresh token for a new pair; reuse of a rotated token revokes its family.

    Raises ``RefreshRefused``; the caller must still commit so a revocation sticks.
    """
    token = session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(secret))).first()
    if token is None:
        raise RefreshRefused("invalid_refresh_token", "unknown refresh token")
    reused = "refresh token already used; all sessions of this login revoked"
    if token.rotated_at is not None or token.revoked_at is not None:
        revoke_family(session, token.family_id, now)
        raise RefreshRefused("refresh_token_reused", reused, token.user_id)
    if token.expires_at <= now:
        raise RefreshRefused("refresh_token_expired", "refresh token expired")
    # Compare-and-set: of two concurrent refreshes with one token, exactly one wins.
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(RefreshToken)
        .where(col(RefreshToken.id) == token.id, col(RefreshToken.rotated_at).is_(None))
        .values(rotated_at=now)
    )
    if won.rowcount != 1:
        revoke_family(session, token.family_id, now)
        raise RefreshRefused("refresh_token_reused", reused, token.user_id)
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise RefreshRefused("invalid_refresh_token", "account no longer active")
    access, new_secret, lifetime = issue_tokens(session, user, now, settings, family_id=token.family_id)
    return user, access, new_secret, lifetime


def revoke_family(session: Session, family_id: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def logout(session: Session, secret: str, now: datetime) -> int | None:
    """Revoke the login (token family) of this refresh token; the account's id, if it was one."""
    token = session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(secret))).first()
    if token is None:
        return None
    revoke_family(session, token.family_id, now)
    return token.user_id
