"""The loaded, validated library and the prescriptions derived from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from exercise_library.schema import Exercise, Instrument, PlanExercise, PlanTemplate

__all__ = ["Library", "LibraryError", "Prescribed", "resolve_item"]


class LibraryError(Exception):
    """The library data is invalid; the message names each offending file."""

    def __init__(self, problems: str | list[str] | tuple[str, ...]) -> None:
        self.problems: tuple[str, ...] = (problems,) if isinstance(problems, str) else tuple(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            listed = "\n".join(f"- {problem}" for problem in self.problems)
            message = f"{len(self.problems)} problems in the exercise library:\n{listed}"
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Prescribed:
    """One exercise as prescribed at a plan level (overrides applied)."""

    exercise_id: str
    name: str
    sets: int
    reps: int | None = None
    hold_seconds: int | None = None
    minutes: int | None = None


def resolve_item(exercise: Exercise, item: PlanExercise, level: int) -> Prescribed | None:
    """Apply a plan item's overrides to the exercise's dosage for ``level``.

    Returns None when nothing resolves: no dosage at or below ``level`` and the
    overrides alone do not give sets plus reps, a hold or minutes.
    """
    base = exercise.dosage_for(level)
    if base is None:
        if item.sets is None or (item.reps is None and item.hold_seconds is None and item.minutes is None):
            return None
        return Prescribed(exercise.id, exercise.name, item.sets, item.reps, item.hold_seconds, item.minutes)
    return Prescribed(
        exercise_id=exercise.id,
        name=exercise.name,
        sets=item.sets if item.sets is not None else base.sets,
        reps=item.reps if item.reps is not None else base.reps,
        hold_seconds=item.hold_seconds if item.hold_seconds is not None else base.hold_seconds,
        minutes=item.minutes if item.minutes is not None else base.minutes,
    )


def _half(value: int | None) -> int | None:
    return None if value is None else max(1, value // 2)


@dataclass(frozen=True, slots=True)
class Library:
    exercises: Mapping[str, Exercise]
    templates: Mapping[str, PlanTemplate]
    instruments: Mapping[str, Instrument]
    # The same library with every patient-facing text in another locale (BCP 47), by locale.
    translations: Mapping[str, Library] = field(default_factory=lambda: MappingProxyType({}))

    def in_locale(self, locale: str) -> Library:
        """This library with its texts in ``locale`` (names, instructions, plan levels); itself for English."""
        return self.translations.get(locale, self)

    def exercise(self, exercise_id: str) -> Exercise:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            raise KeyError(f"unknown exercise {exercise_id!r}") from None

    def template(self, template_id: str) -> PlanTemplate:
        try:
            return self.templates[template_id]
        except KeyError:
            raise KeyError(f"unknown plan template {template_id!r}") from None

    def instrument(self, instrument_id: str) -> Instrument:
        try:
            return self.instruments[instrument_id]
        except KeyError:
            raise KeyError(f"unknown instrument {instrument_id!r}") from None

    def template_for_risk_group(self, risk_group: str) -> PlanTemplate:
        """The plan template assigned after STarT Back (exactly one per risk group)."""
        for template in self.templates.values():
            if template.risk_group == risk_group:
                return template
        raise KeyError(f"no plan template for risk group {risk_group!r}")

    def level_count(self, template_id: str) -> int:
        return len(self.template(template_id).levels)

    def level_name(self, template_id: str, level: int) -> str:
        return self.template(template_id).level(level).name

    def walking_minutes(self, template_id: str, level: int) -> int:
        return self.template(template_id).level(level).walking_minutes

    def sessions_per_week(self, template_id: str, level: int) -> int:
        return self.template(template_id).level(level).sessions_per_week

    def prescription(self, template_id: str, level: int) -> tuple[Prescribed, ...]:
        """Exercises, in plan order, with the dose for ``level`` of the template."""
        plan_level = self.template(template_id).level(level)
        prescribed: list[Prescribed] = []
        for item in plan_level.exercises:
            resolved = resolve_item(self.exercise(item.exercise_id), item, level)
            if resolved is None:  # the loader refuses such data; guard direct construction
                raise LibraryError(f"{template_id} level {level}: no dosage resolvable for {item.exercise_id!r}")
            prescribed.append(resolved)
        return tuple(prescribed)

    def reduced_prescription(self, template_id: str, level: int) -> tuple[Prescribed, ...]:
        """The flare prescription: reduce the load for a couple of days, never stop.

        Above level 1 it is the previous level's prescription.  At level 1 each
        loading exercise gets half the volume (sets when there are several, else
        reps, else the hold, else minutes; rounded down, never zero).  Walking/aerobic and relaxation
        items are kept whole: walking continues through a flare, and relaxation
        is itself part of managing one.
        """
        self.template(template_id).level(level)  # refuse an unknown level early
        if level > 1:
            return self.prescription(template_id, level - 1)
        reduced: list[Prescribed] = []
        for item in self.prescription(template_id, 1):
            category = self.exercise(item.exercise_id).category
            if category in ("walking_aerobic", "relaxation"):
                reduced.append(item)
            elif item.sets > 1:
                reduced.append(replace(item, sets=item.sets // 2))
            elif item.reps is not None:
                reduced.append(replace(item, reps=_half(item.reps)))
            elif item.hold_seconds is not None:
                reduced.append(replace(item, hold_seconds=_half(item.hold_seconds)))
            else:
                reduced.append(replace(item, minutes=_half(item.minutes)))
        return tuple(reduced)
