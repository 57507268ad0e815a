"""Daily walking target (CLINICAL_RULES.md §5). Re-exported by ``api.rules.progression``.

Source: WalkBack trial (Pocovi et al., Lancet 2024): a progressive walking programme up to
30 minutes a day reduced recurrence of low back pain; ACSM 2009 (≈ 10 % weekly increments).
"""

from __future__ import annotations

from api.rules._num import exact, round_half_up
from api.rules.settings import DEFAULT_RULES, RuleSettings


def _minutes(value: float, settings: RuleSettings) -> float:
    capped = min(exact(value), exact(settings.walking_cap_minutes))
    return float(round_half_up(capped, 2))


def initial_walking_target(
    level_default: float,
    week1_mean_minutes: float | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> float:
    """Week-1 target: the level's default, or the patient's week-1 mean if higher; ≤ 30.

    Starting from what the patient already does avoids asking less of them than they do.
    """
    start = level_default
    if week1_mean_minutes is not None and week1_mean_minutes > level_default:
        start = week1_mean_minutes
    return _minutes(start, settings)


def next_walking_target(
    current_target: float,
    week_mean_minutes: float | None,
    flare_in_week: bool,
    week1_target: float,
    settings: RuleSettings = DEFAULT_RULES,
) -> float:
    """Next week's target: x 1.10 if the week's mean met the target and there was no flare;
    after a flare max(week-1 target, 0.9 x target); otherwise unchanged. Capped at 30
    min/day, then maintained. Rounded half up to 0.01 min so float noise does not creep.
    """
    if flare_in_week:
        reduced = exact(current_target) * exact(settings.walking_post_flare_factor)
        return _minutes(float(max(exact(week1_target), reduced)), settings)
    if week_mean_minutes is not None and exact(week_mean_minutes) >= exact(current_target):
        return _minutes(float(exact(current_target) * exact(settings.walking_growth)), settings)
    return _minutes(current_target, settings)
