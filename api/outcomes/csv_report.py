"""The outcomes report as CSV: one row per figure, written from the published report.

Columns: ``group``, ``group_label``, ``clinician_id``, ``measure`` (``cohort_size``,
``reached``, a classification, ``back_pain_change``, ``odi_with_baseline``,
``odi_with_follow_up``, ``odi_meaningful_change``, ``adherence_28d``), ``checkpoint_day``,
``count`` (patients; ``< 5`` when suppressed), ``percent``, ``median``, ``q1``, ``q3``
(empty where they do not apply or are suppressed). The overall group comes first, then
the groups in the JSON's order, so the CSV and the JSON carry the same numbers. A label
(a clinician's name) that a spreadsheet would read as a formula is prefixed with ``'``.
"""

from __future__ import annotations

import csv
import io

from api.outcomes.schemas import CountCell, OutcomeGroup, OutcomesReport, SpreadPublic

COLUMNS = (
    "group",
    "group_label",
    "clinician_id",
    "measure",
    "checkpoint_day",
    "count",
    "percent",
    "median",
    "q1",
    "q3",
)
SUPPRESSED = "< 5"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _num(value: float | None) -> str:
    return "" if value is None else repr(value)


def _count(cell: CountCell) -> list[str]:
    return [SUPPRESSED if cell.suppressed else str(cell.count), _num(cell.percent), "", "", ""]


def _spread(spread: SpreadPublic) -> list[str]:
    return [*_count(spread.patients)[:2], _num(spread.median), _num(spread.q1), _num(spread.q3)]


def _rows(group: OutcomeGroup) -> list[list[str]]:
    head = [group.key, _text(group.label), "" if group.clinician_id is None else str(group.clinician_id)]
    rows = [[*head, "cohort_size", "", *_count(group.cohort_size)]]
    for checkpoint in group.checkpoints:
        day = str(checkpoint.day)
        rows.append([*head, "reached", day, *_count(checkpoint.reached)])
        for name, cell in checkpoint.classifications:
            assert isinstance(cell, CountCell)
            rows.append([*head, name, day, *_count(cell)])
        rows.append([*head, "back_pain_change", day, *_spread(checkpoint.back_pain_change)])
    rows.append([*head, "odi_with_baseline", "", *_count(group.odi.with_baseline)])
    rows.append([*head, "odi_with_follow_up", "", *_count(group.odi.with_follow_up)])
    rows.append([*head, "odi_meaningful_change", "", *_count(group.odi.meaningful_change)])
    rows.append([*head, "adherence_28d", "", *_spread(group.adherence_28d)])
    return rows


def outcomes_csv(report: OutcomesReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for group in (report.overall, *report.groups):
        writer.writerows(_rows(group))
    return out.getvalue()


def csv_filename(report: OutcomesReport) -> str:
    return f"outcomes-{report.from_.isoformat()}-to-{report.to.isoformat()}.csv"
