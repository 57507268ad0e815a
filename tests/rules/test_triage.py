from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rules.settings import RuleSettings
from api.rules.triage import CES_SYMPTOMS, persistent_numbness, triage
from api.rules.types import PatientProfile, RuleCode, Symptom, Tier, highest_tier
from api.rules.version import RULESET_VERSION
from tests.rules.factories import START, profile, symptom_days

S = Symptom
ON = START


def _tier(*symptoms: Symptom, who: PatientProfile | None = None) -> Tier:
    return triage(frozenset(symptoms), who or profile(), ON).tier


# CLINICAL_RULES.md section 2, one row per vector.
@pytest.mark.parametrize(
    ("symptoms", "who", "tier"),
    [
        ((), profile(), Tier.NONE),
        ((S.BLADDER_CHANGE,), profile(), Tier.EMERGENCY),
        ((S.BOTH_LEGS_SYMPTOMS,), profile(), Tier.EMERGENCY),
        ((S.ONE_LEG_WEAKNESS,), profile(cancer_history=True), Tier.EMERGENCY),
        ((S.ONE_LEG_WEAKNESS,), profile(), Tier.URGENT_SAME_DAY),
        ((S.FEVER,), profile(), Tier.URGENT_SAME_DAY),
        ((S.MINOR_TRAUMA,), profile(72, osteoporosis_or_steroids=True), Tier.URGENT_DAYS),
        ((S.SADDLE_NUMBNESS, S.FEVER), profile(), Tier.EMERGENCY),
    ],
)
def test_triage_vectors(symptoms: tuple[Symptom, ...], who: PatientProfile, tier: Tier) -> None:
    result = triage(frozenset(symptoms), who, ON)
    assert result.tier is tier
    assert result.ruleset_version == RULESET_VERSION


_ALONE = {
    S.SADDLE_NUMBNESS: Tier.EMERGENCY,
    S.BLADDER_CHANGE: Tier.EMERGENCY,
    S.BOWEL_CHANGE: Tier.EMERGENCY,
    S.SEXUAL_DYSFUNCTION: Tier.EMERGENCY,
    S.BOTH_LEGS_SYMPTOMS: Tier.EMERGENCY,
    S.BOTH_LEGS_WEAKNESS: Tier.EMERGENCY,
    S.ONE_LEG_WEAKNESS: Tier.URGENT_SAME_DAY,
    S.ONE_LEG_NUMBNESS: Tier.NONE,
    S.FEVER: Tier.URGENT_SAME_DAY,
    S.UNEXPLAINED_WEIGHT_LOSS: Tier.URGENT_SAME_DAY,
    S.NIGHT_PAIN: Tier.URGENT_SAME_DAY,
    S.THORACIC_PAIN: Tier.NONE,
    S.PAIN_ON_STRAINING: Tier.NONE,
    S.MAJOR_TRAUMA: Tier.EMERGENCY,
    S.MINOR_TRAUMA: Tier.NONE,
    S.CHEST_PAIN: Tier.EMERGENCY,
}
_WITH_CANCER = {
    **_ALONE,
    S.ONE_LEG_WEAKNESS: Tier.EMERGENCY,
    S.ONE_LEG_NUMBNESS: Tier.EMERGENCY,
    S.THORACIC_PAIN: Tier.URGENT_SAME_DAY,
    S.PAIN_ON_STRAINING: Tier.URGENT_SAME_DAY,
}


def test_tier_tables_cover_every_symptom() -> None:
    assert set(_ALONE) == set(Symptom) == set(_WITH_CANCER)
    assert len(Symptom) == 16


@pytest.mark.parametrize("symptom", list(Symptom))
def test_each_symptom_alone(symptom: Symptom) -> None:
    assert _tier(symptom) is _ALONE[symptom]
    assert _tier(symptom, who=profile(cancer_history=True)) is _WITH_CANCER[symptom]


