"""Clinic outcomes: a cohort's checkpoint classifications, pain change, ODI change, adherence.

Every per-patient figure is the single-patient rule's own answer: the checkpoint
classification and means of ``api.rules.windows.checkpoint_outcomes`` (CLINICAL_RULES.md
§3), the ODI minimal important change of ``api.rules.screenings.odi_meaningful_change``
(§4), the 28-day adherence the caller computed with ``api.plans.adherence`` (§7). This
module only counts them and summarises their spread, exactly (``Fraction``), then applies
the small-number suppression used when publishing health statistics: a cell of fewer than
``MIN_CELL`` patients is never shown as a count.

Quantiles: the median and the quartiles are Hyndman & Fan's type 7 (linear interpolation
between the closest ranks, ``h = (n - 1) p``: Python's ``statistics.quantiles(...,
method="inclusive")``, numpy's default, Excel's ``QUARTILE.INC``), computed on Fractions,
so they are exact; with one value all three are that value.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from api.rules._num import exact, round_half_up
from api.rules.screenings import odi_meaningful_change
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import Classification, PainDay
from api.rules.windows import checkpoint_outcomes

# The order classifications are reported in (the and the page's order).
REPORTED_CLASSES: tuple[Classification, ...] = (
    Classification.IMPROVED,
    Classification.NO_MEANINGFUL_IMPROVEMENT,
    Classification.WORSENED,
    Classification.MINIMAL_PAIN,
    Classification.INSUFFICIENT_DATA,
)
# Standard practice for published health statistics: fewer than 5 patients is "< 5".
MIN_CELL = 5
ODI_FOLLOW_UP_DAYS = 42  # "a follow-up ≥ 6 weeks later"


def report_checkpoints(settings: RuleSettings = DEFAULT_RULES) -> tuple[int, ...]:
    """The checkpoints a report shows: day 14 (2 weeks), 42 (6 weeks) and 84 (12 weeks)."""
    return (settings.checkpoint_2w_day, settings.checkpoint_6w_day, settings.checkpoint_12w_day)


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and interquartile range (type 7, exact) of ``n`` values; None when n = 0."""

    n: int
    median: Fraction | None
    q1: Fraction | None
    q3: Fraction | None


def spread(values: Iterable[Fraction | int]) -> Spread:
    """Median, first and third quartile of ``values``: Hyndman & Fan type 7, exact.

    >>> spread([Fraction(1), Fraction(2), Fraction(3), Fraction(4)])
    Spread(n=4, median=Fraction(5, 2), q1=Fraction(7, 4), q3=Fraction(13, 4))
    """
    data = sorted(Fraction(v) for v in values)
    if not data:
        return Spread(0, None, None, None)
    if len(data) == 1:
        return Spread(1, data[0], data[0], data[0])
    q1, median, q3 = statistics.quantiles(data, n=4, method="inclusive")
    return Spread(len(data), Fraction(median), Fraction(q1), Fraction(q3))


@dataclass(frozen=True, slots=True)
class OdiScore:
    """A scored ODI (percent not None) on the patient's local date."""

    on: date
    percent: float


@dataclass(frozen=True, slots=True)
class OdiPair:
    baseline: OdiScore
    follow_up: OdiScore
    meaningful: bool


def odi_pair(scores: Iterable[OdiScore], settings: RuleSettings = DEFAULT_RULES) -> OdiPair | None:
    """The patient's ODI baseline and follow-up, and whether the change is meaningful.

    Baseline: the earliest scored ODI. Follow-up: the latest scored ODI at least 6 weeks
    (42 days) after it, the patient's most recent outcome. Meaningful: an improvement of
    10 points or 30 % (Ostelo et al. 2008; CLINICAL_RULES.md §4). None without both.
    """
    ordered = sorted(scores, key=lambda s: s.on)
    if not ordered:
        return None
    baseline = ordered[0]
    later = [s for s in ordered if (s.on - baseline.on).days >= ODI_FOLLOW_UP_DAYS]
    if not later:
        return None
    follow_up = later[-1]
    return OdiPair(baseline, follow_up, odi_meaningful_change(baseline.percent, follow_up.percent, settings))


