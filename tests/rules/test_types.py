from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields, is_dataclass
from datetime import date

import pytest

from api.rules import RULESET_VERSION
from api.rules.monitoring import silence
from api.rules.progression import weekly_review
from api.rules.screenings import score_odi, score_start_back
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.triage import triage
from api.rules.types import (
    AlertSpec,
    Classification,
    Difficulty,
    MedicationClass,
    PatientProfile,
    PlanAction,
    ReminderKind,
    RiskGroup,
    RuleCode,
    SessionClass,
    Symptom,
    Tier,
    highest_tier,
    tier_rank,
)
from api.rules.windows import progress_summary
from tests.rules.factories import pain_days, profile, weekly_input


def test_ruleset_version() -> None:
    assert RULESET_VERSION == "2026.11.1"


def test_tier_rank_picks_the_most_urgent() -> None:
    assert max([Tier.ROUTINE, Tier.EMERGENCY, Tier.URGENT_DAYS], key=tier_rank) is Tier.EMERGENCY
    assert sorted(Tier, key=tier_rank, reverse=True) == list(Tier)
    assert highest_tier([]) is Tier.NONE
    assert highest_tier([Tier.URGENT_DAYS, Tier.URGENT_SAME_DAY]) is Tier.URGENT_SAME_DAY
    assert Tier.EMERGENCY.rank > Tier.URGENT_SAME_DAY.rank > Tier.URGENT_DAYS.rank > Tier.ROUTINE.rank > Tier.NONE.rank


def test_enum_values_are_the_documented_snake_case_names() -> None:
    assert [str(t) for t in Tier] == ["emergency", "urgent_same_day", "urgent_days", "routine", "none"]
    assert {str(c) for c in Classification} == {
        "insufficient_data",
        "minimal_pain",
        "worsened",
        "improved",
        "no_meaningful_improvement",
    }
    assert {str(r) for r in RiskGroup} == {"low", "medium", "high"}
    assert {str(s) for s in SessionClass} == {"green", "amber", "red", "unknown"}
    assert {str(d) for d in Difficulty} == {"too_easy", "about_right", "too_hard"}
    assert {str(a) for a in PlanAction} >= {"assign", "progress", "hold", "regress", "reduce", "restore", "pause"}
    assert {str(k) for k in ReminderKind} == {"daily_log_reminder", "exercise_reminder", "weekly_checkin"}
    assert "muscle_relaxant" in {str(m) for m in MedicationClass}
    assert len(Symptom) == 16 and Symptom("one_leg_numbness") is Symptom.ONE_LEG_NUMBNESS


def test_profile_age_from_birth_year() -> None:
    assert PatientProfile(1976, False, False).age_on(date(2026, 1, 1)) == 50
    assert PatientProfile(None, False, False).age_on(date(2026, 1, 1)) is None


def test_inputs_and_outputs_are_frozen_and_alerts_hashable() -> None:
    alert = AlertSpec(RuleCode.SILENT, Tier.ROUTINE, {"days": 7}, "silent-from:2026-01-01")
    with pytest.raises(FrozenInstanceError):
        alert.key = "other"  # type: ignore[misc]
    assert {alert, AlertSpec(RuleCode.SILENT, Tier.ROUTINE, {"days": 8}, "silent-from:2026-01-01")}
    with pytest.raises(FrozenInstanceError):
        DEFAULT_RULES.mic_points = 1.0  # type: ignore[misc]


def test_settings_defaults_match_the_documentation() -> None:
    s = RuleSettings()
    assert (s.mic_points, s.mic_percent, s.mic_percent_floor_points) == (2.0, 0.30, 1.0)
    assert (s.min_valid_days, s.window_days) == (4, 7)
    assert (s.checkpoint_2w_day, s.checkpoint_4w_day, s.checkpoint_6w_day, s.checkpoint_12w_day) == (14, 28, 42, 84)
    assert (s.escalation_age, s.persistent_12w_min_mean, s.worsening_points) == (50, 1.0, 2.0)
    assert (s.silence_nudge_days, s.silence_alert_days) == (3, 7)
    assert (s.muscle_relaxant_max_days, s.muscle_relaxant_lookback_days, s.persistent_numbness_days) == (21, 28, 7)
    assert (s.adherence_threshold, s.max_mean_rpe, s.next_morning_tolerance) == (0.80, 6.0, 0)
    assert (s.flare_pain_rise, s.flare_reduce_days, s.flare_restore_margin, s.prolonged_flare_days) == (2, 2, 1, 7)
    assert (s.walking_growth, s.walking_cap_minutes, s.walking_post_flare_factor) == (1.10, 30.0, 0.9)
    assert (s.backoff_weekly_after_days, s.backoff_fortnightly_after_days) == (10, 30)
    assert (s.emergency_number, s.urgent_number) == ("999", "111")
    assert (str(s.daily_log_time), str(s.exercise_time), str(s.weekly_checkin_time)) == (
        "20:00:00",
        "18:00:00",
        "19:00:00",
    )
    assert (s.weekly_checkin_weekday, str(s.quiet_start), str(s.quiet_end)) == (6, "22:00:00", "08:00:00")


def test_every_output_is_stamped_with_the_ruleset_version() -> None:
    outputs = [
        score_start_back([False] * 8, "slightly"),
        score_odi([0] * 10),
        triage(frozenset({Symptom.FEVER}), profile(), date(2026, 3, 2)),
        *triage(frozenset({Symptom.FEVER}), profile(), date(2026, 3, 2)).alerts,
        progress_summary(pain_days([5] * 14), date(2026, 3, 15)),
        silence(date(2026, 3, 1), date(2026, 3, 9)),
        weekly_review(weekly_input()),
    ]
    for output in outputs:
        assert is_dataclass(output)
        assert "ruleset_version" in {f.name for f in fields(output)}
        assert output.ruleset_version == RULESET_VERSION  # type: ignore[union-attr]


def test_alert_evidence_is_json() -> None:
    for alert in triage(frozenset(Symptom), profile(cancer_history=True), date(2026, 3, 2)).alerts:
        assert json.loads(json.dumps(dict(alert.evidence))) == dict(alert.evidence)
