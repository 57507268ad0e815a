"""Benchmark data written straight into the tables: COPY on PostgreSQL, executemany on SQLite.

Rows have the shape the services store (hashes, bookkeeping columns, rule-set versions);
passwords are placeholders (benchmarks mint access tokens instead of logging in).

Distributions (seeded, so every run builds the same data):

- patients spread over care teams of ``patients_per_clinician``; programme ages drawn
  uniformly from ``ages`` (days since the first log, today excluded);
- a log on ~85 % of programme days (some patients drift into silence near the end),
  back pain from a per-patient baseline that improves for most, stalls for some and
  worsens for a few, with occasional flare days, muscle relaxants and numbness;
- a STarT Back plan (low / medium / high template) for 9 in 10 patients, three
  exercise sessions a week with pain during/after and RPE;
- optionally (``standing_at``) each patient's triage-list current-state row;
- optionally (``settled=True``) what earlier sweeps and writes would have left: the
  checkpoint results and window alerts the real rules decide on that history, plus
  red-flag, silence and STarT Back alerts of every tier on some patients (open,
  acknowledged, resolved).
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from api.models import (
    Alert,
    CareTeamMember,
    CheckpointResult,
    Clinic,
    ClinicMember,
    ExerciseSession,
    PainLog,
    Patient,
    Plan,
    ReminderPreference,
    User,
)
from api.pain_logs.service import hash_content
from api.reminders.service import default_preferences
from api.rules.settings import DEFAULT_RULES
from api.rules.types import AlertSpec, MedicationClass, PainDay, PatientProfile, Symptom
from api.rules.version import RULESET_VERSION
from api.rules.windows import CheckpointOutcome, checkpoint_alerts, checkpoint_outcomes, complete_through
from api.standing.service import refresh
from exercise_library import get_library

TEMPLATES = {"low": "self-management", "medium": "graded-exercise", "high": "graded-exercise-with-education"}
# Alerts of rules the history does not decide by itself (red flags, silence, STarT Back),
# on top of those the real window rules raise on the generated history.
ALERT_MIX = [  # (rule, tier, share of patients with one)
    ("red_flag_emergency", "emergency", 0.005),
    ("red_flag_urgent_same_day", "urgent_same_day", 0.01),
    ("red_flag_urgent_days", "urgent_days", 0.02),
    ("start_back_high", "routine", 0.08),
    ("silent", "routine", 0.04),
]


@dataclass(frozen=True)
class Cohort:
    patients: int
    today: date  # the patients' local "today" (the data ends yesterday or today)
    ages: tuple[int, int] = (14, 30)  # programme age range in days
    timezone: str = "Europe/London"
    patients_per_clinician: int = 100
    settled: bool = True
    sessions: bool = True
    log_today: bool = False
    seed: int = 7
    # When given, each patient's triage-list standing (``patient_state``) as of this instant,
    # as the write path and the daily sweep would have saved it; else none (the sweep's job).
    standing_at: datetime | None = None


def table(model: Any) -> sa.Table:
    t: sa.Table = model.__table__
    return t


def write(engine: sa.Engine, model: Any, rows: Iterable[dict[str, Any]], chunk: int = 5000) -> int:
    """Insert ``rows`` (dicts with the same keys) fast: COPY on PostgreSQL, chunks elsewhere."""
    tbl = table(model)
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = list(first)
    count = 0
    if engine.dialect.name == "postgresql":
        # COPY skips SQLAlchemy's Python-side column defaults: add the scalar ones.
        defaults = {
            c.name: c.default.arg  # type: ignore[attr-defined]
            for c in tbl.columns
            if c.name not in first and c.default is not None and c.default.is_scalar
        }
        first = {**first, **defaults}
        iterator = ({**row, **defaults} for row in iterator)
        columns = list(first)
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:  # type: ignore[attr-defined]
                names = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f'COPY "{tbl.name}" ({names}) FROM STDIN') as copy:
                    for row in _chain(first, iterator):
                        copy.write_row([_pg(row[c]) for c in columns])
                        count += 1
            raw.commit()
        finally:
            raw.close()
        return count
    with engine.begin() as connection:
        batch: list[dict[str, Any]] = []
        for row in _chain(first, iterator):
            batch.append(row)
            if len(batch) >= chunk:
                connection.execute(sa.insert(tbl), batch)
                count += len(batch)
                batch = []
        if batch:
            connection.execute(sa.insert(tbl), batch)
            count += len(batch)
    return count


def _chain(first: dict[str, Any], rest: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield first
    yield from rest


def _pg(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def reset_sequences(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as connection:
        for name in ("app_user", "patient", "clinic", "plan", "alert", "pain_log"):
            connection.exec_driver_sql(f"SELECT setval('{name}_id_seq', (SELECT coalesce(max(id), 1) FROM \"{name}\"))")
        connection.exec_driver_sql("ANALYZE")


@dataclass
class Built:
    clinician_user_ids: list[int]
    patient_user_ids: list[int]  # index i: patient id i + 1
    usual_pain: list[int]  # index i: patient i + 1's latest back pain (what the app would send next)
    counts: dict[str, int]


def build(engine: sa.Engine, cohort: Cohort) -> Built:
    """Write the cohort; patient ids are 1..patients, clinician users 1..c, patient users after."""
    rng = random.Random(cohort.seed)
    zone = ZoneInfo(cohort.timezone)
    clinicians = max(1, -(-cohort.patients // cohort.patients_per_clinician))
    created = datetime.combine(cohort.today - timedelta(days=cohort.ages[1] + 3), time(9), UTC)
    library = get_library()
    counts: dict[str, int] = {}
    write(engine, Clinic, [{"id": 1, "name": "Bench clinic", "created_at": created}])
    counts["app_user"] = write(
        engine,
        User,
        (
            {"id": u, "email": f"user{u}@bench.test", "password_hash": "x", "display_name": f"User {u}",
             "role": "clinician" if u <= clinicians else "patient", "is_active": True, "created_at": created}
            for u in range(1, clinicians + cohort.patients + 1)
        ),
    )  # fmt: skip
    write(engine, ClinicMember, ({"user_id": u, "clinic_id": 1} for u in range(1, clinicians + 1)))
    profiles = [_profile(rng, cohort, i) for i in range(1, cohort.patients + 1)]
    counts["patient"] = write(engine, Patient, (p.patient_row(clinicians, created) for p in profiles))
    write(
        engine,
        CareTeamMember,
        ({"patient_id": p.id, "clinician_id": p.clinician(clinicians), "created_at": created} for p in profiles),
    )
    # The clinic's defaults from their one source (api.reminders.service.default_preferences).
    defaults = default_preferences(0, created, DEFAULT_RULES).model_dump(exclude={"patient_id", "updated_at"})
    write(engine, ReminderPreference, ({**defaults, "patient_id": p.id, "updated_at": created} for p in profiles))
    counts["plan"] = write(engine, Plan, (p.plan_row(library, created) for p in profiles if p.template))
    counts["pain_log"] = write(engine, PainLog, (row for p in profiles for row in p.log_rows(zone)))
    if cohort.sessions:
        counts["exercise_session"] = write(
            engine, ExerciseSession, (row for p in profiles if p.template for row in p.session_rows(zone))
        )
    if cohort.settled:
        decided = {p.id: p.evaluated() for p in profiles}
        counts["checkpoint_result"] = write(
            engine, CheckpointResult, (r for p in profiles for r in p.checkpoints(decided[p.id][0]))
        )
        counts["alert"] = write(engine, Alert, (r for p in profiles for r in p.alerts(rng, decided[p.id][1])))
    reset_sequences(engine)
    if cohort.standing_at is not None:
        ids = [p.id for p in profiles]
        for i in range(0, len(ids), 2000):
            with Session(engine) as session:
                refresh(session, ids[i : i + 2000], cohort.standing_at, DEFAULT_RULES)
                session.commit()
        counts["patient_state"] = len(ids)
    return Built(
        list(range(1, clinicians + 1)),
        [clinicians + p.id for p in profiles],
        [p.pains[-1] if p.pains else 5 for p in profiles],
        counts,
    )


@dataclass
class _Profile:
    id: int
    cohort: Cohort
    started_on: date
    last_log_on: date | None
    logged: list[date]
    pains: list[int]
    template: str | None
    birth_year: int
    seed: int

    def clinician(self, clinicians: int) -> int:
        return (self.id - 1) % clinicians + 1

    def patient_row(self, clinicians: int, created: datetime) -> dict[str, Any]:
        risk = next((k for k, v in TEMPLATES.items() if v == self.template), None)
        return {
            "id": self.id, "user_id": clinicians + self.id, "clinic_id": 1, "timezone": self.cohort.timezone,
            "birth_year": self.birth_year, "episode_started_on": self.started_on - timedelta(days=10),
            "cancer_history": self.id % 50 == 0, "osteoporosis_or_steroids": self.id % 40 == 0, "risk_group": risk,
            "programme_started_on": self.started_on if self.logged else None, "last_log_on": self.last_log_on,
            "last_activity_at": created, "swept_on": None, "created_at": created, "updated_at": created,
        }  # fmt: skip

    def plan_row(self, library: Any, created: datetime) -> dict[str, Any]:
        assert self.template is not None
        today = self.cohort.today
        level = min(1 + (today - self.started_on).days // 14, library.level_count(self.template))
        level_started = max(self.started_on, today - timedelta(days=(today - self.started_on).days % 14))
        # The next weekly review: 7-day steps from the level's start, never in the past.
        next_review = level_started + timedelta(days=7 * (1 + max(0, (today - level_started).days) // 7))
        return {
            "patient_id": self.id, "template_id": self.template, "level": level, "status": "active",
            "sessions_per_week": library.sessions_per_week(self.template, level),
            "walking_minutes_target": float(library.walking_minutes(self.template, level)),
            "week1_walking_minutes": None, "started_on": self.started_on, "level_started_on": level_started,
            "next_review_on": next_review, "flare_started_on": None, "reduced_until": None,
            "status_before_pause": None, "top_level_reviews_met": 0, "created_at": created, "updated_at": created,
        }  # fmt: skip

    def contents(self) -> Iterator[tuple[date, dict[str, Any]]]:
        for n, (day, pain) in enumerate(zip(self.logged, self.pains, strict=True)):
            numb = (self.seed + n) % 37 == 0
            relaxant = self.seed % 9 == 0 and n % 2 == 0
            yield day, {
                "back_pain": pain, "leg_pain": max(0, pain - 2), "interference": min(10, pain + 1),
                "sleep_quality": 10 - pain // 2, "activity_minutes": 20 + (n * 7) % 40,
                "steps": 2000 + (n * 331) % 8000,
                "flare": (self.seed + n) % 53 == 0, "medications": ["muscle_relaxant"] if relaxant else ["nsaid"],
                "symptoms": ["one_leg_numbness"] if numb else [], "note": None,
            }  # fmt: skip

    def log_rows(self, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
        for day, content in self.contents():
            at = datetime.combine(day, time(20, 5), zone).astimezone(UTC)
            yield {
                "patient_id": self.id, "log_date": day, **content,
                "muscle_relaxant": "muscle_relaxant" in content["medications"],
                "client_updated_at": at, "content_hash": hash_content(content), "previous_content_hash": None,
                "created_at": at, "updated_at": at,
            }  # fmt: skip

    def evaluated(self) -> tuple[tuple[CheckpointOutcome, ...], list[AlertSpec]]:
        """What the write path and earlier sweeps decided on this history (the real rules)."""
        days = [
            PainDay(on=day, back_pain=c["back_pain"], leg_pain=c["leg_pain"], flare=c["flare"],
                    activity_minutes=c["activity_minutes"],
                    medications=frozenset(MedicationClass(m) for m in c["medications"]),
                    symptoms=frozenset(Symptom(x) for x in c["symptoms"]))
            for day, c in self.contents()
        ]  # fmt: skip
        as_of = complete_through(self.cohort.today, self.last_log_on)
        profile = PatientProfile(self.birth_year, self.id % 50 == 0, self.id % 40 == 0)
        return checkpoint_outcomes(days, as_of), list(checkpoint_alerts(days, as_of, profile))

    def session_rows(self, zone: ZoneInfo) -> Iterator[dict[str, Any]]:
        pains = dict(zip(self.logged, self.pains, strict=True))
        day = self.started_on
        while day <= self.cohort.today - timedelta(days=1):
            if day.weekday() in (0, 2, 4) and (self.seed + day.toordinal()) % 10 < 8:
                pain = pains.get(day, 4)
                at = datetime.combine(day, time(18, 30), zone).astimezone(UTC)
                yield {
                    "id": uuid.UUID(int=(self.id << 32) + day.toordinal()), "patient_id": self.id,
                    "performed_at": at, "performed_on": day, "duration_minutes": 25,
                    "exercises": [{"exercise_id": "pelvic-tilt", "sets": 2, "reps": 10}],
                    "pain_during": min(10, pain + 1), "pain_after": pain, "pain_next_morning": pain,
                    "rpe": 4 + day.toordinal() % 4, "difficulty": "about_right", "note": None,
                    "body_hash": hashlib.sha256(f"{self.id}:{day}".encode()).hexdigest(), "created_at": at,
                }  # fmt: skip
            day += timedelta(days=1)

    def checkpoints(self, outcomes: Sequence[CheckpointOutcome]) -> Iterator[dict[str, Any]]:
        for outcome in outcomes:
            yield {
                "patient_id": self.id, "checkpoint_day": outcome.checkpoint_day,
                "baseline_mean": outcome.baseline_mean, "current_mean": outcome.current_mean,
                "classification": str(outcome.classification), "ruleset_version": outcome.ruleset_version,
                "evaluated_at": datetime.combine(outcome.checkpoint_on + timedelta(days=1), time(2), UTC),
            }  # fmt: skip

    def alerts(self, rng: random.Random, specs: Sequence[AlertSpec]) -> Iterator[dict[str, Any]]:
        opened = datetime.combine(self.cohort.today - timedelta(days=1 + self.id % 5), time(21), UTC)
        drawn = [(rule, tier, f"bench:{self.id}:{rule}", {"bench": True}) for rule, tier, share in ALERT_MIX
                 if rng.random() < share]  # fmt: skip
        decided = {str(s.code): (str(s.code), str(s.tier), s.key, dict(s.evidence)) for s in specs}
        for rule, tier, key, evidence in [*decided.values(), *drawn]:
            status = rng.choice(["open", "open", "acknowledged", "resolved"])
            yield {
                "patient_id": self.id, "rule": rule, "tier": tier, "status": status,
                "occurrence_key": key, "evidence": evidence,
                "ruleset_version": RULESET_VERSION, "opened_at": opened,
                "acknowledged_by": None, "acknowledged_at": opened + timedelta(hours=1)
                if status != "open" else None, "acknowledge_note": None, "resolved_by": None,
                "resolved_at": opened + timedelta(hours=2) if status == "resolved" else None,
                "resolution_note": "checked" if status == "resolved" else None,
                "last_notified_at": opened if tier != "routine" else None,
                "notify_count": 1 if tier != "routine" else 0,
            }  # fmt: skip


def _profile(rng: random.Random, cohort: Cohort, pid: int) -> _Profile:
    age = rng.randint(*cohort.ages)
    started = cohort.today - timedelta(days=age)
    last_day = cohort.today if cohort.log_today else cohort.today - timedelta(days=1)
    if rng.random() < 0.06:  # drifting into silence: stops logging 3-12 days ago
        last_day = min(last_day, cohort.today - timedelta(days=rng.randint(3, 12)))
    baseline = rng.randint(4, 8)
    trend = rng.choice([-0.12, -0.08, -0.05, -0.02, 0.0, 0.03])  # points per day
    logged: list[date] = []
    pains: list[int] = []
    day = started
    while day <= last_day:
        if day == started or rng.random() < 0.85:
            n = (day - started).days
            logged.append(day)
            pains.append(max(0, min(10, round(baseline + trend * n + rng.gauss(0, 0.8)))))
        day += timedelta(days=1)
    template = None if rng.random() < 0.1 else TEMPLATES[rng.choice(["low", "medium", "medium", "high"])]
    return _Profile(
        pid, cohort, started, logged[-1] if logged else None, logged, pains, template, rng.randint(1945, 2000), pid * 7
    )


def days_of(dates: Sequence[date]) -> str:
    return ",".join(d.isoformat() for d in dates)


__all__ = ["Built", "Cohort", "build", "write"]
