"""Exercise library response bodies (read from the validated library, never from user input)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from api.schemas import Public


class PrescribedPublic(Public):
    """One exercise as prescribed: sets of reps, holds (seconds) or minutes."""

    exercise_id: str
    name: str
    sets: int
    reps: int | None = None
    hold_seconds: int | None = None
    minutes: int | None = None


class DosagePublic(Public):
    level: int
    sets: int
    reps: int | None = None
    hold_seconds: int | None = None
    minutes: int | None = None


class ExercisePublic(Public):
    id: str
    name: str
    category: Literal["mobility", "core_strength", "stretching", "walking_aerobic", "relaxation"]
    summary: str
    instructions: list[str]
    dosage: list[DosagePublic] = Field(description="dose by plan level (a plan item may override it)")
    contraindications: list[str]
    phases: list[Literal["acute", "subacute", "chronic"]]
    tags: list[str]
    equipment: list[str]


class PlanLevelPublic(Public):
    number: int
    name: str
    sessions_per_week: int
    walking_minutes: int = Field(description="the level's default daily walking target (week 1)")
    prescription: list[PrescribedPublic]
    flare_prescription: list[PrescribedPublic] = Field(description="the lighter prescription during a flare")
    education: list[str]


class PlanTemplatePublic(Public):
    id: str
    name: str
    risk_group: Literal["low", "medium", "high"]
    description: str
    level_count: int
    levels: list[PlanLevelPublic]
