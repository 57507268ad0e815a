"""Issue 19: the library's text in every shipped locale, held to the English source's shape.

A missing or extra text for a shipped locale is a load error naming the file; each
translation file is scanned for CLINICAL_RULES.md §6's forbidden advice in its own language.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from api.i18n import SUPPORTED_LOCALES
from exercise_library import DEFAULT_ROOT, Library, LibraryError, load_library
from exercise_library.loader import SHIPPED_LOCALES
from tests.i18n.test_catalogues import FORBIDDEN
from tests.library.helpers import edit_yaml, read_yaml

TRANSLATIONS = DEFAULT_ROOT / "translations"


def test_the_library_ships_every_locale_the_api_does() -> None:
    assert set(SHIPPED_LOCALES) == set(SUPPORTED_LOCALES) - {"en-GB"}
    assert sorted(p.stem for p in TRANSLATIONS.glob("*.yaml")) == sorted(SHIPPED_LOCALES)


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_every_text_is_translated_and_the_rest_is_the_english_data(library: Library, locale: str) -> None:
    local = library.in_locale(locale)
    for exercise in library.exercises.values():
        there = local.exercise(exercise.id)
        assert there.name != exercise.name or (exercise.id == "nordic-walking" and locale == "de-DE")
        assert there.instructions != exercise.instructions
        assert (there.dosage, there.category, there.phases, there.tags) == (
            exercise.dosage,
            exercise.category,
            exercise.phases,
            exercise.tags,
        )
    for template in library.templates.values():
        there_t = local.template(template.id)
        assert there_t.name != template.name
        assert [lv.exercises for lv in there_t.levels] == [lv.exercises for lv in template.levels]
        assert local.prescription(template.id, 1)[0].sets == library.prescription(template.id, 1)[0].sets
    assert library.in_locale("en-GB") is library


@pytest.mark.parametrize("locale", SHIPPED_LOCALES)
def test_no_translation_gives_forbidden_advice(locale: str) -> None:
    text = re.sub(r"\s+", " ", (TRANSLATIONS / f"{locale}.yaml").read_text(encoding="utf-8"))
    found = [pattern for pattern in FORBIDDEN[locale] if re.search(pattern, text, re.I)]
    assert not found, found


def _drop_exercise(data: Any) -> None:
    del data["exercises"]["bridge"]


def _drop_instruction(data: Any) -> None:
    data["exercises"]["bridge"]["instructions"].pop()


def _unknown_exercise(data: Any) -> None:
    data["exercises"]["bridgee"] = data["exercises"]["bridge"]


def _drop_level(data: Any) -> None:
    del data["plans"]["graded-exercise"]["levels"][5]


def _extra_education(data: Any) -> None:
    data["plans"]["self-management"]["levels"][1]["education"].append("Keep going.")


def _unknown_key(data: Any) -> None:
    data["exercises"]["bridge"]["colour"] = "blue"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (_drop_exercise, "no es-ES text for exercise 'bridge'"),
        (_drop_instruction, "exercises.bridge.instructions: has 4 items, the English 5"),
        (_unknown_exercise, "exercises.bridgee: is not a known exercise"),
        (_drop_level, "plans.graded-exercise.levels: levels [1, 2, 3, 4], the English [1, 2, 3, 4, 5]"),
        (_extra_education, "plans.self-management.levels[1].education: has 4 items, the English 3"),
        (_unknown_key, "exercises.bridge.colour"),
    ],
)
def test_a_text_missing_or_added_for_a_shipped_locale_is_a_load_error(
    data_copy: Path, edit: Any, expected: str
) -> None:
    edit_yaml(data_copy / "translations" / "es-ES.yaml", edit)
    with pytest.raises(LibraryError) as caught:
        load_library(data_copy)
    assert "data/translations/es-ES.yaml" in str(caught.value)
    assert expected in str(caught.value)


def test_a_shipped_locale_without_its_file_is_a_load_error(data_copy: Path) -> None:
    (data_copy / "translations" / "fr-FR.yaml").unlink()
    with pytest.raises(LibraryError, match="no file for locale 'fr-FR'"):
        load_library(data_copy)


def test_a_file_for_a_locale_not_shipped_is_a_load_error(data_copy: Path) -> None:
    data = read_yaml(data_copy / "translations" / "fr-FR.yaml")
    edit_yaml(data_copy / "translations" / "fr-FR.yaml", lambda d: d.update(locale="it-IT"))
    assert data["locale"] == "fr-FR"
    with pytest.raises(LibraryError, match="'it-IT' is not a shipped locale"):
        load_library(data_copy)
