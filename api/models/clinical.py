"""The patient record: screenings, pain logs, sessions, plans, alerts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.models.base import JSONType, UTCDateTime, in_range, one_of
from api.rules.registry import accepted_code
from api.rules.types import Difficulty, PlanAction, RiskGroup, Tier

# Predicates shared by partial indexes and the queries that must match them textually.
# NUMBNESS_SQL stands in for the rule's own test (``Symptom.ONE_LEG_NUMBNESS in symptoms``):
# tests/alerts/test_candidates_property.py proves they select the same logs on both databases.
MUSCLE_RELAXANT_SQL = "muscle_relaxant"
NUMBNESS_SQL = """CAST(symptoms AS TEXT) LIKE '%"one_leg_numbness"%'"""


class RuleCodeText(sa.types.TypeDecorator[str]):
    """An alert rule code, checked by the application against the rule registry.

    Every value bound to ``alert.rule`` (inserts, updates, comparisons) must be a code of
    ``api.rules.registry``; anything else fails before the statement runs. The database
    keeps no CHECK of its own, so adding a rule needs no migration.
    """

    impl = sa.String(40)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else accepted_code(value)


class Instrument(StrEnum):
    START_BACK = "start_back"
    RED_FLAGS = "red_flags"
    ODI = "odi"


class PlanStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    REDUCED = "reduced"
    COMPLETED = "completed"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ActorType(StrEnum):
    SYSTEM = "system"
    CLINICIAN = "clinician"
    PATIENT = "patient"


class Screening(SQLModel, table=True):
    __table_args__ = (
        one_of("instrument", Instrument),
        one_of("risk_group", RiskGroup),
        one_of("tier", Tier),
        in_range("total", 0, 9),
        in_range("subscale", 0, 5),
        sa.CheckConstraint("percent IS NULL OR (percent >= 0 AND percent <= 100)", name="percent_range"),
        sa.Index("ix_screening_patient_instrument_created", "patient_id", "instrument", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    instrument: str = Field(max_length=16)
    answers: dict[str, Any] = Field(sa_type=JSONType)
    total: int | None = None
    subscale: int | None = None
    risk_group: str | None = Field(default=None, max_length=16)
    tier: str | None = Field(default=None, max_length=20)
    percent: float | None = None
    band: str | None = Field(default=None, max_length=20)
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    ruleset_version: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)


class PainLog(SQLModel, table=True):
    """One row per patient and patient-local date (upserted)."""

    __tablename__ = "pain_log"
    __table_args__ = (
        sa.UniqueConstraint("patient_id", "log_date"),
        # Small partial indexes for the escalation sweep's medication-review and
        # persistent-numbness checks (api/alerts/candidates.py uses the same predicates).
        sa.Index(
            "ix_pain_log_relaxant",
            "patient_id",
            "log_date",
            sqlite_where=sa.text(MUSCLE_RELAXANT_SQL),
            postgresql_where=sa.text(MUSCLE_RELAXANT_SQL),
        ),
        sa.Index(
            "ix_pain_log_numbness",
            "patient_id",
            "log_date",
            sqlite_where=sa.text(NUMBNESS_SQL),
            postgresql_where=sa.text(NUMBNESS_SQL),
        ),
        in_range("back_pain", 0, 10),
        in_range("leg_pain", 0, 10),
        in_range("interference", 0, 10),
        in_range("sleep_quality", 0, 10),
        in_range("activity_minutes", 0, 1440),
        in_range("steps", 0, 200000),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    log_date: date
    back_pain: int
    leg_pain: int | None = None
    interference: int | None = None
    sleep_quality: int | None = None
    activity_minutes: int | None = None
    steps: int | None = None
    flare: bool = False
    medications: list[str] = Field(default_factory=list, sa_type=JSONType)
    # Denormalised from `medications` so the 28-day medication review is one indexed
    # aggregate instead of JSON parsing on both databases.
    muscle_relaxant: bool = False
    symptoms: list[str] = Field(default_factory=list, sa_type=JSONType)
    note: str | None = Field(default=None, max_length=2000)
    client_updated_at: datetime = Field(sa_type=UTCDateTime)
    # SHA-256 of the canonical content (every field but client_updated_at). The upsert
    # copies the stored hash into previous_content_hash, so its RETURNING row alone says
    # whether it created the log (NULL), changed it, or only moved client_updated_at.
    content_hash: str = Field(max_length=64)
    previous_content_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ExerciseSession(SQLModel, table=True):
    """An exercise session, keyed by the client's UUID so replays are no-ops."""

    __tablename__ = "exercise_session"
    __table_args__ = (
        sa.Index("ix_exercise_session_patient_performed_on", "patient_id", "performed_on"),
        in_range("duration_minutes", 0, 600),
        in_range("pain_during", 0, 10),
        in_range("pain_after", 0, 10),
        in_range("pain_next_morning", 0, 10),
        in_range("rpe", 0, 10),
        one_of("difficulty", Difficulty),
    )

    id: uuid.UUID = Field(primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    performed_at: datetime = Field(sa_type=UTCDateTime)
    performed_on: date  # patient-local date of performed_at
    duration_minutes: int
    exercises: list[dict[str, Any]] = Field(sa_type=JSONType)
    pain_during: int
    pain_after: int | None = None
    pain_next_morning: int | None = None
    rpe: int | None = None
    difficulty: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=2000)
    body_hash: str = Field(max_length=64)  # canonical request body, for replay vs conflict
    created_at: datetime = Field(sa_type=UTCDateTime)


