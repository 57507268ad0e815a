from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rules.progression import (
    WeeklyReviewInput,
    adherence,
    classify_session,
    next_morning_pain,
    planned_weekdays,
    session_class,
    usual_pain,
    weekly_review,
)
from api.rules.settings import RuleSettings
from api.rules.types import PlanAction, SessionClass, SessionRecord
from api.rules.version import RULESET_VERSION
from tests.rules.factories import on_day, pain_days, weekly_input

G, A, R, U = SessionClass.GREEN, SessionClass.AMBER, SessionClass.RED, SessionClass.UNKNOWN


# CLINICAL_RULES.md section 5 session classes, one row per vector.
@pytest.mark.parametrize(
    ("pain_during", "next_morning", "usual", "expected"),
    [(2, 3, 3, G), (5, 3, 3, A), (6, 3, 3, R), (4, 5, 3, R), (3, None, 3, U)],
)
def test_session_class_vectors(
    pain_during: int, next_morning: int | None, usual: float, expected: SessionClass
) -> None:
    assert classify_session(pain_during, next_morning, usual) is expected


@pytest.mark.parametrize(
    ("pain_during", "next_morning", "usual", "rules", "expected"),
    [
        (3, 3, 3.0, RuleSettings(), G),  # pain during 3: last green
        (4, 3, 3.0, RuleSettings(), A),  # 4: first amber
        (5, 3, 3.0, RuleSettings(), A),
        (6, 3, 3.0, RuleSettings(), R),  # 6: first red
        (0, 4, 3.0, RuleSettings(), R),  # next morning usual + 1: not settled
        (0, 4, 3.5, RuleSettings(), R),
        (0, 3, 3.5, RuleSettings(), G),
        (0, 4, 3.0, RuleSettings(next_morning_tolerance=1), G),
        (0, 5, 3.0, RuleSettings(next_morning_tolerance=1), R),
        (7, None, 3.0, RuleSettings(), R),  # high pain during is red even without next morning
        (2, 3, None, RuleSettings(), U),  # no usual pain to compare with
    ],
)
def test_session_class_boundaries(
    pain_during: int, next_morning: int | None, usual: float | None, rules: RuleSettings, expected: SessionClass
) -> None:
    assert classify_session(pain_during, next_morning, usual, rules) is expected


def test_usual_pain_is_the_median_of_the_seven_days_before() -> None:
    days = pain_days([9, 2, 3, 3, 4, 8, 2, 2, 10])  # days 1-9
    assert usual_pain(days, on_day(9)) == 3.0  # days 2-8, not day 1 or day 9
    assert usual_pain(pain_days([2, 5]), on_day(3)) == 3.5
    assert usual_pain(days, on_day(1)) is None


def test_session_next_morning_falls_back_to_next_days_log() -> None:
    days = pain_days([3] * 7 + [None, 5])
    session = SessionRecord(on=on_day(8), pain_during=2, pain_next_morning=None, rpe=4, difficulty=None)
    assert next_morning_pain(session, days) == 5
    assert session_class(session, days) is R
    own = replace(session, pain_next_morning=3)
    assert next_morning_pain(own, days) == 3
    assert session_class(own, days) is G
    assert session_class(replace(session, on=on_day(9)), days) is U


