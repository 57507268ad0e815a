from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rules._num import round_half_up
from api.rules.settings import RuleSettings
from api.rules.types import Classification, PainDay, RuleCode, Tier
from api.rules.version import RULESET_VERSION
from api.rules.windows import (
    checkpoint_alerts,
    classify,
    no_improvement_checkpoints,
    persistent_12w,
    progress_summary,
    window_mean,
    worsening_alerts,
)
from tests.rules.factories import START, on_day, pain_days, profile

C = Classification
WEEK1 = [6, 6, 7, 6, 6, 7, 6]


def _two_weeks(week1: Sequence[int | None], week2: Sequence[int | None]) -> list[PainDay]:
    return pain_days([*week1, *week2])


def _shown(value: float | None) -> Decimal | None:
    return None if value is None else round_half_up(value, 2)


# CLINICAL_RULES.md section 3, one row per vector.
@pytest.mark.parametrize(
    ("week1", "checked", "b", "c", "expected"),
    [
        (WEEK1, [4, 4, 3, 4, 4, 3, 4], "6.29", "3.71", C.IMPROVED),
        (WEEK1, [5, 5, 5, 6, 5, 5, 5], "6.29", "5.14", C.NO_MEANINGFUL_IMPROVEMENT),
        ([8] * 7, [6] * 7, "8.00", "6.00", C.IMPROVED),
        ([4, 4, 5, 4, 4, 5, 4], [6, 7, 6, 7, 6, 7, 6], "4.29", "6.43", C.WORSENED),
        ([6, None, 6, None, None, 6, None], [4] * 7, None, "4.00", C.INSUFFICIENT_DATA),
        ([0, 0, 1, 0, 0, 0, 0], [0] * 7, "0.14", "0.00", C.MINIMAL_PAIN),
    ],
)
def test_window_vectors(
    week1: list[int | None], checked: list[int | None], b: str | None, c: str | None, expected: Classification
) -> None:
    days = _two_weeks(week1, checked)
    baseline = window_mean(days, on_day(1), on_day(7))
    current = window_mean(days, on_day(8), on_day(14))
    assert _shown(baseline) == (None if b is None else Decimal(b))
    assert _shown(current) == (None if c is None else Decimal(c))
    assert classify(baseline, current) is expected
    summary = progress_summary(days, on_day(14))
    assert summary.classification is expected
    assert summary.ruleset_version == RULESET_VERSION
    alerts = no_improvement_checkpoints(days, on_day(14), profile())
    expected_alert = expected in (C.NO_MEANINGFUL_IMPROVEMENT, C.WORSENED)
    assert [a.code for a in alerts] == ([RuleCode.NO_IMPROVEMENT_2W] if expected_alert else [])


@pytest.mark.parametrize(("logged", "valid"), [(3, False), (4, True), (7, True)])
def test_window_needs_four_logged_days(logged: int, valid: bool) -> None:
    days = pain_days([5] * logged + [None] * (7 - logged))
    assert (window_mean(days, on_day(1), on_day(7)) is not None) is valid


def test_window_mean_ignores_days_outside_and_is_unrounded() -> None:
    days = pain_days([9, 1, 2, 2, 9], first_day=0)
    assert window_mean(days, on_day(1), on_day(3)) is None
    assert window_mean(pain_days([6, 6, 7, 6]), on_day(1), on_day(4)) == 6.25
    assert window_mean(pain_days([6, 7, 7]), on_day(1), on_day(3), RuleSettings(min_valid_days=3)) == 20 / 3


def test_duplicate_dates_are_a_caller_error() -> None:
    with pytest.raises(ValueError, match="two pain logs"):
        window_mean([*pain_days([5]), *pain_days([6])], on_day(1), on_day(7))


