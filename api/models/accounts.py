"""People and access: users, clinics, care teams, patients, tokens, throttling."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import UTCDateTime, in_range, one_of
from api.rules.types import RiskGroup


class Role(StrEnum):
    PATIENT = "patient"
    CLINICIAN = "clinician"
    ADMIN = "admin"


class User(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (one_of("role", Role),)

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True)  # stored lower-cased
    password_hash: str = Field(max_length=255)
    display_name: str = Field(max_length=100)
    role: str = Field(max_length=16)
    is_active: bool = True
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Carried in every access token ("ver"); a logout or a revoked refresh family moves it
    # on, so access tokens die at their next request. Checked on this row, which every
    # authenticated request loads anyway: no extra query.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Clinic(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # ISO 3166-1 alpha-2: whose emergency and urgent-care numbers its patients are given.
    country: str = Field(default="GB", max_length=2, sa_column_kwargs={"server_default": "GB"})
    # BCP 47: the locale of a new patient whose app states no language it fits.
    default_locale: str = Field(default="en-GB", max_length=16, sa_column_kwargs={"server_default": "en-GB"})
    created_at: datetime = Field(sa_type=UTCDateTime)


class ClinicMember(SQLModel, table=True):
    """A clinician's clinic; the clinic's clinicians are the escalation circle."""

    __tablename__ = "clinic_member"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    clinic_id: int = Field(foreign_key="clinic.id", index=True, ondelete="CASCADE")


class Patient(SQLModel, table=True):
    __table_args__ = (
        one_of("risk_group", RiskGroup),
        in_range("birth_year", 1900, 2100),
        # The escalation sweep selects candidates per time zone by date range (api/alerts/candidates.py).
        sa.Index("ix_patient_timezone_last_log_on", "timezone", "last_log_on"),
        sa.Index("ix_patient_timezone_programme_started_on", "timezone", "programme_started_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", unique=True, ondelete="CASCADE")
    clinic_id: int | None = Field(default=None, foreign_key="clinic.id", index=True, ondelete="SET NULL")
    timezone: str = Field(default="Europe/London", max_length=64)
    # BCP 47 (a shipped locale, api.i18n): every patient-facing text is rendered in it.
    locale: str = Field(default="en-GB", max_length=16, sa_column_kwargs={"server_default": "en-GB"})
    birth_year: int | None = None
    episode_started_on: date | None = None
    cancer_history: bool = False
    osteoporosis_or_steroids: bool = False
    risk_group: str | None = Field(default=None, max_length=16)
    # Programme day 1 (the first pain log's local date) and the latest log date, kept
    # on the row so the dashboard and the sweep find them without scanning logs.
    programme_started_on: date | None = None
    last_log_on: date | None = Field(default=None, index=True)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Patient-local date of the last escalation sweep that evaluated this patient, so
    # concurrent or repeated sweeps never evaluate a patient twice for one local date.
    swept_on: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CareTeamMember(SQLModel, table=True):
    """Which clinicians may see which patient; everything else is a 404."""

    __tablename__ = "care_team_member"

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    clinician_id: int = Field(foreign_key="app_user.id", primary_key=True, index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    clinic_id: int = Field(foreign_key="clinic.id", ondelete="CASCADE")
    clinician_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    used_by_patient_id: int | None = Field(default=None, foreign_key="patient.id", ondelete="SET NULL")


class RefreshToken(SQLModel, table=True):
    """Opaque rotating refresh tokens, stored hashed, grouped in families.

    Presenting a token that was already rotated (or revoked) means it leaked: the
    whole family is revoked.
    """

    __tablename__ = "refresh_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    family_id: str = Field(max_length=36, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    issued_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed-login counters, shared by every worker (``api/auth/throttle.py``).

    ``pair:<sha256 of the e-mail>:<client>`` rows count one client's failures on one
    account (``window_started_at``: the first of them; ``locked_until``: the wait they
    earned); ``ip:<client>`` rows count a client's failures on any account in a window.
    All times are wall-clock.
    """

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=400)
    failures: int = 0
    window_started_at: datetime = Field(sa_type=UTCDateTime, index=True)  # stale rows are pruned by it
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    __table_args__ = (sa.CheckConstraint("failures >= 0", name="failures_non_negative"),)


class DashboardSession(SQLModel, table=True):
    """A clinician's login to the web dashboard (cookie session), revocable server-side.

    The cookie holds a random secret; only its SHA-256 is stored, so the table cannot be
    replayed. ``csrf_token`` is the synchronizer token every form of the session carries.
    """

    __tablename__ = "dashboard_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    token_hash: str = Field(max_length=64, unique=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_seen_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserTotp(SQLModel, table=True):
    """An account's TOTP second factor (``api/auth/mfa.py``); at most one per account.

    ``secret_encrypted`` is the RFC 6238 secret encrypted with Fernet under a key derived
    from ``BACKSTEP_MFA_SECRET_KEY`` (a database copy alone cannot mint codes). The row is
    pending until a first code confirms it (``confirmed_at``). ``last_used_step`` is the
    30-second time step of the last accepted code: a code is accepted for a later step only,
    so an overheard code cannot be replayed within its window.
    """

    __tablename__ = "user_totp"

    user_id: int = Field(foreign_key="app_user.id", primary_key=True, ondelete="CASCADE")
    secret_encrypted: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_step: int | None = Field(default=None, sa_type=sa.BigInteger)


class RecoveryCode(SQLModel, table=True):
    """One-time recovery codes of an account with TOTP, stored as SHA-256 (80 random bits each)."""

    __tablename__ = "mfa_recovery_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True, ondelete="CASCADE")
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