@dataclass(frozen=True, slots=True)
class PatientOutcome:
    """One patient's figures for the report, each from the single-patient rule."""

    classifications: dict[int, Classification]  # checkpoint day → class, reached checkpoints only
    changes: dict[int, Fraction]  # checkpoint day → Δ = B - C, where both windows are valid
    has_odi_baseline: bool
    odi: OdiPair | None
    adherence_28d: Fraction | None


def patient_outcome(
    days: Sequence[PainDay],
    as_of: date,
    odi_scores: Sequence[OdiScore],
    adherence_28d: float | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> PatientOutcome:
    """The report's figures for one patient, judged on the days complete by ``as_of``.

    Checkpoints are ``checkpoint_outcomes`` (the sweep's own record of what each checkpoint
    found); a checkpoint not reached by ``as_of`` is absent. Means are read back exactly
    (window means have denominators ≤ 7, which ``exact`` recovers).
    """
    shown = report_checkpoints(settings)
    classifications: dict[int, Classification] = {}
    changes: dict[int, Fraction] = {}
    for outcome in checkpoint_outcomes(days, as_of, settings):
        if outcome.checkpoint_day not in shown:
            continue
        classifications[outcome.checkpoint_day] = outcome.classification
        if outcome.baseline_mean is not None and outcome.current_mean is not None:
            changes[outcome.checkpoint_day] = exact(outcome.baseline_mean) - exact(outcome.current_mean)
    return PatientOutcome(
        classifications=classifications,
        changes=changes,
        has_odi_baseline=bool(odi_scores),
        odi=odi_pair(odi_scores, settings),
        adherence_28d=None if adherence_28d is None else exact(adherence_28d),
    )


@dataclass(frozen=True, slots=True)
class CheckpointTally:
    day: int
    reached: int  # patients whose checkpoint day is complete
    counts: dict[Classification, int]
    change: Spread  # Δ = baseline - checkpoint window: positive is better


@dataclass(frozen=True, slots=True)
class OdiTally:
    with_baseline: int
    with_follow_up: int
    meaningful_change: int


@dataclass(frozen=True, slots=True)
class CohortTally:
    cohort_size: int
    checkpoints: tuple[CheckpointTally, ...]
    odi: OdiTally
    adherence_28d: Spread


def tally(patients: Sequence[PatientOutcome], settings: RuleSettings = DEFAULT_RULES) -> CohortTally:
    """Count and summarise a cohort's per-patient outcomes (exact, before suppression)."""
    checkpoints = []
    for day in report_checkpoints(settings):
        reached = [p for p in patients if day in p.classifications]
        counted = Counter(p.classifications[day] for p in reached)
        checkpoints.append(
            CheckpointTally(
                day=day,
                reached=len(reached),
                counts={c: counted.get(c, 0) for c in REPORTED_CLASSES},
                change=spread(p.changes[day] for p in reached if day in p.changes),
            )
        )
    paired = [p.odi for p in patients if p.odi is not None]
    return CohortTally(
        cohort_size=len(patients),
        checkpoints=tuple(checkpoints),
        odi=OdiTally(
            with_baseline=sum(1 for p in patients if p.has_odi_baseline),
            with_follow_up=len(paired),
            meaningful_change=sum(1 for pair in paired if pair.meaningful),
        ),
        adherence_28d=spread(p.adherence_28d for p in patients if p.adherence_28d is not None),
    )


# --- publishing: suppression and rounding ---------------------------------------------------


def shown_count(count: int, min_cell: int = MIN_CELL) -> int | None:
    """The count if it may be published, None ("< 5") for a cell of fewer than ``min_cell``."""
    return count if count >= min_cell else None


def shown_percent(count: int, of: int, min_cell: int = MIN_CELL) -> Decimal | None:
    """``count / of`` in percent, half up to 1 place; None when the count is suppressed
    (its percentage of a known total would give the count back) or ``of`` is 0."""
    if of == 0 or shown_count(count, min_cell) is None:
        return None
    return round_half_up(Fraction(count * 100, of), 1)


def shown_value(value: Fraction | None, n: int, places: int, min_cell: int = MIN_CELL) -> Decimal | None:
    """A statistic of ``n`` patients, half up to ``places``; None below ``min_cell`` patients
    (the median of two values tells both)."""
    if value is None or shown_count(n, min_cell) is None:
        return None
    return round_half_up(value, places)
