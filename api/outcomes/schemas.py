"""The outcomes report as published: counts below 5 suppressed, figures rounded half up.

The API's JSON, the CSV and the dashboard page are all written from these models, so they
show the same numbers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from api.rules.outcomes import (
    MIN_CELL,
    REPORTED_CLASSES,
    CheckpointTally,
    CohortTally,
    Spread,
    shown_count,
    shown_percent,
    shown_value,
)
from api.schemas import Public

GroupBy = Literal["risk_group", "clinician"]
PAIN_PLACES = 2  # change in back pain, 0-10 points
ADHERENCE_PLACES = 3  # adherence, 0-1


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class CountCell(Public):
    """A number of patients; below 5 it is suppressed (`count` and `percent` null)."""

    count: int | None = Field(description='null when fewer than 5 patients (shown as "< 5")')
    suppressed: bool
    percent: float | None = Field(description="of the row's denominator, half up to 1 place; null when suppressed")

    @classmethod
    def of(cls, count: int, of: int | None = None) -> CountCell:
        shown = shown_count(count)
        percent = None if of is None else _number(shown_percent(count, of))
        return cls(count=shown, suppressed=shown is None, percent=percent)


class SpreadPublic(Public):
    """Median and interquartile range (Hyndman & Fan type 7); null below 5 patients."""

    patients: CountCell
    median: float | None
    q1: float | None
    q3: float | None

    @classmethod
    def of(cls, spread: Spread, places: int) -> SpreadPublic:
        return cls(
            patients=CountCell.of(spread.n),
            median=_number(shown_value(spread.median, spread.n, places)),
            q1=_number(shown_value(spread.q1, spread.n, places)),
            q3=_number(shown_value(spread.q3, spread.n, places)),
        )


class ClassificationCounts(Public):
    """Patients in each classification (CLINICAL_RULES.md §3); percent of those who reached it."""

    improved: CountCell
    no_meaningful_improvement: CountCell
    worsened: CountCell
    minimal_pain: CountCell
    insufficient_data: CountCell


class CheckpointReport(Public):
    day: int = Field(description="programme day of the checkpoint: 14, 42 or 84")
    reached: CountCell = Field(description="patients whose checkpoint day is over (percent of the cohort)")
    classifications: ClassificationCounts
    back_pain_change: SpreadPublic = Field(
        description="baseline (days 1-7) minus the checkpoint's 7-day mean, positive is better; "
        "patients with both windows valid"
    )

    @classmethod
    def of(cls, tally: CheckpointTally, cohort_size: int) -> CheckpointReport:
        counts = {c.value: CountCell.of(tally.counts[c], tally.reached) for c in REPORTED_CLASSES}
        return cls(
            day=tally.day,
            reached=CountCell.of(tally.reached, cohort_size),
            classifications=ClassificationCounts(**counts),
            back_pain_change=SpreadPublic.of(tally.change, PAIN_PLACES),
        )


class OdiReport(Public):
    with_baseline: CountCell = Field(description="patients with a scored ODI (percent of the cohort)")
    with_follow_up: CountCell = Field(
        description="patients with a scored ODI at least 6 weeks after their first (percent of the cohort)"
    )
    meaningful_change: CountCell = Field(
        description="of those, patients whose ODI improved by 10 points or 30 % (percent of `with_follow_up`)"
    )


class OutcomeGroup(Public):
    key: str = Field(description='"all", a risk group (`low`, `medium`, `high`, `not_screened`) or a clinician id')
    label: str
    clinician_id: int | None
    cohort_size: CountCell
    checkpoints: list[CheckpointReport]
    odi: OdiReport
    adherence_28d: SpreadPublic = Field(
        description="exercise adherence over the last 28 days (0-1, as in `GET /me/progress`), "
        "patients with sessions planned"
    )

    @classmethod
    def of(cls, key: str, label: str, tally: CohortTally, clinician_id: int | None = None) -> OutcomeGroup:
        size = tally.cohort_size
        return cls(
            key=key,
            label=label,
            clinician_id=clinician_id,
            cohort_size=CountCell.of(size),
            checkpoints=[CheckpointReport.of(t, size) for t in tally.checkpoints],
            odi=OdiReport(
                with_baseline=CountCell.of(tally.odi.with_baseline, size),
                with_follow_up=CountCell.of(tally.odi.with_follow_up, size),
                meaningful_change=CountCell.of(tally.odi.meaningful_change, tally.odi.with_follow_up),
            ),
            adherence_28d=SpreadPublic.of(tally.adherence_28d, ADHERENCE_PLACES),
        )


class OutcomesReport(Public):
    """`GET /clinician/outcomes`: the cohort whose programme day 1 is in [from, to]."""

    from_: date = Field(serialization_alias="from")
    to: date
    clinic_id: int | None = Field(description="the clinic reported on (admins); null for a clinician's own patients")
    group_by: GroupBy | None
    generated_at: datetime
    min_cell_size: int = Field(description=f"cells of fewer patients are suppressed ({MIN_CELL})")
    ruleset_version: str
    overall: OutcomeGroup
    groups: list[OutcomeGroup] = Field(description="empty without `group_by`")