@pytest.mark.parametrize(
    ("baseline", "current", "expected"),
    [
        (5.0, None, C.INSUFFICIENT_DATA),
        (None, 5.0, C.INSUFFICIENT_DATA),
        (5.0, 1.0, C.MINIMAL_PAIN),  # C exactly 1.0
        (0.5, 1.0, C.MINIMAL_PAIN),
        (Fraction(2), Fraction(8, 7), C.NO_MEANINGFUL_IMPROVEMENT),  # C just above 1.0
        (6.0, 4.0, C.IMPROVED),  # delta exactly 2
        (Fraction(44, 7), Fraction(30, 7), C.IMPROVED),  # delta exactly 2, not representable
        (44 / 7, 30 / 7, C.IMPROVED),  # the same as floats
        (8.0, Fraction(43, 7), C.NO_MEANINGFUL_IMPROVEMENT),  # delta 1.86, 23 %
        (5.0, 3.5, C.IMPROVED),  # delta 1.5, pct exactly 30 %
        (Fraction(10, 3), Fraction(7, 3), C.IMPROVED),  # delta exactly 1, pct exactly 30 %
        (3.4, 2.4, C.NO_MEANINGFUL_IMPROVEMENT),  # delta 1, pct 29.4 %
        (3.0, 2.0, C.IMPROVED),  # delta 1, pct 33 %
        (2.0, 1.1, C.NO_MEANINGFUL_IMPROVEMENT),  # pct 45 % but below the 1-point floor
        (4.0, 6.0, C.WORSENED),  # delta exactly -2
        (Fraction(30, 7), Fraction(44, 7), C.WORSENED),
        (4.0, 5.9, C.NO_MEANINGFUL_IMPROVEMENT),  # delta -1.9
        (0.0, 2.0, C.WORSENED),
    ],
)
def test_classification_boundaries(
    baseline: float | Fraction | None, current: float | Fraction | None, expected: Classification
) -> None:
    assert classify(baseline, current) is expected


def test_delta_exactly_two_from_logs() -> None:
    days = _two_weeks([6, 6, 7, 6, 6, 7, 6], [4, 4, 5, 4, 4, 5, 4])  # 44/7 -> 30/7
    assert progress_summary(days, on_day(14)).classification is C.IMPROVED


def test_progress_summary_fields() -> None:
    days = _two_weeks(WEEK1, [4, 4, 3, 4, 4, 3, 4])
    summary = progress_summary(days, on_day(14))
    assert summary.programme_start == START
    assert summary.programme_day == 14
    assert summary.baseline_mean == pytest.approx(44 / 7)
    assert summary.current_mean == pytest.approx(26 / 7)
    assert summary.change == pytest.approx(18 / 7)
    assert summary.change_percent == pytest.approx(18 / 44 * 100)
    assert summary.days_logged_current == 7


def test_progress_summary_is_insufficient_while_windows_overlap_and_without_logs() -> None:
    days = pain_days([6] * 13)
    summary = progress_summary(days, on_day(13))
    assert summary.classification is C.INSUFFICIENT_DATA
    assert summary.change == 0.0
    assert progress_summary(pain_days([6] * 14), on_day(14)).classification is C.NO_MEANINGFUL_IMPROVEMENT
    empty = progress_summary([], START)
    assert (empty.programme_start, empty.classification) == (None, C.INSUFFICIENT_DATA)


def test_progress_summary_ignores_logs_after_today() -> None:
    days = pain_days([6] * 7 + [6] * 7 + [0] * 7)
    assert progress_summary(days, on_day(14)).current_mean == 6.0


# --- checkpoints --------------------------------------------------------------------

FLAT = [5] * 84  # no improvement at any checkpoint


