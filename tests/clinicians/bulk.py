"""A large care team written with a handful of multi-row INSERTs (query-counter test, EXPLAIN).

Rows have the shape the services store; passwords are placeholders (nobody logs in).
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.models import Alert, CareTeamMember, ExerciseSession, PainLog, Patient, Plan, User
from api.rules.settings import DEFAULT_RULES
from api.rules.types import RuleCode, Tier
from api.rules.version import RULESET_VERSION
from api.standing.service import refresh

ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
_TIERS = [
    (RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY),
    (RuleCode.RED_FLAG_URGENT_SAME_DAY, Tier.URGENT_SAME_DAY),
    (RuleCode.NO_IMPROVEMENT_4W, Tier.URGENT_DAYS),
    (RuleCode.SILENT, Tier.ROUTINE),
]


def _insert(engine: Engine, table: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    with engine.begin() as connection:
        for i in range(0, len(rows), chunk):
            connection.execute(sa.insert(table), rows[i : i + chunk])


def make_care_team(
    engine: Engine,
    clinician_id: int,
    patients: int,
    days: int,
    today: date,
    *,
    seed: int = 7,
    at: datetime | None = None,
) -> None:
    """``patients`` patients of ``clinician_id``, each with ``days`` days of logs ending ``today``
    (a few days' gaps, some silent), a plan, sessions on three days a week, and alerts for 1 in 10;
    their triage-list standing is saved as of ``at`` (default: midnight UTC of ``today``)."""
    rng = random.Random(seed)
    now = datetime.combine(today, datetime.min.time(), UTC)
    with engine.begin() as connection:
        first_user: int = connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(sa.column("id")), 0)).select_from(sa.table("app_user"))
        ).scalar_one()
        first_patient: int = connection.execute(
            sa.select(sa.func.coalesce(sa.func.max(sa.column("id")), 0)).select_from(sa.table("patient"))
        ).scalar_one()
    user_ids = range(first_user + 1, first_user + patients + 1)
    patient_ids = list(range(first_patient + 1, first_patient + patients + 1))
    start = today - timedelta(days=days - 1)
    _insert(
        engine,
        User.__table__,  # type: ignore[attr-defined]
        [
            {
                "id": uid,
                "email": f"bulk{uid}@example.org",
                "password_hash": "x",
                "display_name": f"Bulk {uid}",
                "role": "patient",
                "is_active": True,
                "created_at": now - timedelta(days=days),
            }
            for uid in user_ids
        ],
    )
    silent = {pid: rng.random() < 0.1 for pid in patient_ids}
    _insert(
        engine,
        Patient.__table__,  # type: ignore[attr-defined]
        [
            {
                "id": pid,
                "user_id": uid,
                "timezone": ZONES[pid % len(ZONES)],
                "cancer_history": False,
                "osteoporosis_or_steroids": False,
                "programme_started_on": start,
                "last_log_on": today - timedelta(days=10 if silent[pid] else 0),
                "created_at": now - timedelta(days=days),
                "updated_at": now,
            }
            for pid, uid in zip(patient_ids, user_ids, strict=True)
        ],
    )
    _insert(
        engine,
        CareTeamMember.__table__,  # type: ignore[attr-defined]
        [{"patient_id": pid, "clinician_id": clinician_id, "created_at": now} for pid in patient_ids],
    )
    logs = []
    sessions = []
    for pid in patient_ids:
        level = rng.randint(3, 8)
        last = days - (10 if silent[pid] else 0)
        for i in range(last):
            on = start + timedelta(days=i)
            if rng.random() < 0.15:
                continue
            pain = max(0, min(10, level - i // 30 + rng.randint(-1, 1)))
            logs.append(
                {
                    "patient_id": pid,
                    "log_date": on,
                    "back_pain": pain,
                    "leg_pain": max(0, pain - 2),
                    "flare": False,
                    "medications": [],
                    "muscle_relaxant": False,
                    "symptoms": [],
                    "client_updated_at": now,
                    "content_hash": f"{pid}-{i}",
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if on.weekday() in (0, 2, 4) and i >= days - 28:
                sessions.append(
                    {
                        "id": uuid.UUID(int=pid << 32 | i),
                        "patient_id": pid,
                        "performed_at": datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=18),
                        "performed_on": on,
                        "duration_minutes": 20,
                        "exercises": [],
                        "pain_during": 3,
                        "body_hash": "x",
                        "created_at": now,
                    }
                )
    _insert(engine, PainLog.__table__, logs)  # type: ignore[attr-defined]
    _insert(engine, ExerciseSession.__table__, sessions)  # type: ignore[attr-defined]
    _insert(
        engine,
        Plan.__table__,  # type: ignore[attr-defined]
        [
            {
                "patient_id": pid,
                "template_id": "graded-exercise",
                "level": 1 + pid % 5,
                "status": "active",
                "sessions_per_week": 3,
                "walking_minutes_target": 10.0,
                "started_on": start,
                "level_started_on": start,
                "next_review_on": today + timedelta(days=pid % 7),
                "top_level_reviews_met": 0,
                "created_at": now,
                "updated_at": now,
            }
            for pid in patient_ids
        ],
    )
    alerts = []
    for pid in patient_ids:
        if rng.random() < 0.1:
            rule, tier = rng.choice(_TIERS)
            alerts.append(
                {
                    "patient_id": pid,
                    "rule": rule.value,
                    "tier": tier.value,
                    "status": rng.choice(["open", "acknowledged", "resolved"]),
                    "occurrence_key": "bulk",
                    "evidence": {},
                    "ruleset_version": RULESET_VERSION,
                    "opened_at": now,
                    "notify_count": 0,
                }
            )
    _insert(engine, Alert.__table__, alerts)  # type: ignore[attr-defined]
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("app_user", "patient", "plan", "alert"):
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"
                )
    # The services save each patient's triage-list standing as they write: so does this.
    with Session(engine) as session:
        for i in range(0, len(patient_ids), 1000):
            refresh(session, patient_ids[i : i + 1000], at or now, DEFAULT_RULES)
        session.commit()
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
