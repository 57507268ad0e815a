"""Load and cross-check every data file; fail loudly, naming the file and line."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from exercise_library._yaml import Loc, YamlDocument, YamlProblem, read_yaml
from exercise_library.library import Library, LibraryError, resolve_item
from exercise_library.schema import (
    CATEGORIES,
    KEBAB_PATTERN,
    RISK_GROUPS,
    SNAKE_PATTERN,
    Exercise,
    ExerciseFile,
    Instrument,
    PlanTemplate,
    TranslationFile,
)

__all__ = ["DEFAULT_ROOT", "SHIPPED_LOCALES", "get_library", "load_library"]

# Locales whose every exercise and plan text must exist (English is the source itself):
# a missing or extra text for one of them is a load error.
SHIPPED_LOCALES: tuple[str, ...] = ("de-DE", "es-ES", "fr-FR")

DEFAULT_ROOT = Path(__file__).resolve().parent / "data"

M = TypeVar("M", bound=BaseModel)
Keyed = TypeVar("Keyed", PlanTemplate, Instrument)

# The API scores these instruments by item id and answer value, so their shape
# is fixed even when a licensed deployment swaps in its own wording.
Q9_OPTIONS = ("not_at_all", "slightly", "moderately", "very_much", "extremely")
REQUIRED_INSTRUMENTS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "start_back": (*((f"q{n}", "agree_disagree", ()) for n in range(1, 9)), ("q9", "choice", Q9_OPTIONS)),
    "odi": tuple((f"s{n}", "score_0_5", ()) for n in range(1, 11)),
}


@dataclass(frozen=True, slots=True)
class _Source:
    """Where a model came from, for error messages."""

    name: str  # e.g. "data/plans/medium.yaml"
    doc: YamlDocument

    def at(self, loc: Sequence[str | int], message: str, sep: str = ": ") -> str:
        details = []
        if (line := self.doc.line_for(loc)) is not None:
            details.append(f"line {line}")
        # A file holds many exercises; naming the one at fault saves counting indexes.
        if len(loc) >= 2 and loc[0] == "exercises" and (exercise_id := _exercise_id(self.doc.data, loc[1])):
            details.append(f"exercise {exercise_id!r}")
        where = f"{_format_loc(loc)}{sep}" if loc else ""
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{self.name}: {where}{message}{suffix}"

    def where(self, loc: Sequence[str | int]) -> str:
        line = self.doc.line_for(loc)
        return self.name if line is None else f"{self.name} line {line}"


def _exercise_id(data: object, index: str | int) -> str | None:
    if not isinstance(data, dict) or not str(index).isdigit():
        return None
    exercises = data.get("exercises")
    if not isinstance(exercises, list) or int(index) >= len(exercises) or not isinstance(exercises[int(index)], dict):
        return None
    exercise_id = exercises[int(index)].get("id")
    return exercise_id if isinstance(exercise_id, str) else None


def _format_loc(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) or str(part).isdigit() else f".{part}"
    return text.lstrip(".")


def _format_input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Loader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []

    def display(self, path: Path) -> str:
        return path.relative_to(self.root.parent).as_posix()

    def files(self, section: str) -> list[Path]:
        directory = self.root / section
        if not directory.is_dir():
            self.problems.append(f"{self.display(directory)}/: directory is missing")
            return []
        found = sorted(path for path in directory.rglob("*") if path.suffix in (".yaml", ".yml") and path.is_file())
        if not found:
            self.problems.append(f"{self.display(directory)}/: no .yaml files")
        return found

    def parse(self, path: Path, model: type[M]) -> tuple[M, _Source] | None:
        name = self.display(path)
        try:
            doc = read_yaml(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{name}: cannot be read: {exc}")
            return None
        except YamlProblem as exc:
            line = f" (line {exc.line})" if exc.line is not None else ""
            self.problems.append(f"{name}: {exc.message}{line}")
            return None
        source = _Source(name, doc)
        try:
            return model.model_validate(doc.data), source
        except ValidationError as exc:
            for error in exc.errors():
                self.problems.append(source.at(error["loc"], _describe(error)))
            return None

    def parse_all(self, section: str, model: type[M]) -> list[tuple[M, _Source]]:
        return [parsed for path in self.files(section) if (parsed := self.parse(path, model)) is not None]


def _describe(error: ErrorDetails) -> str:
    """Pydantic's message, reworded for someone editing YAML rather than Python."""
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (not allowed here)"
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        style = {KEBAB_PATTERN: "kebab-case", SNAKE_PATTERN: "snake_case"}.get(pattern, f"of the form {pattern}")
        return f"should be {style}, got {_format_input(error['input'])}"
    message = error["msg"].removeprefix("Value error, ")
    message = message.replace("a valid tuple", "a list").replace("Tuple should", "List should")
    message = message.replace(" after validation", "")
    if kind.endswith("_type") or kind == "literal_error":
        message += f", got {_format_input(error['input'])}"
    return message