# CLINICAL_RULES.md section 5 weekly review, one row per vector.
@pytest.mark.parametrize(
    ("planned", "done", "classes", "prev", "this", "rpe", "days", "flare", "action", "reason"),
    [
        (3, 3, (G, G, G), 4.3, 4.0, 4, 7, False, PlanAction.PROGRESS, None),
        (3, 2, (G, G), 4.0, 3.9, 4, 7, False, PlanAction.HOLD, "adherence 67 % (below 80 %)"),
        (3, 3, (R, R, G), 4.0, 4.6, 6, 7, False, PlanAction.REGRESS, "2 red sessions this week"),
        (3, 3, (G, G, G), 4.0, 4.0, 4, 7, True, PlanAction.REGRESS, "a flare-up this week"),
        (3, 3, (G, G, G), 4.0, 3.8, 4, 4, False, PlanAction.HOLD, "4 days at this level (needs 7)"),
    ],
)
def test_weekly_review_vectors(
    planned: int,
    done: int,
    classes: tuple[SessionClass, ...],
    prev: float,
    this: float,
    rpe: float,
    days: int,
    flare: bool,
    action: PlanAction,
    reason: str | None,
) -> None:
    decision = weekly_review(
        weekly_input(
            planned_sessions=planned,
            done_sessions=done,
            session_classes=classes,
            weekly_mean_prev=prev,
            weekly_mean_this=this,
            mean_rpe=float(rpe),
            days_at_level=days,
            flare_in_week=flare,
        )
    )
    assert decision.action is action
    expected_level = {PlanAction.PROGRESS: 3, PlanAction.HOLD: 2, PlanAction.REGRESS: 1}[action]
    assert (decision.from_level, decision.to_level) == (2, expected_level)
    if reason is not None:
        assert reason in decision.reasons
        if action is PlanAction.HOLD:
            assert decision.reasons == (reason,)
    assert decision.ruleset_version == RULESET_VERSION
    json.dumps(dict(decision.inputs))


@pytest.mark.parametrize(
    ("changes", "action"),
    [
        ({"planned_sessions": 5, "done_sessions": 4, "session_classes": (G,) * 4}, PlanAction.PROGRESS),  # 80 %
        ({"planned_sessions": 4, "done_sessions": 3}, PlanAction.HOLD),  # 75 %
        ({"planned_sessions": 3, "done_sessions": 5, "session_classes": (G,) * 5}, PlanAction.PROGRESS),  # capped
        ({"session_classes": (G, G, R)}, PlanAction.HOLD),  # one red: hold, not regress
        ({"session_classes": (G, R, R)}, PlanAction.REGRESS),
        ({"session_classes": (G, A, G)}, PlanAction.PROGRESS),  # one amber allowed
        ({"session_classes": (G, A, A)}, PlanAction.HOLD),
        ({"session_classes": (A, U, U)}, PlanAction.HOLD),  # no green
        ({"session_classes": (G, U, U)}, PlanAction.PROGRESS),  # unknown counts for adherence
        ({"weekly_mean_prev": 4.0, "weekly_mean_this": 5.0}, PlanAction.HOLD),  # rise exactly 1.0
        ({"weekly_mean_prev": 4.3, "weekly_mean_this": 5.3}, PlanAction.HOLD),  # 1.0 in binary floats
        ({"weekly_mean_prev": 4.0, "weekly_mean_this": 4.9}, PlanAction.PROGRESS),
        ({"weekly_mean_prev": None}, PlanAction.PROGRESS),  # first week: no earlier week to rise against
        ({"weekly_mean_this": None}, PlanAction.HOLD),  # this week's pain unknown
        ({"weekly_mean_prev": None, "weekly_mean_this": None}, PlanAction.HOLD),
        ({"weekly_mean_prev": 4.0, "weekly_mean_this": 6.0}, PlanAction.REGRESS),  # worsened (delta -2)
        ({"mean_rpe": 6.0}, PlanAction.PROGRESS),
        ({"mean_rpe": 6.1}, PlanAction.HOLD),
        ({"mean_rpe": 7.0}, PlanAction.HOLD),
        ({"mean_rpe": None}, PlanAction.PROGRESS),  # no RPE: difficulty decides
        ({"mean_rpe": None, "too_hard_count": 1}, PlanAction.HOLD),
        ({"too_hard_count": 1}, PlanAction.HOLD),
        ({"days_at_level": 6}, PlanAction.HOLD),
        ({"days_at_level": 7}, PlanAction.PROGRESS),
        ({"open_urgent_alert": True}, PlanAction.HOLD),
        ({"planned_sessions": 0, "done_sessions": 0, "session_classes": ()}, PlanAction.HOLD),
    ],
)
def test_weekly_review_boundaries(changes: dict[str, object], action: PlanAction) -> None:
    assert weekly_review(weekly_input(**changes)).action is action


