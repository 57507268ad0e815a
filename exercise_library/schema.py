"""Strict schema for the human-edited exercise library data files.

Every model forbids unknown keys, refuses type coercion (a YAML ``true`` is not a
number, ``"3"`` is not an int) and is frozen, so a typo in a data file fails at
start-up instead of reaching a patient.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "CATEGORIES",
    "PHASES",
    "RISK_GROUPS",
    "AnswerType",
    "Category",
    "Dosage",
    "Exercise",
    "ExerciseFile",
    "ExerciseText",
    "Instrument",
    "InstrumentItem",
    "InstrumentOption",
    "Phase",
    "PlanExercise",
    "PlanLevel",
    "PlanLevelText",
    "PlanTemplate",
    "PlanTemplateText",
    "RiskGroup",
    "TranslationFile",
]

T = TypeVar("T")

Category = Literal["mobility", "core_strength", "stretching", "walking_aerobic", "relaxation"]
Phase = Literal["acute", "subacute", "chronic"]
RiskGroup = Literal["low", "medium", "high"]
AnswerType = Literal["agree_disagree", "choice", "score_0_5"]

CATEGORIES: tuple[Category, ...] = (
    "mobility",
    "core_strength",
    "stretching",
    "walking_aerobic",
    "relaxation",
)
PHASES: tuple[Phase, ...] = ("acute", "subacute", "chronic")
RISK_GROUPS: tuple[RiskGroup, ...] = ("low", "medium", "high")

KEBAB_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SNAKE_PATTERN = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"


def _list_to_tuple(value: Any) -> Any:
    # YAML yields lists; strict mode only accepts tuples, and tuples keep the
    # loaded library immutable.  Anything else is left for strict validation.
    return tuple(value) if isinstance(value, list) else value


def _unique(values: tuple[T, ...]) -> tuple[T, ...]:
    seen: set[T] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate entry {value!r}")
        seen.add(value)
    return values


def _not_blank(value: str) -> str:
    if value != value.strip() or not value:
        raise ValueError("must not be empty or start/end with whitespace")
    return value


Seq = Annotated[tuple[T, ...], BeforeValidator(_list_to_tuple)]
UniqueSeq = Annotated[tuple[T, ...], BeforeValidator(_list_to_tuple), AfterValidator(_unique)]
Text = Annotated[str, AfterValidator(_not_blank), Field(max_length=600)]
ShortText = Annotated[str, AfterValidator(_not_blank), Field(max_length=120)]
KebabId = Annotated[str, Field(pattern=KEBAB_PATTERN, min_length=2, max_length=64)]
SnakeId = Annotated[str, Field(pattern=SNAKE_PATTERN, min_length=1, max_length=64)]
Sets = Annotated[int, Field(ge=1, le=10)]
Reps = Annotated[int, Field(ge=1, le=50)]
HoldSeconds = Annotated[int, Field(ge=1, le=300)]
Minutes = Annotated[int, Field(ge=1, le=60)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Dosage(StrictModel):
    """Dose of one exercise at one plan level: sets of reps, holds or minutes."""

    sets: Sets
    reps: Reps | None = None
    hold_seconds: HoldSeconds | None = None
    minutes: Minutes | None = None

    @model_validator(mode="after")
    def _has_volume(self) -> Dosage:
        if self.reps is None and self.hold_seconds is None and self.minutes is None:
            raise ValueError("a dosage needs at least one of reps, hold_seconds or minutes")
        return self


class Exercise(StrictModel):
    id: KebabId
    name: ShortText
    category: Category
    summary: Text
    instructions: Seq[Text] = Field(min_length=2)
    dosage: dict[Annotated[int, Field(ge=1, le=20)], Dosage] = Field(min_length=1)
    contraindications: UniqueSeq[Text] = Field(min_length=1)
    phases: UniqueSeq[Phase] = Field(min_length=1)
    tags: UniqueSeq[KebabId] = ()
    equipment: UniqueSeq[ShortText] = ()

    @field_validator("dosage")
    @classmethod
    def _check_dosage(cls, dosage: dict[int, Dosage], info: ValidationInfo) -> dict[int, Dosage]:
        levels = sorted(dosage)
        # Gaps are almost always typos; an exercise may start above level 1
        # (an advanced variation), which the loader then checks against plans.
        if levels != list(range(levels[0], levels[-1] + 1)):
            raise ValueError(f"dosage levels must be contiguous, got {levels}")
        if info.data.get("category") == "walking_aerobic":
            missing = [n for n in levels if dosage[n].minutes is None]
            if missing:
                raise ValueError(
                    f"walking/aerobic exercises need a minutes target at every level; missing at level(s) {missing}"
                )
        return dosage

    @property
    def equipment_label(self) -> str:
        return ", ".join(self.equipment) if self.equipment else "none"

    def dosage_for(self, level: int) -> Dosage | None:
        """The dosage for ``level``: its own, else the highest defined level below it."""
        defined = [n for n in self.dosage if n <= level]
        return self.dosage[max(defined)] if defined else None


class ExerciseFile(StrictModel):
    exercises: Seq[Exercise] = Field(min_length=1)


class PlanExercise(StrictModel):
    """An exercise in a plan level, with optional overrides of its own dosage."""

    exercise_id: KebabId
    sets: Sets | None = None
    reps: Reps | None = None
    hold_seconds: HoldSeconds | None = None
    minutes: Minutes | None = None


class PlanLevel(StrictModel):
    number: Annotated[int, Field(ge=1, le=20)]
    name: ShortText
    sessions_per_week: Annotated[int, Field(ge=1, le=7)] = 3
    # WalkBack: a daily walking target built up gradually to 30 minutes.
    walking_minutes: Annotated[int, Field(ge=0, le=30)]
    exercises: Seq[PlanExercise] = Field(min_length=1)
    education: UniqueSeq[Text] = ()

    @field_validator("exercises")
    @classmethod
    def _unique_exercises(cls, exercises: tuple[PlanExercise, ...]) -> tuple[PlanExercise, ...]:
        _unique(tuple(item.exercise_id for item in exercises))
        return exercises


class PlanTemplate(StrictModel):
    id: KebabId
    name: ShortText
    risk_group: RiskGroup
    description: Text
    levels: Seq[PlanLevel] = Field(min_length=3)

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, levels: tuple[PlanLevel, ...]) -> tuple[PlanLevel, ...]:
        numbers = [level.number for level in levels]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"level numbers must run 1..n in order without gaps, got {numbers}")
        walking = [level.walking_minutes for level in levels]
        if any(later < earlier for earlier, later in itertools.pairwise(walking)):
            raise ValueError(f"walking_minutes must not decrease from level to level, got {walking}")
        return levels

    def level(self, number: int) -> PlanLevel:
        if not 1 <= number <= len(self.levels):
            raise KeyError(f"plan template {self.id!r} has no level {number} (1..{len(self.levels)})")
        return self.levels[number - 1]

    @property
    def education(self) -> tuple[str, ...]:
        """Every education item of the template, level by level."""
        return tuple(item for level in self.levels for item in level.education)


class InstrumentOption(StrictModel):
    value: SnakeId
    label: ShortText


class InstrumentItem(StrictModel):
    id: SnakeId
    text: Text
    answer: AnswerType
    options: Seq[InstrumentOption] = ()

    @model_validator(mode="after")
    def _options_match_answer(self) -> InstrumentItem:
        if self.answer == "choice" and len(self.options) < 2:
            raise ValueError("a 'choice' item needs at least two options")
        if self.answer != "choice" and self.options:
            raise ValueError(f"options are only allowed on 'choice' items, not {self.answer!r}")
        _unique(tuple(option.value for option in self.options))
        return self


class Instrument(StrictModel):
    """A questionnaire's wording and licence, kept in one swappable file."""

    id: SnakeId
    name: ShortText
    version: ShortText
    copyright: Text
    licence: Text
    instructions: Text | None = None
    items: Seq[InstrumentItem] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: tuple[InstrumentItem, ...]) -> tuple[InstrumentItem, ...]:
        _unique(tuple(item.id for item in items))
        return items


# --- per-locale text -------------------------------------------------------------------
# A translation file carries, for one locale, every patient-facing text of the library:
# the same fields and the same number of list items as the English source, so a missing
# or extra sentence is a load error, never a silently English line.


class ExerciseText(StrictModel):
    name: ShortText
    summary: Text
    instructions: Seq[Text] = Field(min_length=2)
    contraindications: Seq[Text] = Field(min_length=1)
    equipment: Seq[ShortText] = ()


class PlanLevelText(StrictModel):
    name: ShortText
    education: Seq[Text] = ()


class PlanTemplateText(StrictModel):
    name: ShortText
    description: Text
    levels: dict[Annotated[int, Field(ge=1, le=20)], PlanLevelText] = Field(min_length=1)


class TranslationFile(StrictModel):
    locale: Annotated[str, Field(pattern=r"^[a-z]{2}-[A-Z]{2}$")]
    exercises: dict[KebabId, ExerciseText] = Field(min_length=1)
    plans: dict[KebabId, PlanTemplateText] = Field(min_length=1)
