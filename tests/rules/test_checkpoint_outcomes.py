"""checkpoint_outcomes and complete_through (api.rules.windows)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api.rules.types import Classification
from api.rules.windows import checkpoint_alerts, checkpoint_outcomes, complete_through
from tests.rules.factories import on_day, pain_days, profile

BASELINE = [6, 6, 7, 6, 6, 7, 6]


def test_no_checkpoint_before_day_14() -> None:
    assert checkpoint_outcomes(pain_days(BASELINE * 2), on_day(13)) == ()
    assert checkpoint_outcomes([], on_day(30)) == ()


def test_each_reached_checkpoint_is_classified_whether_or_not_it_alerts() -> None:
    days = pain_days(BASELINE + [4, 4, 3, 4, 4, 3, 4] * 3 + [5, 5, 5, 6, 5, 5, 5] * 2)
    outcomes = checkpoint_outcomes(days, on_day(42))
    assert [(o.checkpoint_day, o.checkpoint_on, o.classification) for o in outcomes] == [
        (14, on_day(14), Classification.IMPROVED),
        (28, on_day(28), Classification.IMPROVED),
        (42, on_day(42), Classification.NO_MEANINGFUL_IMPROVEMENT),
    ]
    assert outcomes[0].baseline_mean == pytest.approx(44 / 7)
    assert outcomes[2].current_mean == pytest.approx(36 / 7)
    alerted = {a.evidence["checkpoint_day"] for a in checkpoint_alerts(days, on_day(42), profile())}
    assert alerted == {o.checkpoint_day for o in outcomes if o.classification is not Classification.IMPROVED}


def test_day_84_and_insufficient_windows() -> None:
    days = pain_days(BASELINE + [None] * 70 + [2] * 7)
    outcomes = {o.checkpoint_day: o for o in checkpoint_outcomes(days, on_day(84))}
    assert set(outcomes) == {14, 28, 42, 84}
    assert outcomes[14].classification is Classification.INSUFFICIENT_DATA
    assert outcomes[14].current_mean is None
    assert outcomes[84].classification is Classification.IMPROVED


def test_complete_through_is_yesterday_until_today_is_logged() -> None:
    today = on_day(14)
    assert complete_through(today, None) == today - timedelta(days=1)
    assert complete_through(today, on_day(10)) == today - timedelta(days=1)
    assert complete_through(today, today) == today
    assert complete_through(today, today + timedelta(days=1)) == today - timedelta(days=1)  # a future log is ignored