@pytest.mark.parametrize(
    ("today", "codes"),
    [
        (13, []),
        (14, [RuleCode.NO_IMPROVEMENT_2W]),
        (27, [RuleCode.NO_IMPROVEMENT_2W]),
        (28, [RuleCode.NO_IMPROVEMENT_2W, RuleCode.NO_IMPROVEMENT_4W]),
        (42, [RuleCode.NO_IMPROVEMENT_2W, RuleCode.NO_IMPROVEMENT_4W, RuleCode.NO_IMPROVEMENT_6W]),
        (
            84,
            [
                RuleCode.NO_IMPROVEMENT_2W,
                RuleCode.NO_IMPROVEMENT_4W,
                RuleCode.NO_IMPROVEMENT_6W,
                RuleCode.PERSISTENT_12W,
            ],
        ),
    ],
)
def test_every_reached_checkpoint_is_evaluated(today: int, codes: list[RuleCode]) -> None:
    alerts = checkpoint_alerts(pain_days(FLAT[:today]), on_day(today), profile(40))
    assert [a.code for a in alerts] == codes
    assert all(a.key == f"day-{d}" for a, d in zip(alerts, [14, 28, 42, 84], strict=False))
    for alert in alerts:
        json.dumps(dict(alert.evidence))


def test_back_dated_logs_are_caught_at_a_later_checkpoint_day() -> None:
    # Logs for days 1-14 synced late, on day 30: the day-14 checkpoint is still evaluated.
    alerts = checkpoint_alerts(pain_days([5] * 14), on_day(30), profile())
    assert [a.code for a in alerts] == [RuleCode.NO_IMPROVEMENT_2W]


def test_checkpoint_evidence() -> None:
    (alert,) = no_improvement_checkpoints(pain_days(FLAT[:14]), on_day(14), profile())
    assert alert.evidence["checkpoint_on"] == on_day(14).isoformat()
    assert alert.evidence["classification"] == "no_meaningful_improvement"
    assert alert.evidence["baseline"] == {
        "start": START.isoformat(),
        "end": on_day(7).isoformat(),
        "mean": 5.0,
        "logged_days": 7,
    }
    assert alert.evidence["change"] == 0.0


def test_improved_or_insufficient_checkpoint_raises_nothing() -> None:
    improving = pain_days([8] * 7 + [5] * 7)
    assert no_improvement_checkpoints(improving, on_day(14), profile()) == ()
    sparse = pain_days([8] * 7 + [8, None, None, None, None, 8, 8])
    assert no_improvement_checkpoints(sparse, on_day(14), profile()) == ()


@pytest.mark.parametrize(
    ("age", "cancer", "rules", "tier"),
    [
        (49, False, RuleSettings(), Tier.ROUTINE),
        (50, False, RuleSettings(), Tier.URGENT_DAYS),
        (51, False, RuleSettings(), Tier.URGENT_DAYS),
        (30, True, RuleSettings(), Tier.URGENT_DAYS),
        (None, False, RuleSettings(), Tier.ROUTINE),
        (None, True, RuleSettings(), Tier.URGENT_DAYS),
        (None, False, RuleSettings(escalate_unknown_age=True), Tier.URGENT_DAYS),
    ],
)
def test_day_28_escalation(age: int | None, cancer: bool, rules: RuleSettings, tier: Tier) -> None:
    who = profile(age, cancer_history=cancer, on=on_day(28))
    alerts = no_improvement_checkpoints(pain_days(FLAT[:28]), on_day(28), who, rules)
    four_weeks = next(a for a in alerts if a.code is RuleCode.NO_IMPROVEMENT_4W)
    assert four_weeks.tier is tier
    assert four_weeks.evidence["age"] == age
    assert all(a.tier is Tier.ROUTINE for a in alerts if a.code is not RuleCode.NO_IMPROVEMENT_4W)


@pytest.mark.parametrize(
    ("last_week", "alerts"),
    [
        ([1] * 7, False),  # C exactly 1.0
        ([1] * 6 + [2], True),  # C = 8/7
        ([3, None, None, None, 3, 3, None], False),  # invalid window
        ([3, None, None, 3, 3, 3, None], True),
    ],
)
def test_twelve_week_checkpoint(last_week: list[int | None], alerts: bool) -> None:
    days = pain_days([5] * 77 + last_week)
    alert = persistent_12w(days, on_day(84))
    assert (alert is not None) is alerts
    assert persistent_12w(days, on_day(83)) is None
    if alert is not None:
        assert (alert.code, alert.tier, alert.key) == (RuleCode.PERSISTENT_12W, Tier.ROUTINE, "day-84")


