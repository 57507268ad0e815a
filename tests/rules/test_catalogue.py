from __future__ import annotations

import importlib

import pytest

from api.rules.catalogue import CATALOGUE
from api.rules.types import RuleCode, Tier

# CLINICAL_RULES.md section 8.
SECTION_8 = {
    "red_flag_emergency": {Tier.EMERGENCY},
    "red_flag_urgent_same_day": {Tier.URGENT_SAME_DAY},
    "red_flag_urgent_days": {Tier.URGENT_DAYS},
    "known_symptom": {Tier.ROUTINE},
    "persistent_numbness": {Tier.ROUTINE},
    "start_back_medium": {Tier.ROUTINE},
    "start_back_high": {Tier.ROUTINE},
    "no_improvement_2w": {Tier.ROUTINE},
    "no_improvement_4w": {Tier.ROUTINE, Tier.URGENT_DAYS},
    "no_improvement_6w": {Tier.ROUTINE},
    "persistent_12w": {Tier.ROUTINE},
    "worsening": {Tier.ROUTINE},
    "prolonged_flare": {Tier.ROUTINE},
    "silent": {Tier.ROUTINE},
    "medication_review": {Tier.ROUTINE},
}


def test_every_section_8_rule_is_a_rule_code() -> None:
    """Section 8 is the floor: a rule added later (README "Adding a rule") is pinned by its own vector test."""
    assert set(SECTION_8) <= {str(code) for code in RuleCode}


def test_catalogue_has_every_code_once_with_its_tiers() -> None:
    assert [str(e.code) for e in CATALOGUE] == [str(c) for c in RuleCode]
    for entry in CATALOGUE:
        assert set(entry.tiers) == SECTION_8.get(entry.code, set(entry.tiers)), entry.code
        assert entry.trigger and entry.source


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: str(e.code))
def test_catalogue_rules_are_documented_functions_of_the_rules_package(entry: object) -> None:
    function = entry.function  # type: ignore[attr-defined]
    module, _, name = function.rpartition(".")
    assert module.startswith("api.rules.")
    rule = getattr(importlib.import_module(module), name)
    assert rule.__doc__ and len(rule.__doc__) > 40