@pytest.mark.parametrize(
    ("who", "tier"),
    [
        (profile(72), Tier.NONE),  # age alone plays no role by default
        (profile(30, osteoporosis_or_steroids=True), Tier.URGENT_DAYS),
        (profile(None, osteoporosis_or_steroids=True), Tier.URGENT_DAYS),
        (profile(72, osteoporosis_or_steroids=True), Tier.URGENT_DAYS),
    ],
)
def test_fragility_fracture_pattern(who: PatientProfile, tier: Tier) -> None:
    result = triage(frozenset({S.MINOR_TRAUMA}), who, ON)
    assert result.tier is tier
    if tier is Tier.URGENT_DAYS:
        assert [a.code for a in result.alerts] == [RuleCode.RED_FLAG_URGENT_DAYS]


@pytest.mark.parametrize(("age", "tier"), [(64, Tier.NONE), (65, Tier.URGENT_DAYS), (None, Tier.NONE)])
def test_fragility_age_is_an_opt_in_setting(age: int | None, tier: Tier) -> None:
    clinic = RuleSettings(fragility_min_age=65)
    assert triage(frozenset({S.MINOR_TRAUMA}), profile(age), ON, settings=clinic).tier is tier


def test_known_symptom_is_routine_instead_of_its_own_tier() -> None:
    result = triage(frozenset({S.FEVER}), profile(), ON, known_symptoms=frozenset({S.FEVER}))
    assert result.tier is Tier.ROUTINE
    (alert,) = result.alerts
    assert (alert.code, alert.tier, alert.key) == (RuleCode.KNOWN_SYMPTOM, Tier.ROUTINE, "known:fever")
    assert alert.evidence["own_tiers"] == {"fever": "urgent_same_day"}
    assert result.triggers == ("known:fever",)


def test_new_symptom_keeps_its_tier_beside_a_known_one() -> None:
    result = triage(
        frozenset({S.FEVER, S.BLADDER_CHANGE}), profile(), ON, known_symptoms=frozenset({S.FEVER, S.NIGHT_PAIN})
    )
    assert result.tier is Tier.EMERGENCY
    assert [a.code for a in result.alerts] == [RuleCode.RED_FLAG_EMERGENCY, RuleCode.KNOWN_SYMPTOM]


def test_known_cancer_combination_is_routine() -> None:
    who = profile(cancer_history=True)
    known = frozenset({S.ONE_LEG_WEAKNESS})
    assert triage(frozenset({S.ONE_LEG_WEAKNESS}), who, ON, known_symptoms=known).tier is Tier.ROUTINE


def test_known_symptom_that_triggers_nothing_raises_nothing() -> None:
    result = triage(frozenset({S.MINOR_TRAUMA}), profile(), ON, known_symptoms=frozenset({S.MINOR_TRAUMA}))
    assert (result.tier, result.alerts) == (Tier.NONE, ())


def test_one_alert_per_triggered_code_with_keys_and_json_evidence() -> None:
    result = triage(frozenset({S.SADDLE_NUMBNESS, S.FEVER, S.CHEST_PAIN}), profile(60), ON)
    codes = [a.code for a in result.alerts]
    assert codes == [RuleCode.RED_FLAG_EMERGENCY, RuleCode.RED_FLAG_URGENT_SAME_DAY]
    assert result.alerts[0].key == "2026-03-02:chest_pain+saddle_numbness"
    assert result.alerts[1].key == "2026-03-02:fever"
    assert result.alerts[0].evidence["triggers"] == ["chest_pain", "saddle_numbness"]
    assert result.alerts[0].evidence["age"] == 60
    for alert in result.alerts:
        json.dumps(dict(alert.evidence))
        assert alert.ruleset_version == RULESET_VERSION


@pytest.mark.parametrize(
    ("symptom", "pauses"),
    [
        (S.BOWEL_CHANGE, True),
        (S.NIGHT_PAIN, True),
        (S.MINOR_TRAUMA, False),
        (S.THORACIC_PAIN, False),
    ],
)
def test_plan_paused_for_emergency_and_urgent_same_day(symptom: Symptom, pauses: bool) -> None:
    result = triage(frozenset({symptom}), profile(osteoporosis_or_steroids=True), ON)
    assert result.pauses_plan is pauses


