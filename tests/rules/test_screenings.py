from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from api.rules.screenings import (
    OdiBand,
    display_percent,
    odi_meaningful_change,
    score_odi,
    score_start_back,
    start_back_alerts,
)
from api.rules.types import RiskGroup, RuleCode, Tier
from api.rules.version import RULESET_VERSION


def _items(bits: str) -> list[bool]:
    return [bit == "1" for bit in bits.split()]


# CLINICAL_RULES.md section 1, one row per vector.
@pytest.mark.parametrize(
    ("items", "item9", "total", "subscale", "group"),
    [
        ("0 0 0 0 0 0 0 0", "not_at_all", 0, 0, RiskGroup.LOW),
        ("1 1 1 0 0 0 0 0", "moderately", 3, 0, RiskGroup.LOW),
        ("1 1 1 1 0 0 0 0", "not_at_all", 4, 0, RiskGroup.MEDIUM),
        ("0 0 0 0 1 1 1 1", "not_at_all", 4, 4, RiskGroup.HIGH),
        ("1 1 1 1 1 1 1 0", "moderately", 7, 3, RiskGroup.MEDIUM),
        ("1 1 1 1 1 1 1 1", "extremely", 9, 5, RiskGroup.HIGH),
    ],
)
def test_start_back_vectors(items: str, item9: str, total: int, subscale: int, group: RiskGroup) -> None:
    result = score_start_back(_items(items), item9)
    assert (result.total, result.subscale, result.risk_group) == (total, subscale, group)
    assert result.ruleset_version == RULESET_VERSION


@pytest.mark.parametrize(
    ("item9", "scores"),
    [("not_at_all", 0), ("slightly", 0), ("moderately", 0), ("very_much", 1), ("extremely", 1)],
)
def test_start_back_item9_scores_only_very_much_or_extremely(item9: str, scores: int) -> None:
    result = score_start_back([False] * 8, item9)
    assert (result.total, result.subscale) == (scores, scores)


@pytest.mark.parametrize(
    ("items", "item9", "group"),
    [
        # total 3 is low even when all three points are psychosocial (low is checked first)
        ("0 0 0 0 1 1 1 0", "not_at_all", RiskGroup.LOW),
        ("0 0 0 0 1 1 0 0", "very_much", RiskGroup.LOW),
        # total 4, subscale 3 -> medium; subscale 4 -> high
        ("1 0 0 0 1 1 1 0", "not_at_all", RiskGroup.MEDIUM),
        ("0 0 0 0 1 1 1 0", "very_much", RiskGroup.HIGH),
        # total 8, subscale 3 -> medium
        ("1 1 1 1 1 1 1 0", "very_much", RiskGroup.HIGH),
        ("1 1 1 1 1 1 0 0", "very_much", RiskGroup.MEDIUM),
    ],
)
def test_start_back_boundaries(items: str, item9: str, group: RiskGroup) -> None:
    assert score_start_back(_items(items), item9).risk_group is group


@pytest.mark.parametrize(
    ("items", "item9"),
    [
        ([False] * 7, "slightly"),
        ([False] * 9, "slightly"),
        ([1, 0, 0, 0, 0, 0, 0, 0], "slightly"),
        ([False] * 8, "sometimes"),
        ([False] * 8, ""),
    ],
)
def test_start_back_requires_all_nine_valid_answers(items: list[bool], item9: str) -> None:
    with pytest.raises(ValueError, match="STarT Back"):
        score_start_back(items, item9)


def test_start_back_alerts_by_group() -> None:
    screened = date(2026, 3, 2)
    assert start_back_alerts(score_start_back([False] * 8, "slightly"), screened) == ()
    (medium,) = start_back_alerts(score_start_back(_items("1 1 1 1 0 0 0 0"), "slightly"), screened)
    assert (medium.code, medium.tier) == (RuleCode.START_BACK_MEDIUM, Tier.ROUTINE)
    assert medium.evidence["reason"] == "physiotherapy review"
    assert medium.key == "start-back:2026-03-02"
    (high,) = start_back_alerts(score_start_back(_items("0 0 0 0 1 1 1 1"), "slightly"))
    assert (high.code, high.tier) == (RuleCode.START_BACK_HIGH, Tier.ROUTINE)
    assert high.evidence["reason"] == "high risk: biopsychosocial assessment"
    assert high.key == "start-back"
    json.dumps(dict(high.evidence))


