"""TOTP second factor (RFC 6238 via pyotp), recovery codes, and the login's second step.

- **Secrets at rest**: a TOTP secret is a credential (whoever has it mints codes), so it is
  stored encrypted with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``) under a key
  derived by HKDF-SHA256 from ``BACKSTEP_MFA_SECRET_KEY`` (default: from
  ``BACKSTEP_JWT_SECRET``). Several comma-separated keys decrypt, the first encrypts, so a
  key can be rotated. The secret is never logged, audited or exported; it is shown once,
  at enrolment, to the account holder.
- **Codes**: 6 digits, 30-second steps, one step of clock drift either side. A code is
  accepted only for a step later than the last accepted one (``user_totp.last_used_step``,
  moved by compare-and-set), so an overheard code cannot be replayed in its window.
- **Recovery codes**: ten per enrolment, 80 random bits each, stored as SHA-256 (like the
  refresh tokens: high-entropy secrets need no slow hash), each usable once.
- **Throttling**: every code check (login, enrolment confirmation, disabling) goes through
  ``api/auth/throttle.py`` with the account's e-mail, so wrong codes spend the same
  per-(account, client) and per-client budgets as wrong passwords.
- **The login's second step** is carried by an *MFA token*: a short-lived
  (``BACKSTEP_MFA_TOKEN_MINUTES``, wall clock) JWT for another audience than access tokens,
  naming the account, its token version and its purpose (``verify`` a code, or ``enrol``
  when staff must use MFA but have none yet). It proves the password only; it opens no API.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, Literal

import jwt
import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import CursorResult, delete, func, or_, update
from sqlmodel import Session, col, select

from api.audit import record_audit
from api.auth import throttle
from api.config import Settings
from api.errors import field_error
from api.models import RecoveryCode, Role, User, UserTotp
from api.security import JWT_ALGORITHM, JWT_ISSUER, hash_token

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # a phone's clock a step (30 s) either side still works
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper
_RECOVERY_LENGTH = 16  # 16 symbols of 32: 80 bits
MFA_AUDIENCE = "backstep-mfa-login"
_MFA_CLAIMS = ["exp", "iat", "sub", "ver", "role", "purpose", "iss", "aud"]

STAFF_ROLES = frozenset({Role.CLINICIAN, Role.ADMIN})


class Purpose(StrEnum):
    VERIFY = "verify"  # the account has TOTP: the next step checks a code
    ENROL = "enrol"  # staff must use MFA and have none: the next step enrols


# --- secrets at rest ----------------------------------------------------------------


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    derived = []
    for material in keys:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"backstep totp secret v1")
        derived.append(Fernet(base64.urlsafe_b64encode(hkdf.derive(material.encode()))))
    return MultiFernet(derived)


def encrypt_secret(secret: str, settings: Settings) -> str:
    return _fernet(tuple(settings.mfa_secret_keys)).encrypt(secret.encode()).decode()


def decrypt_secret(stored: str, settings: Settings) -> str | None:
    """The secret, or None if no configured key opens it (a key was dropped too early)."""
    try:
        return _fernet(tuple(settings.mfa_secret_keys)).decrypt(stored.encode()).decode()
    except InvalidToken:
        return None


# --- state ---------------------------------------------------------------------------


def totp_row(session: Session, user_id: int) -> UserTotp | None:
    return session.get(UserTotp, user_id)


def has_totp(session: Session, user: User) -> bool:
    assert user.id is not None
    row = totp_row(session, user.id)
    return row is not None and row.confirmed_at is not None


def required_for(user: User, settings: Settings) -> bool:
    """Must this account use a second factor? Staff when the clinic says so; patients opt in."""
    return settings.staff_mfa_required and user.role in STAFF_ROLES


def login_step(session: Session, user: User, settings: Settings) -> Purpose | None:
    """What a correct password leads to: tokens (None), a code, or a required enrolment."""
    if has_totp(session, user):
        return Purpose.VERIFY
    if required_for(user, settings):
        return Purpose.ENROL
    return None


def recovery_codes_left(session: Session, user_id: int) -> int:
    count = session.exec(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, col(RecoveryCode.used_at).is_(None))
    ).one()
    return int(count)


# --- enrolment -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What an authenticator app needs, shown once to the account holder."""

    secret: str
    otpauth_uri: str
    qr_svg: str


def _enrolment(secret: str, user: User, settings: Settings) -> Enrolment:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=settings.mfa_issuer
    )
    # Rendered here, not by a script: the dashboard's CSP allows no inline script, and the
    # secret must not travel to a third-party QR service.
    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=5, border=2, dark="#000", light="#fff", title="TOTP enrolment QR code")
    return Enrolment(secret=secret, otpauth_uri=uri, qr_svg=svg)