def test_advice_matches_tier_and_numbers_are_settings() -> None:
    emergency = triage(frozenset({S.BLADDER_CHANGE}), profile(), ON)
    assert "999" in emergency.advice and "A&E" in emergency.advice and "paused" in emergency.advice
    urgent = triage(frozenset({S.FEVER}), profile(), ON, settings=RuleSettings(urgent_number="116117"))
    assert "116117" in urgent.advice and "today" in urgent.advice
    eu = triage(frozenset({S.CHEST_PAIN}), profile(), ON, settings=RuleSettings(emergency_number="112"))
    assert "112" in eu.advice and "999" not in eu.advice


# --- properties -----------------------------------------------------------------------

symptom_sets = st.frozensets(st.sampled_from(list(Symptom)))
profiles = st.builds(
    PatientProfile,
    birth_year=st.none() | st.integers(1920, 2008),
    cancer_history=st.booleans(),
    osteoporosis_or_steroids=st.booleans(),
)
dates = st.dates(date(2025, 1, 1), date(2030, 12, 31))


@settings(max_examples=300)
@given(
    ces=st.sampled_from(sorted(CES_SYMPTOMS)),
    others=symptom_sets,
    known=symptom_sets,
    who=profiles,
    on=dates,
)
def test_any_new_ces_symptom_is_an_emergency(
    ces: Symptom, others: frozenset[Symptom], known: frozenset[Symptom], who: PatientProfile, on: date
) -> None:
    result = triage(others | {ces}, who, on, known_symptoms=known - {ces})
    assert result.tier is Tier.EMERGENCY
    assert RuleCode.RED_FLAG_EMERGENCY in {a.code for a in result.alerts}
    assert result.pauses_plan


@settings(max_examples=300)
@given(symptoms=symptom_sets, known=symptom_sets, who=profiles, on=dates)
def test_highest_individual_trigger_wins(
    symptoms: frozenset[Symptom], known: frozenset[Symptom], who: PatientProfile, on: date
) -> None:
    result = triage(symptoms, who, on, known_symptoms=known)
    individually = [triage(frozenset({s}), who, on, known_symptoms=known).tier for s in symptoms]
    assert result.tier is highest_tier(individually)
    assert result.tier is highest_tier(a.tier for a in result.alerts)
    assert len({a.code for a in result.alerts}) == len(result.alerts)


# --- persistent numbness ------------------------------------------------------------

NUMB = frozenset({S.ONE_LEG_NUMBNESS})


def _daily(n: int, first: date = ON) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


@pytest.mark.parametrize(("logged", "alerts"), [(6, False), (7, True), (8, True)])
def test_persistent_numbness_boundary(logged: int, alerts: bool) -> None:
    days = symptom_days(_daily(logged), NUMB)
    alert = persistent_numbness(days, days[-1].on)
    assert (alert is not None) is alerts
    if alert is not None:
        assert (alert.code, alert.tier) == (RuleCode.PERSISTENT_NUMBNESS, Tier.ROUTINE)
        assert alert.key == f"numbness-from:{ON.isoformat()}"
        assert alert.evidence["logged_days"] == logged
        json.dumps(dict(alert.evidence))


def test_unlogged_days_neither_count_nor_break_the_run() -> None:
    every_other_day = [ON + timedelta(days=2 * i) for i in range(7)]
    alert = persistent_numbness(symptom_days(every_other_day, NUMB), every_other_day[-1])
    assert alert is not None
    assert alert.evidence["calendar_days"] == 13


def test_a_log_without_numbness_breaks_the_run() -> None:
    dates_ = _daily(8)
    days = symptom_days(dates_[:3], NUMB) + symptom_days(dates_[3:4], frozenset()) + symptom_days(dates_[4:], NUMB)
    assert persistent_numbness(days, dates_[-1]) is None


def test_numbness_logs_after_today_are_ignored() -> None:
    days = symptom_days(_daily(7), NUMB)
    assert persistent_numbness(days, days[5].on) is None
