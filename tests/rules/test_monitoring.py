from __future__ import annotations

import json
from datetime import timedelta

import pytest

from api.rules.monitoring import medication_review, prolonged_flare, silence
from api.rules.settings import RuleSettings
from api.rules.types import MedicationClass, PainDay, RuleCode, Tier
from api.rules.version import RULESET_VERSION
from tests.rules.factories import START, medication_days

TODAY = START + timedelta(days=60)


@pytest.mark.parametrize(
    ("days_since_log", "nudge", "alert"),
    [(0, False, False), (1, False, False), (2, False, False), (3, True, False), (6, True, False), (7, True, True)],
)
def test_silence_boundaries(days_since_log: int, nudge: bool, alert: bool) -> None:
    last = TODAY - timedelta(days=days_since_log)
    result = silence(last, TODAY)
    assert result.days_silent == days_since_log
    assert result.nudge is nudge
    assert (result.alert is not None) is alert
    assert result.ruleset_version == RULESET_VERSION
    if result.alert is not None:
        assert (result.alert.code, result.alert.tier) == (RuleCode.SILENT, Tier.ROUTINE)
        assert result.alert.key == f"silent-from:{(last + timedelta(days=1)).isoformat()}"
        json.dumps(dict(result.alert.evidence))


def test_silence_key_is_one_per_episode() -> None:
    last = TODAY - timedelta(days=7)
    keys = {silence(last, TODAY + timedelta(days=i)).alert.key for i in range(5)}  # type: ignore[union-attr]
    assert len(keys) == 1


def test_silence_before_the_first_log_counts_from_enrolment() -> None:
    assert silence(None, TODAY).alert is None
    assert silence(None, TODAY).days_silent is None
    result = silence(None, TODAY, enrolled_on=TODAY - timedelta(days=7))
    assert result.alert is not None and result.alert.key == f"silent-from:{(TODAY - timedelta(days=7)).isoformat()}"


def test_silence_thresholds_are_settings() -> None:
    result = silence(TODAY - timedelta(days=2), TODAY, RuleSettings(silence_nudge_days=2, silence_alert_days=2))
    assert result.nudge and result.alert is not None


def _relaxant_on(n_days: int) -> list[PainDay]:
    """A muscle relaxant logged on the ``n_days`` days ending TODAY."""
    return medication_days([TODAY - timedelta(days=i) for i in range(n_days)], MedicationClass.MUSCLE_RELAXANT)


@pytest.mark.parametrize(("days_taken", "alerts"), [(20, False), (21, False), (22, True), (28, True)])
def test_medication_review_boundary(days_taken: int, alerts: bool) -> None:
    alert = medication_review(_relaxant_on(days_taken), TODAY)
    assert (alert is not None) is alerts
    if alert is not None:
        assert (alert.code, alert.tier) == (RuleCode.MEDICATION_REVIEW, Tier.ROUTINE)
        assert alert.evidence["days_with_medication"] == days_taken
        assert "prescriber" in str(alert.evidence["patient_advice"])
        json.dumps(dict(alert.evidence))


def test_medication_review_counts_only_the_last_28_days_and_only_muscle_relaxants() -> None:
    older = medication_days([TODAY - timedelta(days=28 + i) for i in range(10)], MedicationClass.MUSCLE_RELAXANT)
    recent = _relaxant_on(21)
    assert medication_review([*older, *recent], TODAY) is None
    opioids = medication_days([TODAY - timedelta(days=i) for i in range(28)], MedicationClass.OPIOID)
    assert medication_review(opioids, TODAY) is None


def test_medication_review_key_is_stable_while_the_episode_continues() -> None:
    days = _relaxant_on(40)
    keys = {medication_review(days, TODAY - timedelta(days=i)).key for i in range(10)}  # type: ignore[union-attr]
    assert keys == {f"since:{(TODAY - timedelta(days=39 - 21)).isoformat()}"}


@pytest.mark.parametrize(("days_since_start", "alerts"), [(0, False), (6, False), (7, True), (12, True)])
def test_prolonged_flare_boundary(days_since_start: int, alerts: bool) -> None:
    started = TODAY - timedelta(days=days_since_start)
    alert = prolonged_flare(started, TODAY)
    assert (alert is not None) is alerts
    if alert is not None:
        assert (alert.code, alert.tier, alert.key) == (
            RuleCode.PROLONGED_FLARE,
            Tier.ROUTINE,
            f"flare-from:{started.isoformat()}",
        )
        assert alert.evidence["duration_days"] == days_since_start + 1
    assert prolonged_flare(None, TODAY) is None