def load_library(root: Path | None = None) -> Library:
    """Load, validate and cross-check the library under ``root`` (default: shipped data)."""
    loader = _Loader(Path(root).resolve() if root is not None else DEFAULT_ROOT)
    exercise_files = loader.parse_all("exercises", ExerciseFile)
    plan_files = loader.parse_all("plans", PlanTemplate)
    instrument_files = loader.parse_all("instruments", Instrument)
    # Cross-checks on half-loaded data would only report knock-on errors.
    if loader.problems:
        raise LibraryError(loader.problems)

    exercises = _collect_exercises(loader, exercise_files)
    templates = _collect_unique(loader, plan_files, "plan template")
    instruments = _collect_unique(loader, instrument_files, "instrument")
    for template, source in plan_files:
        _check_template(loader, template, source, exercises)
    _check_risk_groups(loader, plan_files)
    _check_instruments(loader, instrument_files)
    if loader.problems:
        raise LibraryError(loader.problems)
    # The shipped data must carry every shipped locale; a test library only those it has.
    translation_files = (
        loader.parse_all("translations", TranslationFile)
        if root is None or (loader.root / "translations").is_dir() or loader.root == DEFAULT_ROOT
        else []
    )
    if loader.problems:
        raise LibraryError(loader.problems)
    required = SHIPPED_LOCALES if translation_files or root is None or loader.root == DEFAULT_ROOT else ()
    translated = _translate(loader, translation_files, exercises, templates, required)
    if loader.problems:
        raise LibraryError(loader.problems)
    # Stable, meaningful listing order for the API: by category, then by risk group.
    ordered_exercises = sorted(exercises.values(), key=lambda e: CATEGORIES.index(e.category))
    ordered_templates = sorted(templates.values(), key=lambda t: RISK_GROUPS.index(t.risk_group))
    english = Library(
        exercises=MappingProxyType({e.id: e for e in ordered_exercises}),
        templates=MappingProxyType({t.id: t for t in ordered_templates}),
        instruments=MappingProxyType(instruments),
    )
    return replace(
        english,
        translations=MappingProxyType(
            {
                locale: replace(
                    english,
                    exercises=MappingProxyType({e.id: local_exercises[e.id] for e in ordered_exercises}),
                    templates=MappingProxyType({t.id: local_templates[t.id] for t in ordered_templates}),
                )
                for locale, (local_exercises, local_templates) in translated.items()
            }
        ),
    )


@functools.cache
def get_library() -> Library:
    """The shipped library, loaded once per process."""
    return load_library()


def _collect_exercises(loader: _Loader, files: list[tuple[ExerciseFile, _Source]]) -> dict[str, Exercise]:
    exercises: dict[str, Exercise] = {}
    origin: dict[str, str] = {}
    for exercise_file, source in files:
        for index, exercise in enumerate(exercise_file.exercises):
            loc: Loc = ("exercises", str(index), "id")
            if exercise.id in exercises:
                loader.problems.append(
                    source.at(loc, f"duplicate exercise id {exercise.id!r} (already in {origin[exercise.id]})")
                )
                continue
            exercises[exercise.id] = exercise
            origin[exercise.id] = source.where(loc)
    return exercises


def _collect_unique(loader: _Loader, files: list[tuple[Keyed, _Source]], kind: str) -> dict[str, Keyed]:
    found: dict[str, Keyed] = {}
    origin: dict[str, str] = {}
    for model, source in files:
        model_id = str(model.id)
        if model_id in found:
            loader.problems.append(
                source.at(("id",), f"duplicate {kind} id {model_id!r} (already in {origin[model_id]})")
            )
            continue
        found[model_id] = model
        origin[model_id] = source.name
    return found


def _check_template(loader: _Loader, template: PlanTemplate, source: _Source, exercises: dict[str, Exercise]) -> None:
    for level_index, level in enumerate(template.levels):
        for item_index, item in enumerate(level.exercises):
            loc = ("levels", level_index, "exercises", item_index, "exercise_id")
            exercise = exercises.get(item.exercise_id)
            if exercise is None:
                loader.problems.append(source.at(loc, f"{item.exercise_id!r} is not a known exercise", sep=" "))
            elif resolve_item(exercise, item, level.number) is None:
                loader.problems.append(
                    source.at(
                        loc,
                        f"{item.exercise_id!r} has no dosage at or below level {level.number} "
                        f"(its dosage starts at level {min(exercise.dosage)}); "
                        "give sets plus reps, hold_seconds or minutes here",
                        sep=" ",
                    )
                )