class MfaConflict(Exception):
    def __init__(self, code: str, detail: str) -> None:
        self.code, self.detail = code, detail
        super().__init__(detail)


def start_enrolment(session: Session, user: User, settings: Settings, now: datetime) -> Enrolment:
    """A new pending secret for ``user`` (replacing an unconfirmed one); refused when active."""
    assert user.id is not None
    row = totp_row(session, user.id)
    if row is not None and row.confirmed_at is not None:
        raise MfaConflict("mfa_already_enrolled", "TOTP is already on for this account; turn it off first")
    secret = pyotp.random_base32(length=32)  # 160 bits, the RFC 4226 recommendation
    if row is None:
        row = UserTotp(user_id=user.id, secret_encrypted="", created_at=now)
    row.secret_encrypted = encrypt_secret(secret, settings)
    row.created_at, row.last_used_step = now, None
    session.add(row)
    session.flush()
    return _enrolment(secret, user, settings)


def pending_enrolment(session: Session, user: User, settings: Settings) -> Enrolment | None:
    """The unconfirmed enrolment already started, so a reloaded page shows the same QR code."""
    assert user.id is not None
    row = totp_row(session, user.id)
    if row is None or row.confirmed_at is not None:
        return None
    secret = decrypt_secret(row.secret_encrypted, settings)
    return _enrolment(secret, user, settings) if secret is not None else None


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4))


def normalise_recovery_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _recovery_hash(code: str) -> str:
    return hash_token("recovery:" + normalise_recovery_code(code))


def replace_recovery_codes(session: Session, user_id: int, now: datetime) -> list[str]:
    """Ten fresh one-time codes (the old ones stop working); returned once, stored hashed."""
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        session.add(RecoveryCode(user_id=user_id, code_hash=_recovery_hash(code), created_at=now))
    session.flush()
    return codes


def remove_totp(session: Session, user_id: int) -> None:
    session.execute(delete(RecoveryCode).where(col(RecoveryCode.user_id) == user_id))
    session.execute(delete(UserTotp).where(col(UserTotp.user_id) == user_id))


# --- checking a code ---------------------------------------------------------------------

CodeResult = Literal["ok", "wrong", "replayed", "not_enrolled"]


def _matching_step(secret: str, code: str, wall_now: datetime) -> int | None:
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(wall_now)
    match = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared (constant time each), so timing tells nothing either.
        if hmac.compare_digest(totp.generate_otp(step), code):
            match = step
    return match


def check_totp(
    session: Session, user_id: int, code: str, settings: Settings, wall_now: datetime, *, pending: bool = False
) -> CodeResult:
    """Check a code against the active secret (or, with ``pending``, the unconfirmed one),
    and consume its time step. Time steps run on the wall clock, like the phone's."""
    row = totp_row(session, user_id)
    if row is None or (row.confirmed_at is None) != pending:
        return "not_enrolled"
    secret = decrypt_secret(row.secret_encrypted, settings)
    if secret is None:
        return "wrong"
    step = _matching_step(secret, code, wall_now)
    if step is None:
        return "wrong"
    # Compare-and-set: of two requests with one code, exactly one wins; an earlier or equal
    # step is a replay (or an older code used after a newer one).
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(UserTotp)
        .where(
            col(UserTotp.user_id) == user_id,
            or_(col(UserTotp.last_used_step).is_(None), col(UserTotp.last_used_step) < step),
        )
        .values(last_used_step=step)
    )
    if won.rowcount != 1:
        return "replayed"
    session.refresh(row)
    return "ok"


def use_recovery_code(session: Session, user_id: int, code: str, now: datetime) -> bool:
    """Spend a recovery code (compare-and-set: twice in parallel, once only)."""
    if len(normalise_recovery_code(code)) != _RECOVERY_LENGTH:
        return False
    won: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(RecoveryCode)
        .where(
            col(RecoveryCode.user_id) == user_id,
            col(RecoveryCode.code_hash) == _recovery_hash(code),
            col(RecoveryCode.used_at).is_(None),
        )
        .values(used_at=now)
    )
    return won.rowcount == 1


@dataclass(frozen=True, slots=True)
class FactorOutcome:
    """``method`` ("totp" or "recovery_code") when the factor was right; ``retry_after``
    (seconds) when this client must wait first; neither for a wrong one."""

    method: str | None = None
    retry_after: int | None = None


