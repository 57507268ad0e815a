"""Engagement and safety monitoring rules (CLINICAL_RULES.md §5 flare, §7).

Sources: ADHERE and Lally 2010 (engagement, habit), NICE NG59 1.2 (review medication;
do not offer long-term muscle relaxants), Silbernagel pain-monitoring model (flares).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from api.rules.advice import MEDICATION_REVIEW_ADVICE
from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import AlertSpec, MedicationClass, PainDay, RuleCode, Tier
from api.rules.version import RULESET_VERSION


@dataclass(frozen=True, slots=True)
class SilenceResult:
    days_silent: int | None
    silent_since: date | None
    nudge: bool
    alert: AlertSpec | None
    ruleset_version: str = RULESET_VERSION


def silence(
    last_log_on: date | None,
    today: date,
    settings: RuleSettings = DEFAULT_RULES,
    enrolled_on: date | None = None,
) -> SilenceResult:
    """No pain log for 3 local days → patient nudge; 7 days → routine ``silent`` alert.

    Rationale: disengagement predicts drop-out and hides deterioration; a light nudge
    first, then a clinician check (ADHERE; Lally 2010). ``days_silent`` = today - date of
    the last log (so a log yesterday is 1). Before the first log the count runs from
    ``enrolled_on``, if given. Key ``silent-from:<first silent day>`` — one alert per
    silence episode, a new log starts a new episode.
    """
    if last_log_on is not None:
        silent_since = last_log_on + timedelta(days=1)
        days_silent = max((today - last_log_on).days, 0)
    elif enrolled_on is not None:
        silent_since = enrolled_on
        days_silent = max((today - enrolled_on).days, 0)
    else:
        return SilenceResult(None, None, nudge=False, alert=None)
    alert = None
    if days_silent >= settings.silence_alert_days:
        alert = AlertSpec(
            code=RuleCode.SILENT,
            tier=Tier.ROUTINE,
            evidence={
                "last_log_on": last_log_on.isoformat() if last_log_on else None,
                "enrolled_on": enrolled_on.isoformat() if enrolled_on else None,
                "days_silent": days_silent,
                "evaluated_on": today.isoformat(),
            },
            key=f"silent-from:{silent_since.isoformat()}",
        )
    return SilenceResult(
        days_silent=days_silent,
        silent_since=silent_since,
        nudge=days_silent >= settings.silence_nudge_days,
        alert=alert,
    )


def _relaxant_days(relaxant_dates: frozenset[date], end: date, lookback: int) -> int:
    return sum(1 for i in range(lookback) if end - timedelta(days=i) in relaxant_dates)


def medication_review(days: Iterable[PainDay], today: date, settings: RuleSettings = DEFAULT_RULES) -> AlertSpec | None:
    """Muscle relaxant logged on > 21 of the last 28 days → routine ``medication_review``.

    Rationale: NICE NG59 advises against long-term muscle relaxants (benzodiazepines) for
    low back pain; the patient is told to talk to their prescriber, never given dose advice.
    Days without a log count as days without the medication.
    Key ``since:<first day of the episode>``: the earliest day from which the condition
    has held every day up to ``today``, so a continuing episode is raised once.
    """
    lookback = settings.muscle_relaxant_lookback_days
    relaxant_dates = frozenset(d.on for d in days if MedicationClass.MUSCLE_RELAXANT in d.medications and d.on <= today)
    count = _relaxant_days(relaxant_dates, today, lookback)
    if count <= settings.muscle_relaxant_max_days:
        return None
    episode_start = today
    earliest = min(relaxant_dates)
    while episode_start > earliest and (
        _relaxant_days(relaxant_dates, episode_start - timedelta(days=1), lookback) > settings.muscle_relaxant_max_days
    ):
        episode_start -= timedelta(days=1)
    return AlertSpec(
        code=RuleCode.MEDICATION_REVIEW,
        tier=Tier.ROUTINE,
        evidence={
            "medication_class": str(MedicationClass.MUSCLE_RELAXANT),
            "days_with_medication": count,
            "window_start": (today - timedelta(days=lookback - 1)).isoformat(),
            "window_end": today.isoformat(),
            "patient_advice": MEDICATION_REVIEW_ADVICE,
        },
        key=f"since:{episode_start.isoformat()}",
    )


def flare_duration_days(flare_started_on: date, today: date) -> int:
    """Days a flare has lasted, counting its first day as day 1."""
    return (today - flare_started_on).days + 1


def prolonged_flare(
    flare_started_on: date | None, today: date, settings: RuleSettings = DEFAULT_RULES
) -> AlertSpec | None:
    """A flare lasting > 7 days → routine ``prolonged_flare``.

    Rationale: most flares settle within days; one that does not may need a change of
    plan or a new assessment (Silbernagel pain-monitoring model; NICE NG59 review).
    Counting the flare's first day as day 1, it fires from day 8 (``started_on`` + 7).
    ``flare_started_on`` is None when no flare is ongoing. Key ``flare-from:<start>``.
    """
    if flare_started_on is None:
        return None
    duration = flare_duration_days(flare_started_on, today)
    if duration <= settings.prolonged_flare_days:
        return None
    return AlertSpec(
        code=RuleCode.PROLONGED_FLARE,
        tier=Tier.ROUTINE,
        evidence={
            "flare_started_on": flare_started_on.isoformat(),
            "duration_days": duration,
            "evaluated_on": today.isoformat(),
        },
        key=f"flare-from:{flare_started_on.isoformat()}",
    )