def _check_risk_groups(loader: _Loader, files: list[tuple[PlanTemplate, _Source]]) -> None:
    by_group: dict[str, str] = {}
    for template, source in files:
        if template.risk_group in by_group:
            loader.problems.append(
                source.at(
                    ("risk_group",),
                    f"risk group {template.risk_group!r} already has a template "
                    f"({by_group[template.risk_group]}); exactly one per risk group",
                )
            )
        else:
            by_group[template.risk_group] = source.name
    plans_dir = loader.display(loader.root / "plans")
    for group in RISK_GROUPS:
        if group not in by_group:
            loader.problems.append(
                f"{plans_dir}/{group}.yaml: missing — no plan template for STarT Back risk group {group!r}"
            )


def _check_instruments(loader: _Loader, files: list[tuple[Instrument, _Source]]) -> None:
    present = {instrument.id: (instrument, source) for instrument, source in files}
    instruments_dir = loader.display(loader.root / "instruments")
    for instrument_id, expected in REQUIRED_INSTRUMENTS.items():
        if instrument_id not in present:
            loader.problems.append(
                f"{instruments_dir}/{instrument_id}.yaml: missing — instrument {instrument_id!r} is required"
            )
            continue
        instrument, source = present[instrument_id]
        actual = tuple(
            (item.id, item.answer, tuple(option.value for option in item.options)) for item in instrument.items
        )
        if actual != expected:
            shape = ", ".join(f"{item_id}:{answer}" for item_id, answer, _ in expected)
            loader.problems.append(
                source.at(
                    ("items",),
                    f"must have exactly the items {shape}"
                    + (f" (q9 options {', '.join(Q9_OPTIONS)})" if instrument_id == "start_back" else ""),
                )
            )


def _translate(
    loader: _Loader,
    files: list[tuple[TranslationFile, _Source]],
    exercises: dict[str, Exercise],
    templates: dict[str, PlanTemplate],
    required: Sequence[str],
) -> dict[str, tuple[dict[str, Exercise], dict[str, PlanTemplate]]]:
    """Every exercise and plan template in each locale, checked text for text against the English.

    A locale of ``required`` without a file, an exercise or template without its text, a
    text for an unknown id, or a list of another length than the English (one sentence
    left out or added) is a problem naming the file.
    """
    found: dict[str, tuple[dict[str, Exercise], dict[str, PlanTemplate]]] = {}
    for texts, source in files:
        locale = texts.locale
        if locale not in required:
            loader.problems.append(
                source.at(("locale",), f"{locale!r} is not a shipped locale ({', '.join(required)})")
            )
            continue
        if locale in found:
            loader.problems.append(source.at(("locale",), f"a second file for {locale!r}"))
            continue
        local_exercises: dict[str, Exercise] = {}
        for exercise_id in sorted(set(texts.exercises) - set(exercises)):
            loader.problems.append(source.at(("exercises", exercise_id), "is not a known exercise"))
        for exercise_id, exercise in exercises.items():
            text = texts.exercises.get(exercise_id)
            if text is None:
                loader.problems.append(source.at(("exercises",), f"no {locale} text for exercise {exercise_id!r}"))
                continue
            for name in ("instructions", "contraindications", "equipment"):
                theirs, ours = getattr(text, name), getattr(exercise, name)
                if len(theirs) != len(ours):
                    loader.problems.append(
                        source.at(("exercises", exercise_id, name), f"has {len(theirs)} items, the English {len(ours)}")
                    )
            local_exercises[exercise_id] = exercise.model_copy(update=text.model_dump())
        local_templates: dict[str, PlanTemplate] = {}
        for template_id in sorted(set(texts.plans) - set(templates)):
            loader.problems.append(source.at(("plans", template_id), "is not a known plan template"))
        for template_id, template in templates.items():
            plan = texts.plans.get(template_id)
            if plan is None:
                loader.problems.append(source.at(("plans",), f"no {locale} text for plan template {template_id!r}"))
                continue
            numbers = [level.number for level in template.levels]
            if sorted(plan.levels) != numbers:
                loader.problems.append(
                    source.at(("plans", template_id, "levels"), f"levels {sorted(plan.levels)}, the English {numbers}")
                )
                continue
            levels = []
            for level in template.levels:
                local = plan.levels[level.number]
                if len(local.education) != len(level.education):
                    loader.problems.append(
                        source.at(
                            ("plans", template_id, "levels", level.number, "education"),
                            f"has {len(local.education)} items, the English {len(level.education)}",
                        )
                    )
                levels.append(level.model_copy(update={"name": local.name, "education": local.education}))
            local_templates[template_id] = template.model_copy(
                update={"name": plan.name, "description": plan.description, "levels": tuple(levels)}
            )
        found[locale] = (local_exercises, local_templates)
    for locale in required:
        if locale not in found and not any(texts.locale == locale for texts, _ in files):
            loader.problems.append(f"{loader.display(loader.root / 'translations')}/: no file for locale {locale!r}")
    return found
