"""One home per alert rule: everything that names the rules derives from ``api.rules.registry``.

README "Adding a rule" says a new rule touches its module, its registry entry and its
vector test; these tests hold the parts that make that true: the API enum, the database's
accepted codes, the catalogue, the clinician's words and the log-history rules the write
path and the sweep run are all read from the registry, and its words follow the settings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

import api.rules.types
from api.alerts.schemas import AlertPublic
from api.care_team.unassigned import QueuedAlertPublic
from api.clinicians import words
from api.models.clinical import Alert, RuleCodeText
from api.rules import catalogue, registry
from api.rules.monitoring import medication_review
from api.rules.registry import ACCEPTED_CODES, ALERT_RULES, LogHistory, RuleCode, accepted_code, history_alerts
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.triage import persistent_numbness
from api.rules.types import MedicationClass, PainDay, PatientProfile, Symptom

ROOT = Path(__file__).resolve().parents[2]
CODES = [str(rule.code) for rule in ALERT_RULES]


def test_every_rule_is_one_entry_in_the_order_of_its_code() -> None:
    assert [str(code) for code in RuleCode] == CODES
    assert len(set(CODES)) == len(CODES)
    for rule in ALERT_RULES:
        assert rule.tiers and rule.source and rule.function.startswith("api.rules.")


def test_the_api_enum_and_the_accepted_codes_are_the_registrys() -> None:
    assert api.rules.types.RuleCode is RuleCode  # re-exported, not declared twice
    for model in (AlertPublic, QueuedAlertPublic):
        assert model.model_fields["rule"].annotation is RuleCode
    assert set(CODES) == ACCEPTED_CODES
    assert isinstance(Alert.__table__.c.rule.type, RuleCodeText)  # type: ignore[attr-defined]
    assert accepted_code("silent") == "silent"
    with pytest.raises(ValueError, match="unknown alert rule code"):
        accepted_code("not_a_rule")


def test_the_catalogue_and_the_words_are_the_registrys() -> None:
    assert [str(entry.code) for entry in catalogue.CATALOGUE] == CODES
    for entry, rule in zip(catalogue.CATALOGUE, ALERT_RULES, strict=True):
        assert (entry.trigger, entry.tiers, entry.source, entry.function) == (
            rule.describe(DEFAULT_RULES),
            rule.tiers,
            rule.source,
            rule.function,
        )
    assert {code: registry.BY_CODE[code].words(DEFAULT_RULES) for code in CODES} == words.RULE_WORDS
    assert words.rule_words("medication_review") == "Muscle relaxant most days: medication review"
    assert words.rule_words("retired_rule") == "retired rule"


def test_no_consumer_spells_out_the_rule_list_again() -> None:
    """Words, catalogue and schema hold no per-code table of their own (they iterate the registry)."""
    for path in ("api/clinicians/words.py", "api/rules/catalogue.py", "api/models/clinical.py"):
        text = (ROOT / path).read_text()
        assert "RuleCode.PERSISTENT_NUMBNESS" not in text and "RuleCode.MEDICATION_REVIEW" not in text, path
    assert "rule IN (" not in (ROOT / "api/models/clinical.py").read_text()


# The words a clinician reads with the default settings (unchanged by the registry).
DEFAULT_WORDS = {
    "persistent_numbness": "Leg numbness for 7 days or more",
    "no_improvement_2w": "No meaningful improvement after 2 weeks",
    "no_improvement_4w": "No meaningful improvement after 4 weeks",
    "no_improvement_6w": "No meaningful improvement after 6 weeks",
    "persistent_12w": "Pain persisting at 12 weeks",
    "worsening": "Pain worsening for 2 weeks",
    "prolonged_flare": "Flare-up lasting more than a week",
    "silent": "No pain log for 7 days",
}
CLINIC = RuleSettings(
    persistent_numbness_days=5,
    checkpoint_2w_day=21,
    checkpoint_4w_day=35,
    checkpoint_6w_day=45,
    checkpoint_12w_day=91,
    worsening_consecutive_windows=3,
    prolonged_flare_days=10,
    silence_alert_days=15,
)
CLINIC_WORDS = {
    "persistent_numbness": "Leg numbness for 5 days or more",
    "no_improvement_2w": "No meaningful improvement after 3 weeks",
    "no_improvement_4w": "No meaningful improvement after 5 weeks",
    "no_improvement_6w": "No meaningful improvement after 45 days",
    "persistent_12w": "Pain persisting at 13 weeks",
    "worsening": "Pain worsening for 3 weeks",
    "prolonged_flare": "Flare-up lasting more than 10 days",
    "silent": "No pain log for 15 days",
}


@pytest.mark.parametrize(("settings", "expected"), [(DEFAULT_RULES, DEFAULT_WORDS), (CLINIC, CLINIC_WORDS)])
def test_words_and_catalogue_follow_the_settings(settings: RuleSettings, expected: dict[str, str]) -> None:
    for code, text in expected.items():
        assert registry.rule_words(code, settings) == text
    texts = {str(entry.code): entry.trigger for entry in catalogue.catalogue(settings)}
    assert f">= {settings.persistent_numbness_days} consecutive" in texts["persistent_numbness"]
    assert f"for {settings.silence_alert_days} local days" in texts["silent"]


def test_no_default_duration_is_written_into_the_prose() -> None:
    """With other thresholds, no word or catalogue text still says a default duration."""
    clinic = replace(CLINIC, muscle_relaxant_lookback_days=30)
    texts = [rule.words(clinic) for rule in ALERT_RULES] + [e.trigger for e in catalogue.catalogue(clinic)]
    for text in texts:
        assert not re.search(r"\b(?:7|14|28|42|84) (?:local )?days\b|\b(?:a|2|4|6|12) weeks?\b", text), text


TODAY = date(2026, 3, 2)
NONE = PatientProfile(birth_year=1980, cancer_history=False, osteoporosis_or_steroids=False)


def test_history_alerts_are_the_log_history_rules_in_registry_order() -> None:
    days = [
        PainDay(
            on=TODAY - timedelta(days=i),
            back_pain=4,
            medications=frozenset({MedicationClass.MUSCLE_RELAXANT}),
            symptoms=frozenset({Symptom.ONE_LEG_NUMBNESS}),
        )
        for i in range(25)
    ]
    history = LogHistory(days, TODAY, TODAY, NONE, DEFAULT_RULES)
    assert history_alerts(history) == [persistent_numbness(days, TODAY), medication_review(days, TODAY)]
    assert [str(r.code) for r in ALERT_RULES if r.trigger is not None] == ["persistent_numbness", "medication_review"]
    assert history_alerts(LogHistory(days[:3], TODAY, TODAY, NONE, DEFAULT_RULES)) == []


@pytest.mark.parametrize("module", ["registry", "types", "settings", "monitoring", "triage", "catalogue"])
def test_any_rules_module_may_be_imported_first(module: str) -> None:
    """``RuleCode`` is declared in the registry and re-exported by ``types``: no import order breaks."""
    code = f"import api.rules.{module}; from api.rules.types import RuleCode; print(len(RuleCode))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(ALERT_RULES))


def test_readme_adding_a_rule_names_exactly_three_files() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Adding a rule", 1)[1].split("\n## ", 1)[0]
    for named in ("api/rules/registry.py", "tests/rules/", "python -m api.docs"):
        assert named in section
