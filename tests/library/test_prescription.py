"""Dosage resolution, overrides and the flare reduction, on a small synthetic library."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from exercise_library import DEFAULT_ROOT, Library, LibraryError, Prescribed, load_library
from tests.library.helpers import write_yaml


def _exercise(exercise_id: str, category: str, dosage: dict[int, dict[str, int]]) -> dict[str, Any]:
    return {
        "id": exercise_id,
        "name": exercise_id.replace("-", " ").capitalize(),
        "category": category,
        "summary": "A test exercise.",
        "instructions": ["First step.", "Second step."],
        "dosage": dosage,
        "contraindications": ["New or worsening leg weakness — contact your physiotherapist first."],
        "phases": ["subacute"],
    }


EXERCISES = [
    _exercise("three-sets", "core_strength", {1: {"sets": 3, "reps": 10}, 2: {"sets": 3, "reps": 12}}),
    _exercise("one-set-reps", "mobility", {1: {"sets": 1, "reps": 5, "hold_seconds": 10}}),
    _exercise("one-set-hold", "stretching", {1: {"sets": 1, "hold_seconds": 30}}),
    _exercise("one-rep", "mobility", {1: {"sets": 1, "reps": 1}}),
    _exercise("walk", "walking_aerobic", {1: {"sets": 1, "minutes": 10}, 3: {"sets": 1, "minutes": 20}}),
    _exercise("breathe", "relaxation", {1: {"sets": 1, "minutes": 5}}),
    _exercise("advanced", "core_strength", {3: {"sets": 3, "hold_seconds": 30}}),
]
EXERCISES[4]["dosage"][2] = {"sets": 1, "minutes": 15}


def _plan(risk_group: str, levels: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "id": f"{risk_group}-plan",
        "name": f"{risk_group} plan",
        "risk_group": risk_group,
        "description": "A test plan.",
        "levels": [
            {"number": n, "name": f"Level {n}", "walking_minutes": 10 + 5 * n, "exercises": items}
            for n, items in enumerate(levels, start=1)
        ],
    }


LEVEL_1: list[dict[str, Any]] = [{"exercise_id": e["id"]} for e in EXERCISES[:6]]
LEVEL_2: list[dict[str, Any]] = [
    {"exercise_id": "three-sets", "reps": 8},
    {"exercise_id": "advanced", "sets": 2, "hold_seconds": 10},
]
LEVEL_3: list[dict[str, Any]] = [
    {"exercise_id": "three-sets"},
    {"exercise_id": "advanced"},
    {"exercise_id": "walk", "minutes": 12},
]


@pytest.fixture
def synthetic(tmp_path: Path) -> Library:
    root = tmp_path / "data"
    shutil.copytree(DEFAULT_ROOT / "instruments", root / "instruments")
    write_yaml(root / "exercises" / "test.yaml", {"exercises": EXERCISES})
    for group in ("low", "medium", "high"):
        write_yaml(root / "plans" / f"{group}.yaml", _plan(group, [LEVEL_1, LEVEL_2, LEVEL_3]))
    return load_library(root)


def test_prescription_uses_the_exercise_dosage_for_the_level(synthetic: Library) -> None:
    first = synthetic.prescription("low-plan", 1)
    assert first[0] == Prescribed("three-sets", "Three sets", sets=3, reps=10)
    assert first[1] == Prescribed("one-set-reps", "One set reps", sets=1, reps=5, hold_seconds=10)
    assert first[4] == Prescribed("walk", "Walk", sets=1, minutes=10)


def test_overrides_replace_only_the_fields_they_name(synthetic: Library) -> None:
    assert synthetic.prescription("low-plan", 2)[0] == Prescribed("three-sets", "Three sets", sets=3, reps=8)
    assert synthetic.prescription("low-plan", 3)[2] == Prescribed("walk", "Walk", sets=1, minutes=12)


def test_dosage_falls_back_to_the_highest_defined_level_below(synthetic: Library) -> None:
    assert synthetic.prescription("low-plan", 3)[0] == Prescribed("three-sets", "Three sets", sets=3, reps=12)


def test_overrides_alone_resolve_below_an_exercises_first_dosage(synthetic: Library) -> None:
    advanced = synthetic.prescription("low-plan", 2)[1]
    assert advanced == Prescribed("advanced", "Advanced", sets=2, hold_seconds=10)
    assert synthetic.prescription("low-plan", 3)[1] == Prescribed("advanced", "Advanced", sets=3, hold_seconds=30)


def test_reduced_prescription_at_level_one_halves_the_volume(synthetic: Library) -> None:
    reduced = {item.exercise_id: item for item in synthetic.reduced_prescription("low-plan", 1)}
    assert reduced["three-sets"] == Prescribed("three-sets", "Three sets", sets=1, reps=10)
    assert reduced["one-set-reps"] == Prescribed("one-set-reps", "One set reps", sets=1, reps=2, hold_seconds=10)
    assert reduced["one-set-hold"] == Prescribed("one-set-hold", "One set hold", sets=1, hold_seconds=15)
    assert reduced["one-rep"] == Prescribed("one-rep", "One rep", sets=1, reps=1)  # never zero


def test_walking_and_relaxation_continue_unchanged_in_a_flare(synthetic: Library) -> None:
    reduced = {item.exercise_id: item for item in synthetic.reduced_prescription("low-plan", 1)}
    assert reduced["walk"] == Prescribed("walk", "Walk", sets=1, minutes=10)
    assert reduced["breathe"] == Prescribed("breathe", "Breathe", sets=1, minutes=5)


def test_reduced_prescription_above_level_one_is_the_previous_level(synthetic: Library) -> None:
    assert synthetic.reduced_prescription("low-plan", 3) == synthetic.prescription("low-plan", 2)
    assert synthetic.reduced_prescription("low-plan", 2) == synthetic.prescription("low-plan", 1)


def test_level_accessors(synthetic: Library) -> None:
    assert synthetic.level_count("medium-plan") == 3
    assert synthetic.level_name("medium-plan", 2) == "Level 2"
    assert synthetic.walking_minutes("medium-plan", 3) == 25
    assert synthetic.sessions_per_week("medium-plan", 1) == 3  # the default
    assert synthetic.template_for_risk_group("high").id == "high-plan"


@pytest.mark.parametrize("level", [0, 4, -1])
def test_unknown_level_is_a_key_error(synthetic: Library, level: int) -> None:
    with pytest.raises(KeyError, match="no level"):
        synthetic.prescription("low-plan", level)
    with pytest.raises(KeyError, match="no level"):
        synthetic.reduced_prescription("low-plan", level)


def test_unknown_ids_are_key_errors(synthetic: Library) -> None:
    with pytest.raises(KeyError, match="unknown plan template"):
        synthetic.prescription("nope", 1)
    with pytest.raises(KeyError, match="unknown exercise"):
        synthetic.exercise("nope")
    with pytest.raises(KeyError, match="unknown instrument"):
        synthetic.instrument("nope")
    with pytest.raises(KeyError, match="risk group"):
        synthetic.template_for_risk_group("extreme")


def test_library_is_read_only(library: Library) -> None:
    with pytest.raises(TypeError):
        library.exercises["bridge"] = library.exercise("cat-camel")  # type: ignore[index]
    with pytest.raises(AttributeError):
        library.exercises = {}  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        library.exercise("bridge").name = "Renamed"  # type: ignore[misc]


def test_library_error_lists_every_problem() -> None:
    error = LibraryError(["a.yaml: one", "b.yaml: two"])
    assert error.problems == ("a.yaml: one", "b.yaml: two")
    assert str(error) == "2 problems in the exercise library:\n- a.yaml: one\n- b.yaml: two"
    assert str(LibraryError("a.yaml: one")) == "a.yaml: one"
