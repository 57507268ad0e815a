"""The words for numbers and states a clinician reads (pure functions, no database)."""

from __future__ import annotations

import pytest

from api.clinicians.words import (
    RULE_WORDS,
    change_words,
    exercise_gap_words,
    plan_review_reason,
    plan_words,
)
from api.rules.standing import NOT_IMPROVING_RULES
from api.rules.types import Classification, RuleCode


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (None, "\u2013"),
        (2.0, "2.0 better"),
        (1.857, "1.9 better"),
        (-1.1, "1.1 worse"),
        (0.0, "no change"),
        (0.04, "no change"),  # shown to one decimal: "0.0 better" would be a contradiction
        (-0.04, "no change"),  # and "-0.0" a riddle
        (0.05000001, "0.1 better"),
    ],
)
def test_change_is_a_direction_in_words(change: float | None, words: str) -> None:
    assert change_words(change) == words


def test_only_a_completed_plan_is_questioned_and_the_most_telling_alert_is_named() -> None:
    improved = Classification.IMPROVED
    assert plan_review_reason("active", Classification.WORSENED, [RuleCode.PERSISTENT_12W]) is None
    assert plan_review_reason("completed", improved, []) is None
    assert plan_review_reason("completed", improved, [RuleCode.SILENT, RuleCode.MEDICATION_REVIEW]) is None
    both = [RuleCode.NO_IMPROVEMENT_2W, RuleCode.PERSISTENT_12W]
    assert plan_review_reason("completed", improved, both) == "open alert: Pain persisting at 12 weeks"
    assert plan_review_reason("completed", Classification.WORSENED, []) == "pain trend: Worse than week 1"
    assert plan_review_reason("completed", Classification.INSUFFICIENT_DATA, []) is None
    for code in NOT_IMPROVING_RULES:
        reason = plan_review_reason("completed", improved, [code])
        assert reason == f"open alert: {RULE_WORDS[code]}"


def test_plan_and_exercise_words_come_from_the_same_state() -> None:
    assert (plan_words(None, None, None), exercise_gap_words(None)) == ("No plan yet", "no plan")
    assert (plan_words(1, "active", None), exercise_gap_words("active")) == ("Level 1 · Active", "no sessions due")
    assert exercise_gap_words("paused") == "paused: no sessions due"
    assert plan_words(3, "completed", None) == "Level 3 · Completed (maintenance)"
    flagged = plan_words(3, "completed", "open alert: Pain persisting at 12 weeks")
    assert flagged == "Level 3 · Completed, needs review (open alert: Pain persisting at 12 weeks)"
    assert "maintenance" not in flagged
