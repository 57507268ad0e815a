"""A patient's standing in the triage list: what the stored current state holds, decided here.

The clinician's triage list (``api.clinicians.triage``) is an indexed ordered read of one
row per patient (``patient_state``), saved by whoever changes what the row derives from
(``api.standing``). This module decides the row's values, purely:

* the **alert part** (``alert_standing``): the highest tier among the unresolved (open or
  acknowledged) alerts, the count per tier, and which not-improving rules are unresolved;
* the **day part** (``day_standing``): the pain classification of CLINICAL_RULES.md §3
  exactly as ``GET /me/progress`` reports it (``api.rules.windows.progress_summary``), the
  7-day mean and change, and the days since the last pain log, all as of the patient's
  local "today". It is valid from that date's local midnight to the next one
  (``local_day_bounds``); a row read outside those instants is recomputed first.

Triage order (each step breaks ties of the one before): tier rank; classification rank
(worsened, then no meaningful improvement, then insufficient data, then improved and
minimal pain, equal); days since the last log, longest first (a patient who never logged
counts from the UTC date of registration); the patient id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.rules.settings import RuleSettings
from api.rules.types import Classification, PainDay, RuleCode, Tier
from api.rules.windows import ProgressSummary, progress_of_windows, progress_summary

ALERT_TIERS: tuple[Tier, ...] = (Tier.EMERGENCY, Tier.URGENT_SAME_DAY, Tier.URGENT_DAYS, Tier.ROUTINE)
TIER_BY_RANK: tuple[Tier, ...] = (*ALERT_TIERS, Tier.NONE)
NO_ALERT_RANK = len(ALERT_TIERS)

CLASSIFICATION_RANK: dict[Classification, int] = {
    Classification.WORSENED: 0,
    Classification.NO_MEANINGFUL_IMPROVEMENT: 1,
    Classification.INSUFFICIENT_DATA: 2,
    Classification.IMPROVED: 3,
    Classification.MINIMAL_PAIN: 3,
}

# Alerts that say the pain is not getting better. A completed plan ("managed the top level
# well") beside one of them, or beside a trend that is worse or not improving, is a
# contradiction a physiotherapist must see: the plan is flagged for review, not shown as
# a success (README "Clinician dashboard"). Most telling first: that one is named.
NOT_IMPROVING_RULES: tuple[str, ...] = (
    RuleCode.PERSISTENT_12W.value,
    RuleCode.WORSENING.value,
    RuleCode.NO_IMPROVEMENT_6W.value,
    RuleCode.NO_IMPROVEMENT_4W.value,
    RuleCode.NO_IMPROVEMENT_2W.value,
)


@dataclass(frozen=True, slots=True)
class AlertStanding:
    tier_rank: int
    counts: tuple[int, ...]  # unresolved alerts per tier, in ALERT_TIERS order
    not_improving: int  # bit i set: NOT_IMPROVING_RULES[i] has an unresolved alert


def not_improving_rules(flags: int) -> list[str]:
    """The rule codes an ``AlertStanding.not_improving`` bit set stands for, most telling first."""
    return [code for i, code in enumerate(NOT_IMPROVING_RULES) if flags >> i & 1]


def alert_standing(unresolved: Iterable[tuple[str, str]]) -> AlertStanding:
    """The alert part from the patient's unresolved alerts, as ``(tier, rule)`` pairs."""
    counts = [0] * len(ALERT_TIERS)
    flags = 0
    for tier, rule in unresolved:
        counts[ALERT_TIERS.index(Tier(tier))] += 1
        if rule in NOT_IMPROVING_RULES:
            flags |= 1 << NOT_IMPROVING_RULES.index(rule)
    rank = next((i for i, n in enumerate(counts) if n), NO_ALERT_RANK)
    return AlertStanding(rank, tuple(counts), flags)


@dataclass(frozen=True, slots=True)
class DayStanding:
    as_of: date  # the patient's local today this was decided for
    classification: Classification
    class_rank: int
    baseline_mean: float | None
    current_mean: float | None
    change: float | None  # baseline minus current (positive is better), when both are known
    silence_key: int  # minus the days since the last log: ascending order is longest silence first


def day_standing(
    days: Iterable[PainDay], today: date, last_log_on: date | None, registered_on: date, settings: RuleSettings
) -> DayStanding:
    """The day part as of ``today``, from the patient's logs (at least both windows' days)."""
    return _day(progress_summary(days, today, settings), today, last_log_on, registered_on)


def day_standing_of_windows(
    start: date | None,
    today: date,
    baseline: tuple[int, int],
    current: tuple[int, int],
    last_log_on: date | None,
    registered_on: date,
    settings: RuleSettings,
) -> DayStanding:
    """``day_standing`` from the two windows' (sum, logged days), as ``progress_of_windows`` takes them."""
    return _day(progress_of_windows(start, today, baseline, current, settings), today, last_log_on, registered_on)


def _day(summary: ProgressSummary, today: date, last_log_on: date | None, registered_on: date) -> DayStanding:
    known = summary.baseline_mean is not None and summary.current_mean is not None
    since = (today - (last_log_on if last_log_on is not None else registered_on)).days
    return DayStanding(
        as_of=today,
        classification=summary.classification,
        class_rank=CLASSIFICATION_RANK[summary.classification],
        baseline_mean=summary.baseline_mean,
        current_mean=summary.current_mean,
        change=summary.change if known else None,
        silence_key=-since,
    )


def local_day_bounds(timezone: str, today: date, now: datetime) -> tuple[datetime, datetime]:
    """The UTC instants between which ``today`` is the local date in ``timezone`` (``now`` inside)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(today, time(0), zone).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time(0), zone).astimezone(UTC)
    # A midnight a DST change skips maps to an hour off: never leave ``now`` outside.
    moment = now.astimezone(UTC)
    return min(start, moment), max(end, moment + timedelta(microseconds=1))


def window_span(settings: RuleSettings) -> timedelta:
    """How far back from ``today`` (and on from the programme start) ``day_standing`` reads."""
    return timedelta(days=settings.window_days - 1)