class Plan(SQLModel, table=True):
    """A patient's current graded exercise plan (one row; decisions keep the history)."""

    __table_args__ = (
        one_of("status", PlanStatus),
        sa.CheckConstraint("level >= 1", name="level_positive"),
        sa.CheckConstraint("sessions_per_week >= 1 AND sessions_per_week <= 7", name="sessions_range"),
        # The sweep finds due reviews (status active/reduced, next_review_on <= today) and
        # ongoing flares through this index; paused and completed plans never enter the scan.
        sa.Index("ix_plan_status_next_review_on", "status", "next_review_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", unique=True, ondelete="CASCADE")
    template_id: str = Field(max_length=64)
    level: int
    status: str = Field(default=PlanStatus.ACTIVE, max_length=16)
    sessions_per_week: int = 3
    walking_minutes_target: float = 0.0
    week1_walking_minutes: float | None = None
    started_on: date
    level_started_on: date
    next_review_on: date
    # Flare protocol state: reduced until this local date (inclusive).
    flare_started_on: date | None = Field(default=None, index=True)  # the sweep finds prolonged flares
    reduced_until: date | None = None
    # Status to return to when a pause is lifted or a flare restored.
    status_before_pause: str | None = Field(default=None, max_length=16)
    top_level_reviews_met: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class PlanDecision(SQLModel, table=True):
    __tablename__ = "plan_decision"
    __table_args__ = (
        one_of("action", PlanAction),
        one_of("actor_type", ActorType),
        # A weekly review happens once per plan and review date, however often the sweep runs.
        sa.UniqueConstraint("plan_id", "review_on"),
        sa.Index("ix_plan_decision_patient_decided", "patient_id", "decided_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", ondelete="CASCADE")
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    action: str = Field(max_length=16)
    template_id: str = Field(max_length=64)
    from_level: int | None = None
    to_level: int | None = None
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    ruleset_version: str = Field(max_length=32)
    actor_type: str = Field(max_length=16)
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    review_on: date | None = None
    decided_at: datetime = Field(sa_type=UTCDateTime)


class Alert(SQLModel, table=True):
    """An escalation to the care team.

    At most one unresolved alert per patient and rule (partial unique index), and a
    resolved occurrence is never re-raised (unique occurrence key), so retries and
    concurrent writers cannot open duplicates.
    """

    __table_args__ = (
        # ``rule`` is checked by the application (RuleCodeText), not by a CHECK.
        one_of("tier", Tier),
        one_of("status", AlertStatus),
        sa.UniqueConstraint("patient_id", "rule", "occurrence_key"),
        sa.Index(
            "uq_alert_patient_rule_unresolved",
            "patient_id",
            "rule",
            unique=True,
            sqlite_where=sa.text("status != 'resolved'"),
            postgresql_where=sa.text("status != 'resolved'"),
        ),
        sa.Index("ix_alert_status_tier_opened", "status", "tier", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = Field(foreign_key="patient.id", ondelete="CASCADE")
    rule: str = Field(sa_type=RuleCodeText)
    tier: str = Field(max_length=20)
    status: str = Field(default=AlertStatus.OPEN, max_length=16)
    occurrence_key: str = Field(max_length=200)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    ruleset_version: str = Field(max_length=32)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledge_note: str | None = Field(default=None, max_length=2000)
    resolved_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_note: str | None = Field(default=None, max_length=2000)
    last_notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notify_count: int = 0


class CheckpointResult(SQLModel, table=True):
    """The outcome of a non-improvement checkpoint (day 14/28/42/84) for a patient.

    Lets the daily sweep find patients whose checkpoint is due and not yet evaluated
    without recomputing windows for everyone, and gives the dashboard its
    classification.
    """

    __tablename__ = "checkpoint_result"

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    checkpoint_day: int = Field(primary_key=True)
    baseline_mean: float | None = None
    current_mean: float | None = None
    classification: str = Field(max_length=32)
    ruleset_version: str = Field(max_length=32)
    evaluated_at: datetime = Field(sa_type=UTCDateTime)


class PatientState(SQLModel, table=True):
    """A patient's current standing in the triage list, one row (``api.rules.standing``).

    The clinician's triage list is an ordered read of these rows (index on the ordering
    tuple), so its cost does not grow with the care team. The alert part is saved
    whenever an alert opens, changes tier or is resolved; the day part by every pain-log
    write and by the daily sweep when the patient's local date moves. ``valid_from`` and
    ``valid_until`` bound the instants at which ``as_of`` is the patient's local today: a
    row read outside them (or never computed: NULL) is recomputed before it is listed.
    """

    __tablename__ = "patient_state"
    __table_args__ = (
        sa.Index("ix_patient_state_triage", "tier_rank", "class_rank", "silence_key", "patient_id"),
        sa.Index("ix_patient_state_valid_until", "valid_until"),
        sa.Index("ix_patient_state_valid_from", "valid_from"),
    )

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    tier_rank: int = Field(default=4, sa_type=sa.SmallInteger)
    open_emergency: int = 0
    open_urgent_same_day: int = 0
    open_urgent_days: int = 0
    open_routine: int = 0
    not_improving: int = 0  # bit i: api.rules.standing.NOT_IMPROVING_RULES[i] is unresolved
    as_of: date | None = None
    valid_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    classification: str = Field(default="insufficient_data", max_length=32)
    class_rank: int = Field(default=2, sa_type=sa.SmallInteger)
    baseline_mean: float | None = None
    current_mean: float | None = None
    change: float | None = None
    silence_key: int = 0


class PatientIdentifier(SQLModel, table=True):
    """An identifier the clinic records for the patient elsewhere (e.g. a national health number).

    One per patient, set by the care team; exported as ``Patient.identifier`` so a receiving
    EHR can match the record. It goes with the patient on erasure (cascade).
    """

    __tablename__ = "patient_identifier"

    patient_id: int = Field(foreign_key="patient.id", primary_key=True, ondelete="CASCADE")
    system: str = Field(max_length=200)
    value: str = Field(max_length=64)
    updated_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="SET NULL")
    updated_at: datetime = Field(sa_type=UTCDateTime)
