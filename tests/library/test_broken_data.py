"""Broken data fails loudly, with a message that names the offending file."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from exercise_library import LibraryError, load_library
from tests.library.helpers import edit_yaml, read_yaml

Breakage = Callable[[Path], None]


def _exercise(data: Any, exercise_id: str) -> dict[str, Any]:
    return next(e for e in data["exercises"] if e["id"] == exercise_id)


def _edit(relative: str, edit: Callable[[Any], None]) -> Breakage:
    return lambda root: edit_yaml(root / relative, edit)


def _write(relative: str, text: str) -> Breakage:
    def write(root: Path) -> None:
        (root / relative).write_text(text, encoding="utf-8")

    return write


def _prepend(relative: str, text: str) -> Breakage:
    def prepend(root: Path) -> None:
        path = root / relative
        path.write_text(text + path.read_text(encoding="utf-8"), encoding="utf-8")

    return prepend


def _add_duplicate_exercise(root: Path) -> None:
    bridge = _exercise(read_yaml(root / "exercises" / "core_strength.yaml"), "bridge")
    edit_yaml(root / "exercises" / "stretching.yaml", lambda data: data["exercises"].append(bridge))


def _core(exercise_id: str, edit: Callable[[dict[str, Any]], None]) -> Breakage:
    return _edit("exercises/core_strength.yaml", lambda data: edit(_exercise(data, exercise_id)))


def _medium(edit: Callable[[dict[str, Any]], None]) -> Breakage:
    return _edit("plans/medium.yaml", edit)


CASES: dict[str, tuple[Breakage, tuple[str, ...]]] = {
    "unknown key in an exercise": (
        _core("bridge", lambda e: e.update(colour="red")),
        ("data/exercises/core_strength.yaml", "exercises[0].colour", "unknown key"),
    ),
    "sets as a string": (
        _core("bridge", lambda e: e["dosage"][1].update(sets="3")),
        ("data/exercises/core_strength.yaml", "exercises[0].dosage[1].sets", "valid integer", "got '3'", "line "),
    ),
    "sets as a boolean": (
        _core("bridge", lambda e: e["dosage"][1].update(sets=True)),
        ("data/exercises/core_strength.yaml", "exercises[0].dosage[1].sets", "got True"),
    ),
    "reps as a float": (
        _core("bridge", lambda e: e["dosage"][2].update(reps=8.5)),
        ("data/exercises/core_strength.yaml", "exercises[0].dosage[2].reps"),
    ),
    "unknown category": (
        _core("bridge", lambda e: e.update(category="pilates")),
        ("data/exercises/core_strength.yaml", "exercises[0].category", "'pilates'"),
    ),
    "unknown phase": (
        _core("bridge", lambda e: e.update(phases=["acute", "hyperacute"])),
        ("data/exercises/core_strength.yaml", "exercises[0].phases[1]"),
    ),
    "id not kebab case": (
        _core("bridge", lambda e: e.update(id="Glute_Bridge")),
        ("data/exercises/core_strength.yaml", "exercises[0].id", "'Glute_Bridge'"),
    ),
    "a single instruction": (
        _core("bridge", lambda e: e.update(instructions=["Lift your hips."])),
        ("data/exercises/core_strength.yaml", "exercises[0].instructions", "at least 2"),
    ),
    "a dosage with no volume": (
        _core("bridge", lambda e: e["dosage"].update({1: {"sets": 2}})),
        ("data/exercises/core_strength.yaml", "exercises[0].dosage[1]", "at least one of reps"),
    ),
    "a gap in dosage levels": (
        _core("bridge", lambda e: e["dosage"].pop(2)),
        ("data/exercises/core_strength.yaml", "exercises[0].dosage", "contiguous"),
    ),
    "walking exercise without minutes": (
        _edit(
            "exercises/walking_aerobic.yaml",
            lambda data: _exercise(data, "easy-walk")["dosage"].update({2: {"sets": 1, "reps": 10}}),
        ),
        ("data/exercises/walking_aerobic.yaml", "minutes target", "[2]"),
    ),
    "plan level naming an unknown exercise": (
        _medium(lambda plan: plan["levels"][2]["exercises"][1].update(exercise_id="brige")),
        ("data/plans/medium.yaml: levels[2].exercises[1].exercise_id 'brige' is not a known exercise (line ",),
    ),
    "duplicate exercise id": (
        _add_duplicate_exercise,
        ("data/exercises/stretching.yaml", "duplicate exercise id 'bridge'", "data/exercises/core_strength.yaml"),
    ),
    "duplicate template id": (
        _edit("plans/high.yaml", lambda plan: plan.update(id="graded-exercise")),
        ("data/plans/medium.yaml", "duplicate plan template id 'graded-exercise'", "data/plans/high.yaml"),
    ),
    "malformed YAML": (
        _write("plans/medium.yaml", "id: graded-exercise\nlevels: [\n  - number: 1\n"),
        ("data/plans/medium.yaml", "malformed YAML", "line "),
    ),
    "duplicate YAML key": (
        _prepend("plans/low.yaml", "risk_group: medium\n"),
        ("data/plans/low.yaml", "duplicate key 'risk_group'", "line "),
    ),
    "empty file": (
        _write("exercises/stretching.yaml", "# nothing here yet\n"),
        ("data/exercises/stretching.yaml", "empty"),
    ),
    "missing risk-group template": (
        lambda root: (root / "plans" / "high.yaml").unlink(),
        ("data/plans/high.yaml", "risk group 'high'"),
    ),
    "two templates for one risk group": (
        _edit("plans/high.yaml", lambda plan: plan.update(risk_group="medium")),
        ("data/plans/medium.yaml", "risk group 'medium' already has a template", "data/plans/high.yaml"),
    ),
    "non-contiguous levels": (
        _medium(lambda plan: plan["levels"][2].update(number=4)),
        ("data/plans/medium.yaml", "levels", "[1, 2, 4, 4, 5]"),
    ),
    "fewer than three levels": (
        _edit("plans/low.yaml", lambda plan: plan.update(levels=plan["levels"][:2])),
        ("data/plans/low.yaml", "levels", "at least 3"),
    ),
    "walking target above 30 minutes": (
        _medium(lambda plan: plan["levels"][4].update(walking_minutes=45)),
        ("data/plans/medium.yaml", "levels[4].walking_minutes", "30"),
    ),
    "walking target decreasing": (
        _medium(lambda plan: plan["levels"][3].update(walking_minutes=5)),
        ("data/plans/medium.yaml", "walking_minutes must not decrease"),
    ),
    "sessions per week out of range": (
        _medium(lambda plan: plan["levels"][0].update(sessions_per_week=8)),
        ("data/plans/medium.yaml", "levels[0].sessions_per_week"),
    ),
    "unknown key in a plan level": (
        _medium(lambda plan: plan["levels"][0].update(rest_days=2)),
        ("data/plans/medium.yaml", "levels[0].rest_days", "unknown key"),
    ),
    "no dosage resolvable": (
        _edit(
            "exercises/mobility.yaml",
            lambda data: _exercise(data, "pelvic-tilt")["dosage"].pop(1),
        ),
        ("data/plans/medium.yaml: levels[0].exercises[0].exercise_id 'pelvic-tilt' has no dosage at or below level 1",),
    ),
    "STarT Back q9 options changed": (
        _edit("instruments/start_back.yaml", lambda data: data["items"][8]["options"].pop()),
        ("data/instruments/start_back.yaml", "items", "very_much, extremely"),
    ),
    "missing instrument": (
        lambda root: (root / "instruments" / "odi.yaml").unlink(),
        ("data/instruments/odi.yaml", "'odi' is required"),
    ),
    "missing section directory": (
        lambda root: shutil.rmtree(root / "plans"),
        ("data/plans/", "missing"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_data_raises_library_error_naming_the_file(data_copy: Path, case: str) -> None:
    breakage, expected = CASES[case]
    load_library(data_copy)  # the untouched copy is valid
    breakage(data_copy)
    with pytest.raises(LibraryError) as caught:
        load_library(data_copy)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_every_problem_is_reported_at_once(data_copy: Path) -> None:
    _core("bridge", lambda e: e.update(colour="red"))(data_copy)
    _medium(lambda plan: plan["levels"][0].update(sessions_per_week=0))(data_copy)
    with pytest.raises(LibraryError) as caught:
        load_library(data_copy)
    assert len(caught.value.problems) == 2
    assert "2 problems" in str(caught.value)
    assert "data/exercises/core_strength.yaml" in str(caught.value)
    assert "data/plans/medium.yaml" in str(caught.value)
