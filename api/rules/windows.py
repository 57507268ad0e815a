"""Pain windows, non-improvement checkpoints and worsening (CLINICAL_RULES.md §3).

Sources: NICE NG59 (review if not improving; consider referral), Ostelo et al. 2008
(minimal important change on the 0-10 NRS: 2 points or 30 %), Hill 2011 STarT Back trial
(reassessment at 2-4 weeks), NICE NG59 1.1 (chronic after 12 weeks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from api.rules._num import exact
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import (
    AlertSpec,
    Classification,
    PainDay,
    PatientProfile,
    RuleCode,
    Tier,
)
from api.rules.version import RULESET_VERSION

NOT_IMPROVED = frozenset({Classification.NO_MEANINGFUL_IMPROVEMENT, Classification.WORSENED})


@dataclass(frozen=True, slots=True)
class Window:
    """A window of local dates with its mean back pain (exact; None when invalid)."""

    start: date
    end: date
    mean: Fraction | None
    logged_days: int

    def evidence(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "mean": _float(self.mean),
            "logged_days": self.logged_days,
        }


@dataclass(frozen=True, slots=True)
class ProgressSummary:
    programme_start: date | None
    programme_day: int | None
    baseline_mean: float | None
    current_mean: float | None
    change: float | None
    change_percent: float | None
    classification: Classification
    days_logged_current: int
    ruleset_version: str = RULESET_VERSION


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def index_by_date(days: Iterable[PainDay]) -> dict[date, PainDay]:
    """Logs by local date; two logs for one date is a caller bug (one log per local date)."""
    index: dict[date, PainDay] = {}
    for day in days:
        if day.on in index:
            raise ValueError(f"two pain logs for {day.on.isoformat()}")
        index[day.on] = day
    return index


def programme_start(days: Iterable[PainDay]) -> date | None:
    """Programme day 1 is the local date of the first pain log."""
    return min((d.on for d in days), default=None)


def programme_day(start: date, on: date) -> int:
    """1-based programme day of ``on``."""
    return (on - start).days + 1


def window_of(start: date, end: date, total: int, logged_days: int, settings: RuleSettings) -> Window:
    """The window [start, end] from its logged days' back-pain sum and count (mean only when valid)."""
    if logged_days < settings.min_valid_days:
        return Window(start, end, None, logged_days)
    return Window(start, end, Fraction(total, logged_days), logged_days)


def _sums(index: Mapping[date, PainDay], start: date, end: date) -> tuple[int, int]:
    scores = [
        index[start + timedelta(days=i)].back_pain
        for i in range((end - start).days + 1)
        if start + timedelta(days=i) in index
    ]
    return sum(scores), len(scores)


def _window(index: Mapping[date, PainDay], start: date, end: date, settings: RuleSettings) -> Window:
    return window_of(start, end, *_sums(index, start, end), settings)


def window_mean(
    days: Iterable[PainDay],
    start: date,
    end: date,
    settings: RuleSettings = DEFAULT_RULES,
) -> float | None:
    """Mean back pain over the logged days in [start, end]; None with < 4 logged days.

    Rationale: a mean over too few days is dominated by day-to-day variation; ≥ 4 of 7 is
    the project default (CLINICAL_RULES.md §3). Unrounded.
    """
    return _float(_window(index_by_date(days), start, end, settings).mean)