def test_hold_reasons_are_plain_words() -> None:
    decision = weekly_review(weekly_input(mean_rpe=7.0, open_urgent_alert=True, weekly_mean_this=5.3))
    assert decision.reasons == (
        "weekly pain 4.3 → 5.3 (up by 1.0 or more)",
        "mean effort (RPE) 7.0 (above 6.0)",
        "an emergency or urgent alert is open",
    )


def test_regress_never_goes_below_level_one() -> None:
    decision = weekly_review(weekly_input(level=1, flare_in_week=True))
    assert (decision.action, decision.to_level) == (PlanAction.HOLD, 1)
    assert "already at the first level" in decision.reasons


def test_top_level_completes_after_two_reviews_with_all_criteria_met() -> None:
    first = weekly_review(weekly_input(level=4, top_level_reviews_met=0))
    assert (first.action, first.to_level, first.all_criteria_met) == (PlanAction.HOLD, 4, True)
    second = weekly_review(weekly_input(level=4, top_level_reviews_met=1))
    assert (second.action, second.to_level) == (PlanAction.COMPLETE, 4)
    not_met = weekly_review(weekly_input(level=4, top_level_reviews_met=1, days_at_level=3))
    assert (not_met.action, not_met.all_criteria_met) == (PlanAction.HOLD, False)


@pytest.mark.parametrize("level", [0, 5, -1])
def test_level_out_of_range_is_a_caller_error(level: int) -> None:
    with pytest.raises(ValueError, match="level"):
        weekly_review(weekly_input(level=level))


reviews = st.builds(
    WeeklyReviewInput,
    level=st.integers(1, 6),
    level_count=st.just(6),
    planned_sessions=st.integers(0, 7),
    done_sessions=st.integers(0, 9),
    session_classes=st.lists(st.sampled_from(list(SessionClass)), max_size=9).map(tuple),
    weekly_mean_prev=st.none() | st.floats(0, 10),
    weekly_mean_this=st.none() | st.floats(0, 10),
    mean_rpe=st.none() | st.floats(0, 10),
    too_hard_count=st.integers(0, 3),
    days_at_level=st.integers(0, 30),
    flare_in_week=st.booleans(),
    open_urgent_alert=st.booleans(),
    top_level_reviews_met=st.integers(0, 3),
).flatmap(lambda r: st.integers(1, 6).map(lambda top: replace(r, level_count=top, level=min(r.level, top))))


@settings(max_examples=500)
@given(inp=reviews)
def test_progression_moves_at_most_one_level_within_bounds(inp: WeeklyReviewInput) -> None:
    decision = weekly_review(inp)
    assert abs(decision.to_level - decision.from_level) <= 1
    assert 1 <= decision.to_level <= inp.level_count
    assert decision.from_level == inp.level
    step = {PlanAction.PROGRESS: 1, PlanAction.REGRESS: -1}.get(decision.action, 0)
    assert decision.to_level == inp.level + step
    assert decision.reasons
    if decision.action is PlanAction.PROGRESS:
        assert not inp.flare_in_week and not inp.open_urgent_alert and inp.days_at_level >= 7


def test_planned_weekdays() -> None:
    assert planned_weekdays(3) == frozenset({0, 2, 4})  # Mon/Wed/Fri
    for n in range(8):
        assert len(planned_weekdays(n)) == n
    for bad in (-1, 8):
        with pytest.raises(ValueError, match="sessions per week"):
            planned_weekdays(bad)


@pytest.mark.parametrize(
    ("done", "planned", "share"), [(2, 3, 2 / 3), (3, 3, 1.0), (4, 3, 1.0), (0, 0, 1.0), (0, 3, 0.0)]
)
def test_adherence(done: int, planned: int, share: float) -> None:
    assert adherence(done, planned) == pytest.approx(share)


def test_adherence_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        adherence(-1, 3)
