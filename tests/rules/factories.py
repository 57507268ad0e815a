"""Plain typed factories for rule-engine tests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, timedelta

from api.rules.progression import WeeklyReviewInput
from api.rules.types import MedicationClass, PainDay, PatientProfile, SessionClass, Symptom

START = date(2026, 3, 2)  # a Monday; programme day 1 in most tests

# IANA zones with DST quirks: 30/45-minute offsets, midnight transitions, no DST, +13:45.
ZONES = [
    "Europe/London",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "America/Santiago",
    "Asia/Tehran",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Africa/Casablanca",
    "America/Havana",
    "Pacific/Auckland",
    "UTC",
]


def on_day(n: int, start: date = START) -> date:
    """Local date of programme day ``n`` (1-based)."""
    return start + timedelta(days=n - 1)


def profile(
    age: int | None = 40,
    *,
    cancer_history: bool = False,
    osteoporosis_or_steroids: bool = False,
    on: date = START,
) -> PatientProfile:
    return PatientProfile(
        birth_year=None if age is None else on.year - age,
        cancer_history=cancer_history,
        osteoporosis_or_steroids=osteoporosis_or_steroids,
    )


def pain_days(scores: Sequence[int | None], first_day: int = 1, start: date = START) -> list[PainDay]:
    """One log per score from programme day ``first_day``; None leaves that day unlogged."""
    return [
        PainDay(on=on_day(first_day + i, start), back_pain=score) for i, score in enumerate(scores) if score is not None
    ]


def symptom_days(dates: Iterable[date], symptoms: frozenset[Symptom], back_pain: int = 4) -> list[PainDay]:
    return [PainDay(on=d, back_pain=back_pain, symptoms=symptoms) for d in dates]


def medication_days(dates: Iterable[date], medication: MedicationClass) -> list[PainDay]:
    return [PainDay(on=d, back_pain=4, medications=frozenset({medication})) for d in dates]


def weekly_input(**changes: object) -> WeeklyReviewInput:
    """A level-2-of-4 week that meets every progress criterion, with ``changes`` applied."""
    base = WeeklyReviewInput(
        level=2,
        level_count=4,
        planned_sessions=3,
        done_sessions=3,
        session_classes=(SessionClass.GREEN,) * 3,
        weekly_mean_prev=4.3,
        weekly_mean_this=4.0,
        mean_rpe=4.0,
        too_hard_count=0,
        days_at_level=7,
        flare_in_week=False,
        open_urgent_alert=False,
    )
    return replace(base, **changes)  # type: ignore[arg-type]