# --- worsening ---------------------------------------------------------------------


def test_worsening_needs_two_complete_consecutive_weeks() -> None:
    days = pain_days([3] * 7 + [5] * 14)
    assert worsening_alerts(days, on_day(20)) == ()
    (alert,) = worsening_alerts(days, on_day(21))
    assert (alert.code, alert.tier) == (RuleCode.WORSENING, Tier.ROUTINE)
    assert alert.key == f"worsening-from:{on_day(8).isoformat()}"
    assert [w["mean"] for w in alert.evidence["windows"]] == [5.0, 5.0]  # type: ignore[attr-defined]
    json.dumps(dict(alert.evidence))


def test_worsening_key_is_stable_as_the_run_grows() -> None:
    days = pain_days([3] * 7 + [6] * 28)
    keys = {a.key for today in (21, 28, 35) for a in worsening_alerts(days, on_day(today))}
    assert keys == {f"worsening-from:{on_day(8).isoformat()}"}


@pytest.mark.parametrize(
    ("weeks_2_and_3", "alerts"),
    [
        ([5] * 14, True),  # delta exactly -2
        ([5, 5, 5, 5, 5, 5, 4] * 2, False),  # delta -1.86
        ([5] * 7 + [5, 5, 5, None, None, None, None], False),  # second week invalid
    ],
)
def test_worsening_boundaries(weeks_2_and_3: list[int | None], alerts: bool) -> None:
    days = pain_days([3] * 7 + weeks_2_and_3)
    assert bool(worsening_alerts(days, on_day(21))) is alerts


def test_separate_worsening_runs_are_separate_occurrences() -> None:
    days = pain_days([3] * 7 + [6] * 14 + [3] * 7 + [6] * 14)
    alerts = worsening_alerts(days, on_day(42))
    assert [a.key for a in alerts] == [
        f"worsening-from:{on_day(8).isoformat()}",
        f"worsening-from:{on_day(29).isoformat()}",
    ]


def test_checkpoint_alerts_include_worsening() -> None:
    codes = [a.code for a in checkpoint_alerts(pain_days([3] * 7 + [6] * 14), on_day(21), profile())]
    assert codes == [RuleCode.NO_IMPROVEMENT_2W, RuleCode.WORSENING]


# --- order invariance ------------------------------------------------------------------


@st.composite
def log_histories(draw: st.DrawFn) -> tuple[list[PainDay], date]:
    length = draw(st.integers(1, 90))
    scores = draw(st.lists(st.none() | st.integers(0, 10), min_size=length, max_size=length))
    scores[0] = draw(st.integers(0, 10))  # programme day 1 has a log
    today = on_day(draw(st.integers(1, length + 10)))
    return pain_days(scores), today


@settings(max_examples=150, deadline=None)
@given(history=log_histories(), seed=st.randoms(use_true_random=False))
def test_summary_and_alerts_are_invariant_to_log_order(
    history: tuple[list[PainDay], date], seed: random.Random
) -> None:
    days, today = history
    shuffled = list(days)
    seed.shuffle(shuffled)
    who = profile(55)
    assert progress_summary(shuffled, today) == progress_summary(days, today)
    assert checkpoint_alerts(shuffled, today, who) == checkpoint_alerts(days, today, who)
    assert checkpoint_alerts(reversed(days), today, who) == checkpoint_alerts(days, today, who)


def test_today_before_any_log_is_empty() -> None:
    days = pain_days([5] * 20)
    assert checkpoint_alerts(days, START - timedelta(days=1), profile()) == ()