def check_second_factor(
    session: Session,
    user: User,
    *,
    code: str | None,
    recovery_code: str | None,
    client_ip: str | None,
    settings: Settings,
    now: datetime,
    wall_now: datetime,
    via: str,
    pending: bool = False,
) -> FactorOutcome:
    """A code or recovery code, throttled like a password and audited.

    ``now`` (the application clock) dates audit rows; ``wall_now`` runs the throttle and the
    TOTP time steps. The caller answers a failure without raising, so it is committed.
    """
    assert user.id is not None
    attempt = throttle.begin(session, user.email, client_ip, settings, wall_now)
    if attempt.retry_after is not None:
        return FactorOutcome(retry_after=attempt.retry_after)
    if code is not None:
        result = check_totp(session, user.id, code, settings, wall_now, pending=pending)
        method, reason = "totp", result
    else:
        assert recovery_code is not None and not pending
        used = has_totp(session, user) and use_recovery_code(session, user.id, recovery_code, now)
        method, reason = "recovery_code", "ok" if used else "wrong"
    if reason != "ok":
        throttle.failed(session, attempt, settings, wall_now)
        # Not attributed to the account: whoever typed the code may not be its owner.
        detail = {"account_id": user.id, "method": method, "reason": reason}
        record_audit(session, at=now, action="mfa_failed", resource=via, actor=None, detail=detail)
        return FactorOutcome()
    throttle.succeeded(session, attempt)
    if method == "recovery_code":
        left = recovery_codes_left(session, user.id)
        record_audit(
            session, at=now, action="mfa_recovery_code_used", resource=via, actor=user, detail={"codes_left": left}
        )
    return FactorOutcome(method=method)


def confirm_enrolment(session: Session, user: User, now: datetime) -> list[str]:
    """Activate the pending secret (its first code was just checked); the recovery codes, once."""
    assert user.id is not None
    row = totp_row(session, user.id)
    assert row is not None and row.confirmed_at is None
    row.confirmed_at = now
    session.add(row)
    return replace_recovery_codes(session, user.id, now)


# --- the login's MFA token -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MfaClaims:
    user_id: int
    role: str
    token_version: int
    purpose: Purpose


def create_mfa_token(user: User, purpose: Purpose, wall_now: datetime, settings: Settings) -> tuple[str, int]:
    """The token that carries a verified password to the second step, and its lifetime (s)."""
    assert user.id is not None
    lifetime = timedelta(minutes=settings.mfa_token_minutes)
    payload = {
        "sub": str(user.id),
        "role": user.role,
        "ver": user.token_version,
        "purpose": purpose.value,
        "iat": int(wall_now.timestamp()),
        "exp": int((wall_now + lifetime).timestamp()),
        "iss": JWT_ISSUER,
        "aud": MFA_AUDIENCE,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(payload, settings.jwt_secret, algorithm=JWT_ALGORITHM), int(lifetime.total_seconds())


def decode_mfa_token(token: str, wall_now: datetime, settings: Settings) -> MfaClaims | None:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[JWT_ALGORITHM],
            audience=MFA_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": _MFA_CLAIMS, "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    exp, sub, role, version, purpose = (payload.get(k) for k in ("exp", "sub", "role", "ver", "purpose"))
    if not isinstance(exp, int) or wall_now.timestamp() >= exp:
        return None
    if not isinstance(sub, str) or not sub.isdigit() or not isinstance(role, str):
        return None
    if not isinstance(version, int) or isinstance(version, bool) or purpose not in {p.value for p in Purpose}:
        return None
    return MfaClaims(user_id=int(sub), role=role, token_version=version, purpose=Purpose(purpose))


def mfa_token_user(
    session: Session, token: str, purpose: Purpose, wall_now: datetime, settings: Settings
) -> User | None:
    """The account a live MFA token of this purpose names, if it may still log in."""
    claims = decode_mfa_token(token, wall_now, settings)
    if claims is None or claims.purpose is not purpose:
        return None
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active or user.role != claims.role or user.token_version != claims.token_version:
        return None
    # The step must still be the one the token was issued for (TOTP may have been turned
    # off or on meanwhile, or the requirement lifted).
    if login_step(session, user, settings) is not purpose:
        return None
    return user


def one_factor(code: str | None, recovery_code: str | None) -> None:
    """Exactly one of a TOTP code and a recovery code (a 422 naming the field otherwise)."""
    if code is None and recovery_code is None:
        raise field_error(["body", "code"], "give a code or a recovery_code")
    if code is not None and recovery_code is not None:
        raise field_error(["body", "recovery_code"], "give a code or a recovery_code, not both")