# CLINICAL_RULES.md section 4, one row per vector.
@pytest.mark.parametrize(
    ("sections", "shown", "band"),
    [
        ([0] * 10, Decimal("0.00"), OdiBand.MINIMAL),
        ([2, 2, 2, 2, 1, 2, 1, 2, 1, 1], Decimal("32.00"), OdiBand.MODERATE),
        ([2, 2, 2, 2, 1, 2, 1, None, 2, 2], Decimal("35.56"), OdiBand.MODERATE),
        ([2, 2, 2, 2, 2, None, None, 2, 2, 2], None, None),
    ],
)
def test_odi_vectors(sections: list[int | None], shown: Decimal | None, band: OdiBand | None) -> None:
    result = score_odi(sections)
    assert display_percent(result.percent) == shown
    assert result.band == band
    assert result.ruleset_version == RULESET_VERSION


def test_odi_stores_unrounded_percent_and_lists_missing_sections() -> None:
    scored = score_odi([2, 2, 2, 2, 1, 2, 1, None, 2, 2])
    assert scored.percent == pytest.approx(1600 / 45)
    assert scored.percent != 35.56
    assert (scored.answered, scored.missing_sections) == (9, (8,))
    unscored = score_odi([2, 2, 2, 2, 2, None, None, 2, 2, 2])
    assert (unscored.percent, unscored.answered, unscored.missing_sections) == (None, 8, (6, 7))


@pytest.mark.parametrize(
    ("total", "answered", "band"),
    [
        (10, 10, OdiBand.MINIMAL),  # exactly 20 %
        (11, 10, OdiBand.MODERATE),
        (9, 9, OdiBand.MINIMAL),  # 20 % with 9 sections
        (10, 9, OdiBand.MODERATE),  # 22.2 %
        (20, 10, OdiBand.MODERATE),  # exactly 40 %
        (21, 10, OdiBand.SEVERE),
        (30, 10, OdiBand.SEVERE),  # exactly 60 %
        (31, 10, OdiBand.CRIPPLED),
        (40, 10, OdiBand.CRIPPLED),  # exactly 80 %
        (41, 10, OdiBand.BED_BOUND),
        (50, 10, OdiBand.BED_BOUND),
    ],
)
def test_odi_band_boundaries(total: int, answered: int, band: OdiBand) -> None:
    sections: list[int | None] = [0] * answered + [None] * (10 - answered)
    remaining = total
    for i in range(answered):
        sections[i] = min(5, remaining)
        remaining -= min(5, remaining)
    assert remaining == 0
    assert score_odi(sections).band is band


@pytest.mark.parametrize(
    "sections",
    [[0] * 9, [0] * 11, [6] + [0] * 9, [-1] + [0] * 9, [True] + [0] * 9, [2.5] + [0] * 9],
)
def test_odi_rejects_malformed_sections(sections: list[int | None]) -> None:
    with pytest.raises(ValueError, match="ODI"):
        score_odi(sections)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(2.675, Decimal("2.68")), (35.555, Decimal("35.56")), (35.554, Decimal("35.55")), (None, None)],
)
def test_display_percent_rounds_half_up(value: float | None, shown: Decimal | None) -> None:
    assert display_percent(value) == shown


@pytest.mark.parametrize(
    ("before", "after", "meaningful"),
    [(50.0, 40.0, True), (50.0, 40.5, False), (30.0, 21.0, True), (30.0, 22.0, False), (0.0, 0.0, False)],
)
def test_odi_meaningful_change(before: float, after: float, meaningful: bool) -> None:
    assert odi_meaningful_change(before, after) is meaningful