def classify(
    baseline: float | Fraction | None,
    current: float | Fraction | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> Classification:
    """Compare a window with the baseline; first match wins, on unrounded values.

    insufficient_data (either invalid) · minimal_pain (C ≤ 1.0) · worsened (Δ ≤ -2) ·
    improved (Δ ≥ 2, or Δ ≥ 1 and Δ/B ≥ 30 %) · no_meaningful_improvement, with Δ = B - C.
    Rationale: minimal important change for pain NRS, 2 points or 30 % with a 1-point floor
    so tiny baselines do not count as improvement (Ostelo et al. 2008, Spine 33:90).
    """
    if baseline is None or current is None:
        return Classification.INSUFFICIENT_DATA
    b, c = exact(baseline), exact(current)
    delta = b - c
    if c <= exact(settings.minimal_pain_max):
        return Classification.MINIMAL_PAIN
    if delta <= -exact(settings.worsening_points):
        return Classification.WORSENED
    if delta >= exact(settings.mic_points) or (
        delta >= exact(settings.mic_percent_floor_points) and delta / b >= exact(settings.mic_percent)
    ):
        return Classification.IMPROVED
    return Classification.NO_MEANINGFUL_IMPROVEMENT


def _change(b: Fraction | None, c: Fraction | None) -> tuple[float | None, float | None]:
    """Δ = B - C and Δ / B in percent, unrounded; None where undefined."""
    if b is None or c is None:
        return None, None
    return float(b - c), (float((b - c) / b * 100) if b else None)


def _comparison(baseline: Window, current: Window, settings: RuleSettings) -> dict[str, object]:
    change, change_percent = _change(baseline.mean, current.mean)
    return {
        "baseline": baseline.evidence(),
        "current": current.evidence(),
        "change": change,
        "change_percent": change_percent,
        "classification": str(classify(baseline.mean, current.mean, settings)),
    }


def progress_summary(days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES) -> ProgressSummary:
    """Baseline (days 1-7) against the 7 days ending ``today``, for /me/progress.

    Logs after ``today`` are ignored. While the current window still overlaps the baseline
    (before programme day 14 with 7-day windows) the classification is insufficient_data:
    comparing a window with itself would report "no improvement" for a patient who has
    barely started. Means and change are still reported.
    """
    index = {on: d for on, d in index_by_date(days).items() if on <= today}
    start = min(index, default=None)
    if start is None:
        return progress_of_windows(None, today, (0, 0), (0, 0), settings)
    span = timedelta(days=settings.window_days - 1)
    return progress_of_windows(
        start, today, _sums(index, start, start + span), _sums(index, today - span, today), settings
    )


def progress_of_windows(
    start: date | None,
    today: date,
    baseline: tuple[int, int],
    current: tuple[int, int],
    settings: RuleSettings = DEFAULT_RULES,
) -> ProgressSummary:
    """``progress_summary`` from the windows' (sum, logged days) of the logs up to ``today``.

    ``start`` is the first log on or before ``today`` (None: none); ``baseline`` sums the
    logs of [start, start + 6 days], ``current`` those of [today - 6 days, today]. For a
    caller that adds the windows up where the logs are (the triage list's batch refresh).
    """
    if start is None:
        return ProgressSummary(None, None, None, None, None, None, Classification.INSUFFICIENT_DATA, 0)
    span = timedelta(days=settings.window_days - 1)
    base = window_of(start, start + span, *baseline, settings)
    now = window_of(today - span, today, *current, settings)
    change, change_percent = _change(base.mean, now.mean)
    overlaps = now.start <= base.end
    return ProgressSummary(
        programme_start=start,
        programme_day=programme_day(start, today),
        baseline_mean=_float(base.mean),
        current_mean=_float(now.mean),
        change=change,
        change_percent=change_percent,
        classification=Classification.INSUFFICIENT_DATA if overlaps else classify(base.mean, now.mean, settings),
        days_logged_current=now.logged_days,
    )


@dataclass(frozen=True, slots=True)
class CheckpointOutcome:
    """One reached checkpoint: its windows and classification, whether or not it alerts."""

    checkpoint_day: int
    checkpoint_on: date
    baseline_mean: float | None
    current_mean: float | None
    classification: Classification
    ruleset_version: str = RULESET_VERSION


def checkpoint_outcomes(
    days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES
) -> tuple[CheckpointOutcome, ...]:
    """Every checkpoint (day 14, 28, 42, 84) reached by ``today``, classified on its window.

    The record of what each checkpoint found (the alerts come from ``checkpoint_alerts``):
    it tells the sweep which checkpoints are already evaluated and gives the dashboard a
    classification. Same windows as the alert rules: baseline days 1-7, current the 7
    days ending on the checkpoint day, unrounded means.
    """
    index = {on: d for on, d in index_by_date(days).items() if on <= today}
    start = min(index, default=None)
    if start is None:
        return ()
    baseline = _window(index, start, start + timedelta(days=settings.window_days - 1), settings)
    outcomes = []
    for day_n in checkpoint_days(settings):
        if day_n > programme_day(start, today):
            continue
        current = _window(index, *_checkpoint_window(start, day_n, settings), settings)
        outcomes.append(
            CheckpointOutcome(
                checkpoint_day=day_n,
                checkpoint_on=current.end,
                baseline_mean=_float(baseline.mean),
                current_mean=_float(current.mean),
                classification=classify(baseline.mean, current.mean, settings),
            )
        )
    return tuple(outcomes)


def checkpoint_days(settings: RuleSettings = DEFAULT_RULES) -> tuple[int, ...]:
    """The programme days with a checkpoint, in order (14, 28, 42, 84 by default)."""
    return (
        settings.checkpoint_2w_day,
        settings.checkpoint_4w_day,
        settings.checkpoint_6w_day,
        settings.checkpoint_12w_day,
    )


def complete_through(today: date, latest_log_on: date | None) -> date:
    """The last local day whose data is complete: today once it is logged, else yesterday.

    Window rules judge days that are over (or already logged), so a checkpoint is not
    decided in the morning before the patient had a chance to log its last day.
    """
    yesterday = today - timedelta(days=1)
    return max(yesterday, latest_log_on) if latest_log_on is not None and latest_log_on <= today else yesterday


def _checkpoint_window(start: date, checkpoint_day: int, settings: RuleSettings) -> tuple[date, date]:
    end = start + timedelta(days=checkpoint_day - 1)
    return end - timedelta(days=settings.window_days - 1), end


def _escalates_at_4w(profile: PatientProfile, on: date, settings: RuleSettings) -> bool:
    age = profile.age_on(on)
    if age is None:
        return profile.cancer_history or settings.escalate_unknown_age
    return profile.cancer_history or age >= settings.escalation_age


def no_improvement_checkpoints(
    days: Iterable[PainDay],
    today: date,
    profile: PatientProfile,
    settings: RuleSettings = DEFAULT_RULES,
) -> tuple[AlertSpec, ...]:
    """Day-14, day-28 and day-42 checkpoints: not improved → alert.

    Rationale: NICE NG59 asks for reassessment when pain is not improving; no meaningful
    improvement by 4 weeks in someone ≥ 50 or with a cancer history raises the probability
    of a serious cause, so day 28 escalates to a GP within days (NICE NG234, CKS red flags).
    Every checkpoint already reached is evaluated, so back-dated or synced logs are caught;
    key ``day-<n>`` (each checkpoint is one occurrence per programme).
    """
    index = {on: d for on, d in index_by_date(days).items() if on <= today}
    start = min(index, default=None)
    if start is None:
        return ()
    baseline = _window(index, start, start + timedelta(days=settings.window_days - 1), settings)
    checkpoints = (
        (settings.checkpoint_2w_day, RuleCode.NO_IMPROVEMENT_2W),
        (settings.checkpoint_4w_day, RuleCode.NO_IMPROVEMENT_4W),
        (settings.checkpoint_6w_day, RuleCode.NO_IMPROVEMENT_6W),
    )
    alerts: list[AlertSpec] = []
    for day_n, code in checkpoints:
        if day_n > programme_day(start, today):
            continue
        current = _window(index, *_checkpoint_window(start, day_n, settings), settings)
        classification = classify(baseline.mean, current.mean, settings)
        if classification not in NOT_IMPROVED:
            continue
        tier = Tier.ROUTINE
        evidence: dict[str, object] = {
            "checkpoint_day": day_n,
            "checkpoint_on": current.end.isoformat(),
            "programme_start": start.isoformat(),
            **_comparison(baseline, current, settings),
        }
        if code is RuleCode.NO_IMPROVEMENT_4W:
            evidence["age"] = profile.age_on(current.end)
            evidence["cancer_history"] = profile.cancer_history
            if _escalates_at_4w(profile, current.end, settings):
                tier = Tier.URGENT_DAYS
        alerts.append(AlertSpec(code=code, tier=tier, evidence=evidence, key=f"day-{day_n}"))
    return tuple(alerts)


def persistent_12w(days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES) -> AlertSpec | None:
    """Day-84 checkpoint: current window mean C > 1 → routine ``persistent_12w``.

    Rationale: pain beyond 12 weeks is chronic; refer per the local persistent-pain pathway
    (NICE NG59, NG193). An invalid day-84 window (< 4 logs) raises nothing: the silence rule
    covers absent patients. Key ``day-84``.
    """
    index = {on: d for on, d in index_by_date(days).items() if on <= today}
    start = min(index, default=None)
    day_n = settings.checkpoint_12w_day
    if start is None or day_n > programme_day(start, today):
        return None
    current = _window(index, *_checkpoint_window(start, day_n, settings), settings)
    if current.mean is None or current.mean <= exact(settings.persistent_12w_min_mean):
        return None
    return AlertSpec(
        code=RuleCode.PERSISTENT_12W,
        tier=Tier.ROUTINE,
        evidence={
            "checkpoint_day": day_n,
            "checkpoint_on": current.end.isoformat(),
            "programme_start": start.isoformat(),
            "current": current.evidence(),
        },
        key=f"day-{day_n}",
    )


def worsening_alerts(
    days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES
) -> tuple[AlertSpec, ...]:
    """Two consecutive valid 7-day windows each worse than baseline by ≥ 2 → ``worsening``.

    Rationale: sustained worsening beyond the minimal important change (Ostelo 2008) needs
    a clinician's review whatever the checkpoint. Window grid: programme-day-aligned weeks
    (days 8-14, 15-21, …), complete weeks only; an invalid week breaks a run. One alert
    per run of ≥ 2 worsened weeks, key ``worsening-from:<first window start>``.
    """
    index = {on: d for on, d in index_by_date(days).items() if on <= today}
    start = min(index, default=None)
    if start is None:
        return ()
    week = timedelta(days=settings.window_days)
    baseline = _window(index, start, start + week - timedelta(days=1), settings)
    runs: list[list[Window]] = [[]]
    window_start = start + week
    while window_start + week - timedelta(days=1) <= today:
        current = _window(index, window_start, window_start + week - timedelta(days=1), settings)
        if classify(baseline.mean, current.mean, settings) is Classification.WORSENED:
            runs[-1].append(current)
        elif runs[-1]:
            runs.append([])
        window_start += week
    alerts = []
    for run in runs:
        if len(run) < settings.worsening_consecutive_windows:
            continue
        alerts.append(
            AlertSpec(
                code=RuleCode.WORSENING,
                tier=Tier.ROUTINE,
                evidence={
                    "programme_start": start.isoformat(),
                    "baseline": baseline.evidence(),
                    "windows": [w.evidence() for w in run],
                    "classification": str(Classification.WORSENED),
                },
                key=f"worsening-from:{run[0].start.isoformat()}",
            )
        )
    return tuple(alerts)


def checkpoint_alerts(
    days: Iterable[PainDay],
    today: date,
    profile: PatientProfile,
    settings: RuleSettings = DEFAULT_RULES,
) -> tuple[AlertSpec, ...]:
    """All time-based window alerts due by ``today``: checkpoints 14/28/42/84 and worsening.

    Call it from the daily sweep and after every log or sync; the shell dedupes by code and
    key, so re-evaluating a checkpoint already raised is harmless.
    """
    logs = list(days)
    twelve_weeks = persistent_12w(logs, today, settings)
    return (
        *no_improvement_checkpoints(logs, today, profile, settings),
        *((twelve_weeks,) if twelve_weeks else ()),
        *worsening_alerts(logs, today, settings),
    )
