"""The outcomes report's pure core: quantiles (table and properties), the ODI pair,
suppression, and the report against per-patient results on random cohorts."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.rules.outcomes import (
    OdiScore,
    PatientOutcome,
    Spread,
    odi_pair,
    patient_outcome,
    report_checkpoints,
    shown_count,
    shown_percent,
    shown_value,
    spread,
    tally,
)
from api.rules.screenings import odi_meaningful_change
from api.rules.types import Classification, PainDay
from api.rules.windows import classify, window_mean

F = Fraction
DAY1 = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], Spread(0, None, None, None)),
        ([F(3)], Spread(1, F(3), F(3), F(3))),
        ([F(1), F(2)], Spread(2, F(3, 2), F(5, 4), F(7, 4))),
        ([F(1), F(2), F(3), F(4)], Spread(4, F(5, 2), F(7, 4), F(13, 4))),
        ([F(5), F(1), F(3)], Spread(3, F(3), F(2), F(4))),  # order does not matter
        # Type 7 on 0..10: q1 at h = 2.5 → 2.5, q3 at h = 7.5 → 7.5.
        ([F(i) for i in range(11)], Spread(11, F(5), F(5, 2), F(15, 2))),
        # Window means stay exact: 15/7 and 18/7 are not rounded on the way.
        ([F(-2), F(0), F(1), F(1), F(2), F(2), F(2), F(15, 7), F(3), F(4), F(5)], Spread(11, F(2), F(1), F(18, 7))),
        ([F(1), F(6), F(6), F(6), F(6), F(6)], Spread(6, F(6), F(6), F(6))),
        ([F(0), F(5, 11), F(6, 11), F(8, 11), F(1), F(1)], Spread(6, F(7, 11), F(21, 44), F(41, 44))),
    ],
)
def test_spread_table(values: list[Fraction], expected: Spread) -> None:
    assert spread(values) == expected


fractions = st.fractions(min_value=-10, max_value=10, max_denominator=28)


@given(st.lists(fractions, min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_spread_properties(values: list[Fraction], rng: object) -> None:
    result = spread(values)
    assert result.n == len(values)
    assert result.median is not None and result.q1 is not None and result.q3 is not None
    assert min(values) <= result.q1 <= result.median <= result.q3 <= max(values)
    assert result.median == statistics.median(values)  # exact, the same as the library's median
    if len(values) >= 2:
        assert [result.q1, result.median, result.q3] == statistics.quantiles(values, n=4, method="inclusive")
    shuffled = list(values)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert spread(shuffled) == result
    shifted = spread(v + 3 for v in values)
    assert (shifted.q1, shifted.median, shifted.q3) == (result.q1 + 3, result.median + 3, result.q3 + 3)
    assert all(isinstance(x, Fraction) for x in (result.q1, result.median, result.q3))


def test_odi_pair_baseline_and_latest_follow_up() -> None:
    start = date(2026, 1, 1)
    assert odi_pair([]) is None
    assert odi_pair([OdiScore(start, 40)]) is None
    assert odi_pair([OdiScore(start, 40), OdiScore(start + timedelta(41), 10)]) is None  # < 6 weeks
    pair = odi_pair([OdiScore(start + timedelta(70), 20), OdiScore(start, 40), OdiScore(start + timedelta(42), 35)])
    assert pair is not None
    assert (pair.baseline.percent, pair.follow_up.percent, pair.meaningful) == (40, 20, True)
    # 10 points exactly; 30 % exactly; 9 points and 22.5 %; worse.
    for before, after, meaningful in [(40, 30, True), (20, 14, True), (40, 31, False), (40, 45, False)]:
        found = odi_pair([OdiScore(start, before), OdiScore(start + timedelta(42), after)])
        assert found is not None and found.meaningful is meaningful


@pytest.mark.parametrize(
    ("count", "of", "shown", "percent"),
    [
        (0, 10, None, None),
        (4, 10, None, None),
        (5, 10, 5, Decimal("50.0")),
        (5, 12, 5, Decimal("41.7")),
        (7, 13, 7, Decimal("53.8")),
        (1, 8, None, None),
        (5, 0, 5, None),
        (2, 2, None, None),  # 100 % of a small group would tell the count
    ],
)
def test_suppression(count: int, of: int, shown: int | None, percent: Decimal | None) -> None:
    assert shown_count(count) == shown
    assert shown_percent(count, of) == percent


def test_a_statistic_of_fewer_than_five_patients_is_not_shown() -> None:
    assert shown_value(F(7, 11), 4, 3) is None
    assert shown_value(F(7, 11), 5, 3) == Decimal("0.636")
    assert shown_value(F(-5, 2), 5, 2) == Decimal("-2.50")
    assert shown_value(F(1, 8), 5, 2) == Decimal("0.13")  # half up, not to even
    assert shown_value(None, 9, 2) is None


# --- the report against per-patient results --------------------------------------------------


@st.composite
def patients(draw: st.DrawFn) -> tuple[list[PainDay], date, list[OdiScore], float | None]:
    length = draw(st.integers(1, 95))
    scores = draw(st.lists(st.none() | st.integers(0, 10), min_size=length, max_size=length))
    scores[0] = draw(st.integers(0, 10))  # programme day 1 has a log
    days = [PainDay(on=DAY1 + timedelta(i), back_pain=s) for i, s in enumerate(scores) if s is not None]
    as_of = DAY1 + timedelta(draw(st.integers(0, 100)))
    odi = draw(
        st.lists(st.builds(OdiScore, st.dates(DAY1, DAY1 + timedelta(120)), st.integers(0, 50).map(float)), max_size=4)
    )
    adherence = draw(st.none() | st.fractions(0, 1, max_denominator=28).map(float))
    return days, as_of, odi, adherence


def _by_hand(days: list[PainDay], as_of: date, checkpoint: int) -> tuple[Classification, Fraction | None] | None:
    """One patient at one checkpoint from the public single-patient functions: the two
    window means and ``classify``; None when the checkpoint day is not over by ``as_of``."""
    known = [d for d in days if d.on <= as_of]
    if not known or (as_of - DAY1).days + 1 < checkpoint:
        return None
    baseline = window_mean(known, DAY1, DAY1 + timedelta(6))
    end = DAY1 + timedelta(checkpoint - 1)
    current = window_mean(known, end - timedelta(6), end)
    change = (
        None
        if baseline is None or current is None
        else F(baseline).limit_denominator(7) - F(current).limit_denominator(7)
    )
    return classify(baseline, current), change


@given(st.lists(patients(), max_size=25))
def test_the_report_counts_what_each_patient_shows(
    cohort: list[tuple[list[PainDay], date, list[OdiScore], float | None]],
) -> None:
    outcomes: list[PatientOutcome] = [patient_outcome(days, as_of, odi, adh) for days, as_of, odi, adh in cohort]
    report = tally(outcomes)
    assert report.cohort_size == len(cohort)
    for checkpoint in report.checkpoints:
        per_patient = [_by_hand(days, as_of, checkpoint.day) for days, as_of, _odi, _adh in cohort]
        reached = [p for p in per_patient if p is not None]
        assert checkpoint.reached == len(reached)
        expected = Counter(c for c, _change in reached)
        assert checkpoint.counts == {c: expected.get(c, 0) for c in checkpoint.counts}
        assert sum(checkpoint.counts.values()) == checkpoint.reached
        changes = [change for _c, change in reached if change is not None]
        assert checkpoint.change.n == len(changes)
        if changes:
            assert checkpoint.change.median == statistics.median(changes)
    assert [c.day for c in report.checkpoints] == list(report_checkpoints())
    pairs = []
    for _days, _as_of, odi, _adh in cohort:
        ordered = sorted(odi, key=lambda s: s.on)
        later = [s for s in ordered if ordered and (s.on - ordered[0].on).days >= 42]
        if later:
            pairs.append(odi_meaningful_change(ordered[0].percent, later[-1].percent))
    assert report.odi.with_baseline == sum(1 for _d, _a, odi, _h in cohort if odi)
    assert report.odi.with_follow_up == len(pairs)
    assert report.odi.meaningful_change == sum(pairs)
    adherences = [F(adh).limit_denominator(28) for _d, _a, _o, adh in cohort if adh is not None]
    assert report.adherence_28d.n == len(adherences)
    if adherences:
        assert report.adherence_28d.median == statistics.median(adherences)
