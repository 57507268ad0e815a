from __future__ import annotations

from datetime import timedelta

import pytest

from api.rules.progression import (
    FlareState,
    flare_step,
    initial_walking_target,
    next_walking_target,
)
from api.rules.settings import RuleSettings
from api.rules.types import PainDay, PlanAction
from api.rules.version import RULESET_VERSION
from tests.rules.factories import START

DAY1 = START + timedelta(days=20)  # flare day 1


def _log(day: int, back_pain: int, flare: bool = False) -> PainDay:
    return PainDay(on=DAY1 + timedelta(days=day - 1), back_pain=back_pain, flare=flare)


def _state(usual: float | None = 3.0) -> FlareState:
    return FlareState(started_on=DAY1, reduced_until=DAY1 + timedelta(days=1), usual=usual)


@pytest.mark.parametrize(
    ("back_pain", "flare", "usual", "starts"),
    [
        (4, False, 3.0, False),  # usual + 1
        (5, False, 3.0, True),  # usual + 2
        (6, False, 3.5, True),  # usual + 2.5
        (5, False, 3.5, False),  # usual + 1.5
        (3, True, 3.0, True),  # the patient says it is a flare
        (9, False, None, False),  # no usual pain known: only the flag starts a flare
        (2, True, None, True),
    ],
)
def test_flare_start(back_pain: int, flare: bool, usual: float | None, starts: bool) -> None:
    step = flare_step(None, _log(1, back_pain, flare), DAY1, usual)
    assert (step.action is PlanAction.REDUCE) is starts
    assert step.ask_red_flags is starts
    assert step.ruleset_version == RULESET_VERSION
    if starts:
        assert step.state == FlareState(DAY1, DAY1 + timedelta(days=1), usual)
    else:
        assert step.state is None and step.action is None


def test_reduced_for_two_days_then_restored_on_day_3() -> None:
    day2 = flare_step(_state(), _log(2, 6), DAY1 + timedelta(days=1), 4.0)
    assert (day2.action, day2.state) == (None, _state())
    day3 = flare_step(_state(), _log(3, 4), DAY1 + timedelta(days=2), 5.0)  # usual + 1 vs pre-flare usual
    assert (day3.action, day3.state) == (PlanAction.RESTORE, None)


def test_day_3_not_settled_extends_two_more_days() -> None:
    day3 = flare_step(_state(), _log(3, 5), DAY1 + timedelta(days=2), 3.0)  # usual + 2
    assert day3.action is PlanAction.REDUCE
    assert day3.state == FlareState(DAY1, DAY1 + timedelta(days=3), 3.0)
    assert day3.ask_red_flags


def test_day_3_flare_flag_keeps_the_plan_reduced_even_with_low_pain() -> None:
    day3 = flare_step(_state(), _log(3, 2, flare=True), DAY1 + timedelta(days=2), 3.0)
    assert day3.action is PlanAction.REDUCE


def test_missing_day_3_log_keeps_the_plan_reduced_until_a_log_arrives() -> None:
    day3 = flare_step(_state(), None, DAY1 + timedelta(days=2), 3.0)
    assert (day3.action, day3.state) == (None, _state())
    stale = flare_step(_state(), _log(2, 3), DAY1 + timedelta(days=2), 3.0)  # yesterday's log
    assert (stale.action, stale.state) == (None, _state())
    day4 = flare_step(day3.state, _log(4, 3), DAY1 + timedelta(days=3), 3.0)
    assert day4.action is PlanAction.RESTORE


def test_without_a_pre_flare_usual_the_patient_decides_when_it_settled() -> None:
    assert flare_step(_state(None), _log(3, 8), DAY1 + timedelta(days=2), None).action is PlanAction.RESTORE
    assert flare_step(_state(None), _log(3, 2, True), DAY1 + timedelta(days=2), None).action is PlanAction.REDUCE


def test_back_dated_flare_log_does_not_start_a_flare() -> None:
    assert flare_step(None, _log(1, 9, flare=True), DAY1 + timedelta(days=3), 3.0).action is None


def test_flare_thresholds_are_settings() -> None:
    rules = RuleSettings(flare_pain_rise=3, flare_reduce_days=3)
    assert flare_step(None, _log(1, 5), DAY1, 3.0, rules).action is None
    step = flare_step(None, _log(1, 6), DAY1, 3.0, rules)
    assert step.state is not None and step.state.reduced_until == DAY1 + timedelta(days=2)


@pytest.mark.parametrize(
    ("default", "week1_mean", "target"),
    [(10.0, None, 10.0), (10.0, 8.0, 10.0), (10.0, 15.0, 15.0), (10.0, 45.0, 30.0), (35.0, None, 30.0)],
)
def test_initial_walking_target(default: float, week1_mean: float | None, target: float) -> None:
    assert initial_walking_target(default, week1_mean) == target


@pytest.mark.parametrize(
    ("current", "week_mean", "flare", "week1", "target"),
    [
        (10.0, 10.0, False, 10.0, 11.0),  # met exactly: +10 %
        (10.0, 9.9, False, 10.0, 10.0),  # not met: unchanged
        (10.0, None, False, 10.0, 10.0),  # no data: unchanged
        (11.0, 11.0, False, 10.0, 12.1),  # 11.000000000000002 in floats would not be met
        (20.0, 25.0, True, 10.0, 18.0),  # after a flare: 0.9 x target
        (10.5, 12.0, True, 10.0, 10.0),  # ... but never below the week-1 target
        (28.0, 28.0, False, 10.0, 30.0),  # capped at 30
        (30.0, 40.0, False, 10.0, 30.0),  # then maintained
    ],
)
def test_next_walking_target(current: float, week_mean: float | None, flare: bool, week1: float, target: float) -> None:
    assert next_walking_target(current, week_mean, flare, week1) == target


def test_walking_target_compounds_without_float_noise_up_to_the_cap() -> None:
    target, seen = 10.0, []
    for _ in range(15):
        target = next_walking_target(target, target, False, 10.0)
        seen.append(target)
    assert seen[:3] == [11.0, 12.1, 13.31]
    assert max(seen) == 30.0 and seen[-1] == 30.0
