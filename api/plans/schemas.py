"""Plan request and response bodies."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from api.exercises.schemas import PrescribedPublic
from api.schemas import Public, StrictInput, StrictInt

Reason = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1, max_length=500)]
TemplateId = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=64)]


class DecisionSummary(Public):
    action: str
    reasons: list[str]
    actor: str = Field(description="`system` (the rules) or `clinician`")
    decided_at: datetime


class PlanPublic(Public):
    id: int
    template_id: str
    template_name: str
    level: int
    level_count: int
    level_name: str
    status: Literal["active", "paused", "reduced", "completed"]
    sessions_per_week: int
    prescription: list[PrescribedPublic] = Field(description="the level's full prescription (see /me/plan/today)")
    walking_minutes_target: float
    started_on: date
    level_started_on: date
    next_review_on: date | None = Field(description="null while paused or completed: no reviews are due")
    reduced_until: date | None = Field(description="last day of the lighter flare plan, while reduced")
    education: list[str] = Field(description="education items of the current level")
    last_decision: DecisionSummary | None


class PlanTodayPublic(Public):
    date: dt.date
    plan_id: int
    status: Literal["active", "paused", "reduced", "completed"]
    level: int
    level_name: str
    planned_day: bool = Field(description="today is one of the plan's exercise days")
    done_today: bool = Field(description="an exercise session was logged for today")
    sessions_done_today: int
    reduced: bool = Field(description="the lighter flare prescription applies today")
    reduced_until: dt.date | None
    exercises: list[PrescribedPublic]
    walking_minutes_target: float | None = Field(description="null while paused")
    message: str


class PlanDecisionPublic(Public):
    id: int
    plan_id: int
    action: str
    template_id: str
    from_level: int | None
    to_level: int | None
    from_status: str | None
    to_status: str | None
    reasons: list[str]
    inputs: dict[str, Any]
    ruleset_version: str
    actor: str = Field(validation_alias="actor_type", description="`system` or `clinician`")
    actor_id: int | None
    review_on: date | None
    decided_at: datetime


class PlanOverride(StrictInput):
    """A clinician's change to a patient's plan; ``reason`` is kept in the plan history."""

    action: Literal["set_level", "pause", "resume", "assign_template"]
    level: Annotated[StrictInt, Field(ge=1, le=100)] | None = Field(
        default=None, description="required for set_level; optional start level for assign_template"
    )
    template_id: TemplateId | None = Field(default=None, description="required for assign_template")
    reason: Reason = Field(description="why, in plain words (the patient sees it in their plan history)")
