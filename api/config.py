"""Settings: every knob of the service, read from the environment.

All settings use the ``BACKSTEP_`` prefix except ``DATABASE_URL``, which keeps the
name every hosting platform already sets. ``get_settings()`` is cached; tests build
``Settings(...)`` directly and hand it to ``create_app``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Self

from pydantic import AliasChoices, Field, TypeAdapter, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.rules.settings import DEFAULT_RULES, RuleSettings

DEFAULT_JWT_SECRET = "backstep-development-secret-change-me-0123456789"  # noqa: S105 - refused in production
DEFAULT_DATABASE_URL = "sqlite:///./var/backstep.db"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKSTEP_", extra="ignore", frozen=True)

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        description="`development`, `test` or `production` (production refuses unsafe settings)",
    )
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "BACKSTEP_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL: embedded SQLite by default, `postgresql+psycopg://…` to scale out",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="PostgreSQL connections kept per process")
    db_max_overflow: int = Field(default=10, ge=0, le=200, description="extra PostgreSQL connections under bursts")
    max_concurrent_requests: int = Field(
        default=20,
        ge=1,
        le=39,
        description="requests a process serves at once (others queue): below the 40 worker threads, "
        "at most the PostgreSQL pool (size + overflow)",
    )
    # Bounded waits: a mobile client gives up after 30 s, so a request must answer (503,
    # Retry-After) well before that instead of queueing behind a lock or a busy process.
    request_queue_seconds: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="longest a request waits for one of those slots before a 503 with `Retry-After`",
    )
    db_lock_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="longest a request waits for a lock or a connection (PostgreSQL `lock_timeout`, SQLite busy "
        "timeout and writer queue, pool checkout); then 503 `database_busy`",
    )
    db_statement_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="longest one SQL statement of a request runs (PostgreSQL `statement_timeout`, SQLite "
        "interrupt); then 503 `database_busy`",
    )
    job_lock_timeout_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="the lock wait bound for scheduled jobs (reminders, deliveries, sweep)"
    )
    job_statement_timeout_seconds: float = Field(
        default=300.0, gt=0, le=86400, description="the statement bound for scheduled jobs"
    )
    readyz_timeout_seconds: float = Field(
        default=2.0, gt=0, le=30, description="bound on `/readyz`'s own database check (connect, wait and query)"
    )

    # Auth
    jwt_secret: str = Field(
        default=DEFAULT_JWT_SECRET, description="HS256 signing key for access tokens (≥ 32 chars in production)"
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60, description="access token lifetime")
    refresh_token_days: int = Field(default=30, ge=1, le=365, description="refresh token lifetime")
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id passes (lower only in tests)")
    argon2_memory_cost: int = Field(default=65536, ge=32, description="argon2id memory in KiB (lower only in tests)")
    login_max_failures: int = Field(
        default=5, ge=1, description="failed logins for one account from one client IP before each try must wait"
    )
    login_delay_seconds: int = Field(
        default=60, ge=1, description="the first wait after those failures; doubles with every further failure"
    )
    login_delay_max_minutes: int = Field(default=60, ge=1, description="the longest wait for one account and client IP")
    login_failure_memory_hours: int = Field(
        default=24,
        ge=1,
        le=24 * 30,
        description="an account's failures from a client IP are forgotten this long after the first",
    )
    login_ip_max_failures: int = Field(
        default=20, ge=1, description="failed logins from one client IP (IPv6: its /64), any accounts, that block it"
    )
    login_ip_window_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="window in which the per-IP failures count (and the block lasts)"
    )
    trusted_proxies: str = Field(
        default="",
        description="comma-separated IPs or networks of reverse proxies whose `X-Forwarded-For`/`-Proto` are "
        "believed (default: none)",
    )
    mfa_required_for_staff: bool | None = Field(
        default=None,
        description="clinicians and admins must sign in with a TOTP second factor (default: true in production, "
        "false otherwise; production refuses false)",
    )
    mfa_secret_key: str = Field(
        default="",
        description="key material the TOTP secrets are encrypted with at rest (HKDF-SHA256 to Fernet); "
        "comma-separated to rotate, the first encrypts (empty: derived from `BACKSTEP_JWT_SECRET`)",
    )
    mfa_issuer: str = Field(
        default="Backstep", min_length=1, max_length=64, description="the name authenticator apps show"
    )
    mfa_token_minutes: int = Field(
        default=5, ge=1, le=30, description="how long the second step of a login may wait for its code"
    )
    invite_days: int = Field(default=14, ge=1, le=365, description="clinician invite code validity")
    dashboard_session_hours: int = Field(
        default=10, ge=1, le=24, description="web dashboard login lifetime (a working day), whatever the activity"
    )
    dashboard_idle_minutes: int = Field(
        default=30, ge=1, le=24 * 60, description="web dashboard logout after this long without a page view or action"
    )

    # Exports
    fhir_identifier_base: str = Field(
        default="https://backstep.example/fhir",
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="this deployment's URI base for FHIR identifier systems (`<base>/patient-id` ...): set one "
        "per deployment so receivers can match patients",
    )

    # HTTP and logs
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger request bodies are refused with 413")
    log_level: str = Field(default="INFO", description="`DEBUG`, `INFO`, `WARNING` or `ERROR`")
    log_json: bool = Field(default=True, description="JSON log lines (set false for console-friendly text)")

    # Metrics (an internal listener of its own, never the API's port: api/observability/exposition.py)
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="port of the Prometheus `/metrics` listener of `backstep serve` and `backstep scheduler` "
        "(unset: no listener)",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        description="address that listener binds (beyond loopback, production needs `BACKSTEP_METRICS_TOKEN`)",
    )
    metrics_token: str | None = Field(
        default=None,
        description="bearer token `/metrics` requires (`Authorization: Bearer …`; ≥ 32 chars in production)",
    )

    # Time
    allow_test_clock: bool = Field(
        default=False, description="enable `PUT /api/v1/admin/test-clock` (refused in production)"
    )
    clock_cache_seconds: float = Field(default=1.0, ge=0, description="how often a process re-reads the test clock")

    # Scheduler and delivery
    scheduler_in_process: bool | None = Field(
        default=None, description="run the scheduler inside `backstep serve` (default: true on SQLite, false otherwise)"
    )
    reminder_tick_seconds: int = Field(default=60, ge=1, description="reminder tick interval")
    reminder_batch_size: int = Field(default=500, ge=1, le=5000, description="due reminders handled per transaction")
    reminder_max_delay_minutes: int = Field(
        default=60, ge=1, description="a reminder not sent within this long of its time (scheduler down) is skipped"
    )
    delivery_tick_seconds: int = Field(default=15, ge=1, description="outbox delivery tick interval")
    sweep_batch_size: int = Field(default=500, ge=1, description="patients per transaction in the daily rule sweep")
    sweep_workers: int = Field(
        default=2, ge=1, le=16, description="escalation sweep batches worked on at once on PostgreSQL (SQLite: 1)"
    )
    renotify_emergency_minutes: int = Field(
        default=30, ge=1, description="re-notify the care team of an unacknowledged emergency alert after this"
    )
    renotify_urgent_minutes: int = Field(
        default=240, ge=1, description="re-notify the care team of an unacknowledged urgent same-day alert after this"
    )
    delivery_retry_hours: float = Field(
        default=24.0,
        gt=0,
        description="a failing push is retried this long after its first failure, then dead-lettered",
    )
    delivery_safety_retry_hours: float = Field(
        default=72.0,
        gt=0,
        description="the same for safety messages and care-team alerts (never shorter than the above)",
    )
    delivery_backoff_base_seconds: float = Field(
        default=30.0, gt=0, description="first retry delay (doubles per attempt, with full jitter)"
    )
    delivery_backoff_max_seconds: float = Field(
        default=1800.0, gt=0, description="longest retry delay, and the longest `Retry-After` honoured"
    )
    delivery_batch_size: int = Field(default=200, ge=1, description="outbox rows claimed per delivery batch")
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, description="push provider request timeout")
    delivery_concurrency: int = Field(default=8, ge=1, le=64, description="push requests in flight per dispatcher")
    delivery_lease_seconds: float = Field(
        default=300.0, gt=0, description="a claimed delivery is retried after this if its dispatcher died mid-send"
    )
    fcm_project_id: str | None = Field(default=None, description="Firebase project for FCM HTTP v1 (unset: FCM off)")
    fcm_credentials_file: Path | None = Field(default=None, description="service-account JSON for FCM")
    fcm_endpoint: str = Field(
        default="https://fcm.googleapis.com", description="FCM base URL (tests point it at a local fake)"
    )
    webhook_url: str | None = Field(
        default=None, description="push gateway URL for `webhook` devices (unset: webhook off)"
    )
    webhook_secret: str | None = Field(default=None, description="HMAC-SHA256 key signing webhook bodies")

    rules_json: str = Field(
        default="{}",
        validation_alias=AliasChoices("BACKSTEP_RULES", "rules_json"),
        description='JSON object overriding thresholds of `api/rules/settings.py`, e.g. `{"urgent_number": "112"}`',
    )
    alembic_ini: Path | None = Field(
        default=None, description="path to alembic.ini (default: beside the code, else ./alembic.ini)"
    )

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            if self.jwt_secret == DEFAULT_JWT_SECRET or len(self.jwt_secret) < 32:
                raise ValueError("production refuses the default or a short BACKSTEP_JWT_SECRET")
            if self.allow_test_clock:
                raise ValueError("production refuses BACKSTEP_ALLOW_TEST_CLOCK=true")
            if self.metrics_port is not None and not _is_loopback(self.metrics_host) and not self.metrics_token:
                raise ValueError(
                    "production refuses a /metrics listener beyond loopback without BACKSTEP_METRICS_TOKEN"
                )
            if self.metrics_token is not None and len(self.metrics_token) < 32:
                raise ValueError("production refuses a BACKSTEP_METRICS_TOKEN shorter than 32 characters")
            if self.mfa_required_for_staff is False:
                raise ValueError("production refuses BACKSTEP_MFA_REQUIRED_FOR_STAFF=false")
            if self.mfa_secret_key and any(len(key) < 32 for key in self.mfa_secret_keys):
                raise ValueError("production refuses a BACKSTEP_MFA_SECRET_KEY shorter than 32 characters")
        if bool(self.webhook_url) != bool(self.webhook_secret):
            raise ValueError("BACKSTEP_WEBHOOK_URL and BACKSTEP_WEBHOOK_SECRET are set together (webhooks are signed)")
        if bool(self.fcm_project_id) != (self.fcm_credentials_file is not None):
            raise ValueError("BACKSTEP_FCM_PROJECT_ID and BACKSTEP_FCM_CREDENTIALS_FILE are set together")
        _ = self.rules  # validate the overrides at start-up, not at the first request
        _ = self.trusted_proxy_list
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def staff_mfa_required(self) -> bool:
        if self.mfa_required_for_staff is None:
            return self.environment is Environment.PRODUCTION
        return self.mfa_required_for_staff

    @property
    def mfa_secret_keys(self) -> list[str]:
        """Key material for the TOTP secrets, newest first (``api/auth/mfa.py``)."""
        keys = [key.strip() for key in self.mfa_secret_key.split(",") if key.strip()]
        return keys or [self.jwt_secret]

    @property
    def run_scheduler_in_process(self) -> bool:
        if self.scheduler_in_process is None:
            return self.is_sqlite
        return self.scheduler_in_process

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies as networks; a typo must stop the start-up, not silently trust nothing."""
        entries = [entry.strip() for entry in self.trusted_proxies.split(",") if entry.strip()]
        try:
            return [str(ipaddress.ip_network(entry, strict=False)) for entry in entries]
        except ValueError as exc:
            raise ValueError(f"BACKSTEP_TRUSTED_PROXIES: {exc}") from exc

    @property
    def rules(self) -> RuleSettings:
        return _rules_from_json(self.rules_json)

    def alembic_ini_path(self) -> Path:
        if self.alembic_ini is not None:
            return self.alembic_ini
        beside_package = Path(__file__).resolve().parent.parent / "alembic.ini"
        return beside_package if beside_package.exists() else Path.cwd() / "alembic.ini"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


@cache
def _rules_from_json(raw: str) -> RuleSettings:
    overrides: Any = json.loads(raw)
    if not isinstance(overrides, dict):
        raise ValueError("BACKSTEP_RULES must be a JSON object")
    defaults = {f.name: getattr(DEFAULT_RULES, f.name) for f in dataclasses.fields(DEFAULT_RULES)}
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise ValueError(f"BACKSTEP_RULES has unknown keys: {', '.join(unknown)}")
    if not overrides:
        return DEFAULT_RULES
    # Pydantic validates the stdlib dataclass, so "20:00" becomes a time and so on.
    return TypeAdapter(RuleSettings).validate_python({**defaults, **overrides})


@cache
def get_settings() -> Settings:
    return Settings()


def env_name(name: str) -> str:
    """The environment variable a setting is read from."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"BACKSTEP_{name.upper()}"


def settings_markdown() -> str:
    """The README's configuration table, generated so it cannot drift from the code."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else str(default.value if isinstance(default, StrEnum) else default)
        rows.append(f"| `{env_name(name)}` | `{shown}` | {field.description} |")
    return "\n".join(rows)
