"""The shipped library loads and its content meets the product's requirements."""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

import pytest

from exercise_library import DEFAULT_ROOT, Library, get_library, load_library
from exercise_library.schema import CATEGORIES, KEBAB_PATTERN, RISK_GROUPS
from tests.library.helpers import read_yaml, total_volume, volume

NAMED_EXERCISES = (
    "knee-to-chest",
    "cat-camel",
    "pelvic-tilt",
    "lumbar-rotation",
    "bridge",
    "bird-dog",
    "dead-bug",
    "side-plank-knees",
    "side-plank-full",
    "squat",
    "sit-to-stand",
    "wall-squat",
    "hip-flexor-stretch",
    "hamstring-stretch",
    "piriformis-stretch",
    "childs-pose",
    "walking-intervals",
    "brisk-walking",
    "stationary-cycling",
    "diaphragmatic-breathing",
    "progressive-muscle-relaxation",
    "body-scan",
)


def _levels(library: Library) -> list[tuple[str, int]]:
    return [(t.id, level.number) for t in library.templates.values() for level in t.levels]


def test_shipped_library_loads_and_is_cached(library: Library) -> None:
    assert get_library() is library
    assert len(library.exercises) >= 25


def test_every_category_has_at_least_three_exercises(library: Library) -> None:
    counts = Counter(exercise.category for exercise in library.exercises.values())
    assert {category: counts[category] >= 3 for category in CATEGORIES} == dict.fromkeys(CATEGORIES, True)


@pytest.mark.parametrize("exercise_id", NAMED_EXERCISES)
def test_named_exercise_exists(library: Library, exercise_id: str) -> None:
    assert library.exercise(exercise_id).id == exercise_id


def test_exercise_ids_are_kebab_case_and_unique_across_files() -> None:
    raw_ids = [
        exercise["id"]
        for path in sorted((DEFAULT_ROOT / "exercises").glob("*.yaml"))
        for exercise in read_yaml(path)["exercises"]
    ]
    assert len(raw_ids) == len(set(raw_ids))
    assert [i for i in raw_ids if not re.fullmatch(KEBAB_PATTERN, i)] == []


def test_template_ids_are_kebab_case(library: Library) -> None:
    assert all(re.fullmatch(KEBAB_PATTERN, template_id) for template_id in library.templates)


def test_every_exercise_is_complete(library: Library) -> None:
    for exercise in library.exercises.values():
        assert len(exercise.instructions) >= 2, exercise.id
        assert {1, 2, 3} <= set(exercise.dosage), exercise.id
        assert exercise.contraindications, exercise.id
        assert exercise.phases, exercise.id
        assert exercise.tags, exercise.id
        assert exercise.summary, exercise.id


def test_walking_aerobic_exercises_have_minute_targets(library: Library) -> None:
    for exercise in library.exercises.values():
        if exercise.category == "walking_aerobic":
            assert all(dose.minutes for dose in exercise.dosage.values()), exercise.id


def test_equipment_label(library: Library) -> None:
    assert library.exercise("bridge").equipment_label == "none"
    assert library.exercise("stationary-cycling").equipment_label == "exercise bike"


@pytest.mark.parametrize("risk_group", RISK_GROUPS)
def test_one_template_per_risk_group(library: Library, risk_group: str) -> None:
    template = library.template_for_risk_group(risk_group)
    assert template.risk_group == risk_group
    assert library.level_count(template.id) >= (3 if risk_group == "low" else 4)
    assert sum(t.risk_group == risk_group for t in library.templates.values()) == 1


def test_high_risk_template_has_psychologically_informed_education(library: Library) -> None:
    education = " ".join(library.template_for_risk_group("high").education).lower()
    assert "pacing" in education
    assert "fear of movement" in education
    assert "hurt does not mean harm" in education
    assert "sleep" in education
    assert "flare plan" in education


def test_every_template_carries_the_pain_monitoring_message(library: Library) -> None:
    for template in library.templates.values():
        text = " ".join(template.education).lower()
        assert "settles by the next morning" in text, template.id


def test_every_level_prescription_resolves(library: Library) -> None:
    for template_id, level in _levels(library):
        prescription = library.prescription(template_id, level)
        assert prescription, (template_id, level)
        for item in prescription:
            assert item.sets >= 1
            assert volume(item) >= 1
            assert item.reps or item.hold_seconds or item.minutes
            assert item.name == library.exercise(item.exercise_id).name
        assert 1 <= library.sessions_per_week(template_id, level) <= 7
        assert library.level_name(template_id, level)


def test_walking_targets_rise_gradually_and_are_capped(library: Library) -> None:
    for template in library.templates.values():
        targets = [library.walking_minutes(template.id, n) for n in range(1, library.level_count(template.id) + 1)]
        assert all(later >= earlier for earlier, later in pairwise(targets)), template.id
        assert all(0 < minutes <= 30 for minutes in targets), template.id


def test_reduced_prescription_at_level_one_is_lighter_but_never_zero(library: Library) -> None:
    for template in library.templates.values():
        full = library.prescription(template.id, 1)
        reduced = library.reduced_prescription(template.id, 1)
        assert [item.exercise_id for item in reduced] == [item.exercise_id for item in full]
        assert total_volume(reduced) < total_volume(full), template.id
        for before, after in zip(full, reduced, strict=True):
            assert after.sets >= 1
            assert volume(after) >= 1
            assert volume(after) <= volume(before)


def test_reduced_prescription_above_level_one_is_the_previous_level(library: Library) -> None:
    for template_id, level in _levels(library):
        if level > 1:
            assert library.reduced_prescription(template_id, level) == library.prescription(template_id, level - 1)


def test_start_back_instrument(library: Library) -> None:
    start_back = library.instrument("start_back")
    assert [item.id for item in start_back.items] == [f"q{n}" for n in range(1, 10)]
    assert {item.answer for item in start_back.items[:8]} == {"agree_disagree"}
    assert [option.value for option in start_back.items[8].options] == [
        "not_at_all",
        "slightly",
        "moderately",
        "very_much",
        "extremely",
    ]
    assert "© Keele University 01/08/07" in start_back.copyright
    assert "commercial use needs a licence from keele university" in start_back.licence.lower()
    assert "spread down leg(s)" in start_back.items[0].text


def test_odi_instrument_has_section_titles_only(library: Library) -> None:
    odi = library.instrument("odi")
    assert [item.id for item in odi.items] == [f"s{n}" for n in range(1, 11)]
    titles = [item.text.lower() for item in odi.items]
    expected = ["pain intensity", "personal care", "lifting", "walking", "sitting"]
    expected += ["standing", "sleeping", "sex life", "social life", "travelling"]
    assert all(title.startswith(word) for title, word in zip(titles, expected, strict=True))
    assert {item.answer for item in odi.items} == {"score_0_5"}
    assert "fairbank" in odi.copyright.lower()
    assert "licence" in odi.licence.lower()


def test_load_library_with_explicit_root_matches_default(library: Library) -> None:
    explicit = load_library(DEFAULT_ROOT)
    assert list(explicit.exercises) == list(library.exercises)
    assert list(explicit.templates) == list(library.templates)
