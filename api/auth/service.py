"""Accounts, login and refresh-token rotation (throttling: ``api/auth/throttle.py``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, update
from sqlmodel import Session, col, select

from api.audit import record_audit
from api.auth import mfa, throttle
from api.auth.mfa import Purpose
from api.auth.passwords import password_problem
from api.auth.schemas import RegisterRequest
from api.auth.throttle import normalise_email
from api.config import Settings
from api.errors import Problem, field_error
from api.i18n import DEFAULT_LOCALE, negotiate_locale
from api.models import (
    CareTeamMember,
    Clinic,
    Invite,
    Patient,
    RefreshToken,
    Role,
    User,
)
from api.reminders.service import create_default_preferences, reschedule_patient
from api.security import create_access_token, hash_password, hash_token, new_refresh_secret, verify_password
from api.standing.service import create as create_standing


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
    locale: str | None = None,
    accept_language: str | None = None,
) -> tuple[User, Patient]:
    """A new patient account, joined to a clinic and care team when invited.

    Its locale: ``locale`` if given, else the best fit of ``accept_language``, else the
    clinic's default (invited patients), else en-GB.
    """
    invite = _usable_invite(session, invite_code, now) if invite_code else None
    clinic = session.get(Clinic, invite.clinic_id) if invite is not None else None
    chosen = locale or negotiate_locale(accept_language) or (clinic.default_locale if clinic else DEFAULT_LOCALE)
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
        locale=chosen,
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    session.flush()
    assert patient.id is not None
    create_default_preferences(session, patient.id, now, settings.rules)
    create_standing(session, patient.id)  # the triage list's row, computed when first listed
    if invite is not None:
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=invite.clinician_id, created_at=now))
        invite.used_at = now
        invite.used_by_patient_id = patient.id
        session.add(invite)
    session.flush()
    reschedule_patient(session, patient.id, now, settings.rules)
    return user, patient


def register(
    session: Session, body: RegisterRequest, now: datetime, settings: Settings, accept_language: str | None = None
) -> tuple[User, Patient]:
    """The registration use case (API and demo replay): the account, then its audit row."""
    user, patient = register_patient(
        session,
        email=str(body.email),
        password=body.password,
        display_name=body.display_name,
        invite_code=body.invite_code,
        now=now,
        settings=settings,
        locale=body.locale,
        accept_language=accept_language,
    )
    record_audit(
        session,
        at=now,
        action="register",
        resource="user",
        actor=user,
        patient_id=patient.id,
        detail={"invited": body.invite_code is not None},
    )
    return user, patient


def _usable_invite(session: Session, code: str, now: datetime) -> Invite:
    invite = session.exec(select(Invite).where(Invite.code == normalise_invite_code(code)).with_for_update()).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        raise field_error(["body", "invite_code"], "invalid, used or expired invite code")
    return invite


def normalise_invite_code(code: str) -> str:
    return code.strip().upper().replace("-", "").replace(" ", "")


# --- login ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """``user`` when the e-mail and password match an active account; ``retry_after``
    (seconds) when this client must wait (``api/auth/throttle.py``); neither for a wrong login.
    ``second_step`` when the password alone does not log in (``api/auth/mfa.py``)."""

    user: User | None = None
    retry_after: int | None = None
    second_step: Purpose | None = None


def authenticate(
    session: Session,
    email: str,
    password: str,
    client_ip: str | None,
    settings: Settings,
    *,
    now: datetime,
    wall_now: datetime,
    via: str,
) -> LoginOutcome:
    """Check a login for the API and the dashboard alike: throttling, password, audit.

    ``wall_now`` runs the throttle; ``now`` (the application clock) dates the audit event
    like every other. A failure is counted and audited; the caller answers without
    raising, so those writes are committed. One answer for an unknown e-mail, a wrong
    password and a deactivated account, each after one password hash (OWASP: no
    enumeration by message or timing).
    """
    attempt = throttle.begin(session, email, client_ip, settings, wall_now)
    if attempt.retry_after is not None:
        return LoginOutcome(retry_after=attempt.retry_after)
    user = session.exec(select(User).where(User.email == normalise_email(email))).first()
    # The hash is checked even for an unknown e-mail, so timing does not tell which accounts exist.
    ok = verify_password(password, user.password_hash if user else None, settings)
    if user is None or not ok or not user.is_active:
        throttle.failed(session, attempt, settings, wall_now)
        # Not attributed to the account: whoever typed the password may not be its owner.
        detail = {"account_id": user.id if user is not None else None}
        record_audit(session, at=now, action="login_failed", resource=via, actor=None, detail=detail)
        return LoginOutcome()
    second_step = mfa.login_step(session, user, settings)
    if second_step is not None:
        # The failures stay until the code is right: otherwise someone who has the password
        # could re-enter it between wrong codes and never wait.
        return LoginOutcome(user=user, second_step=second_step)
    throttle.succeeded(session, attempt)
    return LoginOutcome(user=user)


# --- tokens ---------------------------------------------------------------------------


def issue_tokens(
    session: Session, user: User, now: datetime, settings: Settings, family_id: str | None = None
) -> tuple[str, str, int]:
    """A new access token and a refresh token (in a new family unless one is given).

    ``now`` is the wall clock, like every security lifetime.
    """
    assert user.id is not None
    access, lifetime = create_access_token(user.id, user.role, now, settings, token_version=user.token_version)
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
    ``now`` is the wall clock.
    """
    token = session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(secret))).first()
    if token is None:
        raise RefreshRefused("invalid_refresh_token", "unknown refresh token")
    reused = "refresh token already used; all sessions of this login revoked"
    if token.rotated_at is not None or token.revoked_at is not None:
        revoke_family(session, token.family_id, token.user_id, now)
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
        revoke_family(session, token.family_id, token.user_id, now)
        raise RefreshRefused("refresh_token_reused", reused, token.user_id)
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise RefreshRefused("invalid_refresh_token", "account no longer active")
    access, new_secret, lifetime = issue_tokens(session, user, now, settings, family_id=token.family_id)
    return user, access, new_secret, lifetime


def revoke_family(session: Session, family_id: str, user_id: int, now: datetime) -> None:
    """End a login: its refresh tokens, and at once every access token of the account.

    Access tokens carry no family, so the account's token version moves on: the
    account's other logins get a new access token from their refresh token at their
    next 401, while this login's holder (or thief) is out at the next request.
    """
    session.execute(
        update(RefreshToken)
        .where(col(RefreshToken.family_id) == family_id, col(RefreshToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    end_access_tokens(session, user_id)


def end_access_tokens(session: Session, user_id: int) -> None:
    """Every access token issued so far to this account is refused from the next request on."""
    session.execute(update(User).where(col(User.id) == user_id).values(token_version=col(User.token_version) + 1))


def logout(session: Session, secret: str, now: datetime) -> int | None:
    """Revoke the login (token family) of this refresh token; the account's id, if it was one."""
    token = session.exec(select(RefreshToken).where(RefreshToken.token_hash == hash_token(secret))).first()
    if token is None:
        return None
    revoke_family(session, token.family_id, token.user_id, now)
    return token.user_id
