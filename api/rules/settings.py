"""Every configurable threshold of the rule engine, with the documented defaults.

Where a source gives no operational number the default is the one CLINICAL_RULES.md names;
a clinic may configure its own ``RuleSettings``. Every rule function takes
``settings: RuleSettings = DEFAULT_RULES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from api.rules.types import ReminderKind


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """All thresholds (CLINICAL_RULES.md §2-§9). Fractions are 0-1, not percent."""

    # §3 pain windows and minimal important change (Ostelo 2008).
    window_days: int = 7
    min_valid_days: int = 4
    mic_points: float = 2.0
    mic_percent: float = 0.30
    mic_percent_floor_points: float = 1.0
    minimal_pain_max: float = 1.0
    worsening_points: float = 2.0
    worsening_consecutive_windows: int = 2
    checkpoint_2w_day: int = 14
    checkpoint_4w_day: int = 28
    checkpoint_6w_day: int = 42
    checkpoint_12w_day: int = 84
    persistent_12w_min_mean: float = 1.0
    escalation_age: int = 50
    # Birth year is optional; by default an unknown age does not count as "≥ 50".
    escalate_unknown_age: bool = False

    # §2 triage. None keeps the fragility pattern exactly as specified (minor trauma with
    # osteoporosis/steroids); a clinic may add "minor trauma at age ≥ N" by setting it.
    fragility_min_age: int | None = None
    persistent_numbness_days: int = 7
    emergency_number: str = "999"
    urgent_number: str = "111"

    # §7 other rules.
    silence_nudge_days: int = 3
    silence_alert_days: int = 7
    muscle_relaxant_max_days: int = 21
    muscle_relaxant_lookback_days: int = 28

    # §5 graded exercise plan (Silbernagel pain monitoring, ACSM 2009, Lambeek 2007).
    default_sessions_per_week: int = 3
    usual_pain_lookback_days: int = 7
    next_morning_tolerance: int = 0
    green_max_pain_during: int = 3
    amber_max_pain_during: int = 5
    regress_min_red_sessions: int = 2
    adherence_threshold: float = 0.80
    progress_max_amber: int = 1
    progress_min_green: int = 1
    progress_max_weekly_mean_rise: float = 1.0
    max_mean_rpe: float = 6.0
    min_days_at_level: int = 7
    completion_reviews: int = 2

    # §5 flare protocol.
    flare_pain_rise: int = 2
    flare_reduce_days: int = 2
    flare_restore_margin: int = 1
    prolonged_flare_days: int = 7

    # §5 walking target (WalkBack 2024).
    walking_growth: float = 1.10
    walking_post_flare_factor: float = 0.9
    walking_cap_minutes: float = 30.0

    # §4 ODI v2.1a (Fairbank).
    odi_min_answered: int = 9
    odi_mic_points: float = 10.0
    odi_mic_percent: float = 0.30

    # §9 reminders (ADHERE, Lally 2010 habit formation).
    daily_log_time: time = time(20, 0)
    exercise_time: time = time(18, 0)
    weekly_checkin_weekday: int = 6  # Monday is 0, so Sunday
    weekly_checkin_time: time = time(19, 0)
    quiet_start: time | None = time(22, 0)  # None: no quiet hours
    quiet_end: time | None = time(8, 0)
    backoff_weekly_after_days: int = 10
    backoff_weekly_interval_days: int = 7
    backoff_fortnightly_after_days: int = 30
    backoff_fortnightly_interval_days: int = 14
    backoff_kinds: frozenset[ReminderKind] = frozenset({ReminderKind.DAILY_LOG_REMINDER})


DEFAULT_RULES = RuleSettings()
