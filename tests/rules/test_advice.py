"""Patient-facing copy: every tier has advice, and nothing of CLINICAL_RULES.md section 6."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from api.rules import advice
from api.rules.advice import (
    MEDICATION_REVIEW_ADVICE,
    RED_FLAG_QUESTIONS,
    SILENCE_NUDGE,
    Informed,
    advice_for,
    emergency_safety_net,
    flare_advice,
    patient_advice,
)
from api.rules.settings import RuleSettings
from api.rules.types import Symptom, Tier

RULES_DIR = Path(advice.__file__).parent

FORBIDDEN = re.compile(
    r"bed ?rest|rest in bed|stay in bed|corset|\bbelt|\bbrace\b|x-?ray|\bxray"
    r"|until (?:it|the pain|pain) (?:hurts|appears|starts)|when it hurts|stop if it hurts"
    r"|90 ?%|90 per ?cent|ninety per ?cent",
    re.IGNORECASE,
)
DOSE = re.compile(r"\b\d+(?:\.\d+)?\s?(?:mg|mcg|µg|g|ml|milligrams?)\b", re.IGNORECASE)
DRUG_NAMES = re.compile(
    r"paracetamol|ibuprofen|naproxen|diclofenac|aspirin|codeine|co-codamol|tramadol|morphine"
    r"|oxycodone|diazepam|baclofen|gabapentin|pregabalin|amitriptyline|duloxetine",
    re.IGNORECASE,
)


def _patient_texts() -> list[str]:
    settings = RuleSettings()
    return [
        *(advice_for(tier, settings) for tier in Tier),
        flare_advice(settings),
        emergency_safety_net(settings),
        SILENCE_NUDGE,
        MEDICATION_REVIEW_ADVICE,
        *RED_FLAG_QUESTIONS.values(),
    ]


def _string_constants() -> list[tuple[str, str]]:
    """Every string literal in api/rules except docstrings (which may name what is banned)."""
    found = []
    for path in sorted(RULES_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        found += [
            (path.name, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        ]
    assert len(found) > 50
    return found


@pytest.mark.parametrize("text", _patient_texts())
def test_patient_copy_has_nothing_of_section_6(text: str) -> None:
    assert not FORBIDDEN.search(text), text
    assert not DOSE.search(text), text
    assert not DRUG_NAMES.search(text), text


def test_no_string_in_the_rules_package_gives_a_dose_or_contradicted_advice() -> None:
    for filename, text in _string_constants():
        assert not DOSE.search(text), (filename, text)
        assert not FORBIDDEN.search(text), (filename, text)


def test_the_scanners_catch_what_they_should() -> None:
    for bad in ["Try bed rest", "wear a corset", "get an X-ray", "exercise until pain appears", "90 % are better"]:
        assert FORBIDDEN.search(bad), bad
    assert DOSE.search("take 400 mg")
    assert DRUG_NAMES.search("Ibuprofen")


def test_emergency_advice() -> None:
    text = advice_for(Tier.EMERGENCY)
    assert "call 999" in text and "A&E" in text and "paused" in text


def test_urgent_same_day_advice() -> None:
    text = advice_for(Tier.URGENT_SAME_DAY)
    assert "GP" in text and "today" in text and "111" in text and "paused" in text


def test_urgent_days_and_routine_advice() -> None:
    assert "within the next few days" in advice_for(Tier.URGENT_DAYS)
    assert "routine review" in advice_for(Tier.ROUTINE)
    assert "staying active helps" in advice_for(Tier.NONE)
    assert "most people improve a lot within the first six weeks" in advice_for(Tier.NONE)


def test_numbers_come_from_settings() -> None:
    eu = RuleSettings(emergency_number="112", urgent_number="116117")
    assert "112" in advice_for(Tier.EMERGENCY, eu)
    assert "116117" in advice_for(Tier.URGENT_SAME_DAY, eu)
    for tier in Tier:
        assert "999" not in advice_for(tier, eu) and "111" not in advice_for(tier, eu)


def test_non_emergency_advice_carries_the_cauda_equina_safety_net() -> None:
    for tier in (Tier.URGENT_SAME_DAY, Tier.URGENT_DAYS, Tier.ROUTINE, Tier.NONE):
        assert "bladder or bowel" in advice_for(tier)


def test_flare_advice_re_asks_every_red_flag_question_and_says_keep_moving() -> None:
    text = flare_advice()
    assert set(RED_FLAG_QUESTIONS) == set(Symptom)
    for question in RED_FLAG_QUESTIONS.values():
        assert question in text
    assert "keep moving" in text.lower() and "staying active helps" in text
    assert "prescriber" in MEDICATION_REVIEW_ADVICE


@pytest.mark.parametrize("informed", list(Informed))
@pytest.mark.parametrize("plan_paused", [True, False])
def test_composed_advice_claims_only_what_it_is_given(informed: Informed, plan_paused: bool) -> None:
    for tier in (Tier.EMERGENCY, Tier.URGENT_SAME_DAY, Tier.ROUTINE):
        text = patient_advice(tier, RuleSettings(), informed=informed, plan_paused=plan_paused)
        assert not FORBIDDEN.search(text) and not DOSE.search(text) and not DRUG_NAMES.search(text)
        assert ("physiotherapy team has been told" in text) == (informed is Informed.CARE_TEAM and tier != Tier.ROUTINE)
        assert ("asked your physiotherapist" in text) == (informed is Informed.CARE_TEAM and tier is Tier.ROUTINE)
        if tier is not Tier.ROUTINE:
            assert ("paused" in text) == plan_paused
            assert ("Backstep team has been told" in text) == (informed is Informed.SERVICE_TEAM)
            assert ("nobody could be told" in text) == (informed is Informed.NOBODY)


def test_the_reference_advice_is_the_care_team_case() -> None:
    for tier in Tier:
        assert advice_for(tier) == patient_advice(tier, informed=Informed.CARE_TEAM, plan_paused=True)
