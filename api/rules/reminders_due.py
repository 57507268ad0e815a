"""Reminder due times in the patient's IANA zone (CLINICAL_RULES.md §9). Pure: ``after``
and every date are parameters.

Sources: Lally 2010 (habits form around a stable daily cue, so reminders keep the same
local wall-clock time across DST), ADHERE (reminders support adherence; back off when a
patient disengages rather than nag).

Safety messages (emergency/urgent advice, care-team notifications) never come through
this module: they are sent at once and are not subject to quiet hours or back-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from api.rules.settings import DEFAULT_RULES, RuleSettings
from api.rules.types import ReminderKind
from api.rules.version import RULESET_VERSION

_SEARCH_DAYS = 16  # a weekly reminder recurs within 7 days; twice that is ample


@dataclass(frozen=True, slots=True)
class ReminderPrefs:
    """A patient's reminder preferences; times are local wall-clock times in ``timezone``."""

    timezone: str
    daily_log_enabled: bool = True
    daily_log_time: time = DEFAULT_RULES.daily_log_time
    exercise_enabled: bool = True
    exercise_time: time = DEFAULT_RULES.exercise_time
    weekly_checkin_enabled: bool = True
    weekly_checkin_weekday: int = DEFAULT_RULES.weekly_checkin_weekday  # Monday is 0
    weekly_checkin_time: time = DEFAULT_RULES.weekly_checkin_time
    quiet_start: time | None = DEFAULT_RULES.quiet_start
    quiet_end: time | None = DEFAULT_RULES.quiet_end


def default_prefs(timezone: str, settings: RuleSettings = DEFAULT_RULES) -> ReminderPrefs:
    """The clinic's default preferences for a patient in ``timezone``."""
    return ReminderPrefs(
        timezone=timezone,
        daily_log_time=settings.daily_log_time,
        exercise_time=settings.exercise_time,
        weekly_checkin_weekday=settings.weekly_checkin_weekday,
        weekly_checkin_time=settings.weekly_checkin_time,
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
    )


@dataclass(frozen=True, slots=True)
class DueReminder:
    """One reminder occurrence: at most one per kind per patient-local date."""

    kind: ReminderKind
    local_date: date
    due_at: datetime  # aware, UTC
    moved_by_quiet_hours: bool = False
    ruleset_version: str = RULESET_VERSION

    @property
    def key(self) -> str:
        """Occurrence key (with the patient id, the shell's unique key): kind + local date."""
        return f"{self.kind}:{self.local_date.isoformat()}"


def _wall(timestamp: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(timestamp, zone).replace(tzinfo=None)


def resolve_local(on: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local wall time ``at`` on ``on``.

    Ambiguous (DST fold): the first occurrence. Nonexistent (DST gap): the first valid
    instant after it, i.e. the transition itself (London 01:30 on the spring-forward day →
    02:00 BST). Found by bisection so odd zones (30/45-minute offsets, midnight
    transitions) need no special cases.
    """
    wall = datetime.combine(on, at.replace(tzinfo=None))
    instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall:
        return instant  # exists; fold=0 is the earlier instant of an ambiguous time
    other = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    low = math.floor(min(instant, other).timestamp())  # local wall before the gap
    high = math.ceil(max(instant, other).timestamp())  # local wall after the gap
    while high - low > 1:
        mid = (low + high) // 2
        if _wall(mid, zone) > wall:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def in_quiet_hours(at: time, start: time | None, end: time | None) -> bool:
    """Whether local time ``at`` falls in [start, end); the window may wrap midnight."""
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= at < end
    return at >= start or at < end


def _configured_time(
    prefs: ReminderPrefs, kind: ReminderKind, on: date, planned_weekdays: frozenset[int]
) -> time | None:
    if kind is ReminderKind.DAILY_LOG_REMINDER:
        return prefs.daily_log_time if prefs.daily_log_enabled else None
    if kind is ReminderKind.EXERCISE_REMINDER:
        wanted = prefs.exercise_enabled and on.weekday() in planned_weekdays
        return prefs.exercise_time if wanted else None
    wanted = prefs.weekly_checkin_enabled and on.weekday() == prefs.weekly_checkin_weekday
    return prefs.weekly_checkin_time if wanted else None


def _next_nominal(
    prefs: ReminderPrefs,
    kind: ReminderKind,
    on: date,
    planned_weekdays: frozenset[int],
    zone: ZoneInfo,
) -> datetime | None:
    for offset in range(1, _SEARCH_DAYS):
        later = on + timedelta(days=offset)
        at = _configured_time(prefs, kind, later, planned_weekdays)
        if at is not None:
            return resolve_local(later, at, zone)
    return None


def occurrence_on(
    prefs: ReminderPrefs,
    kind: ReminderKind,
    on: date,
    planned_weekdays: frozenset[int] = frozenset(),
) -> DueReminder | None:
    """The reminder of ``kind`` for local date ``on``, or None if there is none that day.

    Exercise reminders only on planned weekdays; the weekly check-in only on its weekday.
    Quiet hours: a time inside them moves to the end of quiet hours the same local day, if
    that is before the next occurrence; otherwise that day is skipped (a 23:00 reminder
    with quiet hours 22:00-08:00 would land on the next day, so it is skipped).
    """
    zone = ZoneInfo(prefs.timezone)
    at = _configured_time(prefs, kind, on, planned_weekdays)
    if at is None:
        return None
    if not in_quiet_hours(at, prefs.quiet_start, prefs.quiet_end):
        return DueReminder(kind, on, resolve_local(on, at, zone))
    end = prefs.quiet_end
    if end is None or end <= at:
        return None  # quiet hours end on the next local day
    moved = resolve_local(on, end, zone)
    following = _next_nominal(prefs, kind, on, planned_weekdays, zone)
    if following is not None and moved >= following:
        return None
    return DueReminder(kind, on, moved, moved_by_quiet_hours=True)


def next_due(
    prefs: ReminderPrefs,
    kind: ReminderKind,
    after: datetime,
    planned_weekdays: frozenset[int] = frozenset(),
    settings: RuleSettings = DEFAULT_RULES,
) -> DueReminder | None:
    """The first reminder of ``kind`` due strictly after ``after`` (aware), or None.

    None when the kind is disabled, has no planned weekday, or every occurrence falls in
    quiet hours. ``settings`` is accepted for a uniform rule signature; the times come
    from ``prefs`` (see ``default_prefs``).
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    zone = ZoneInfo(prefs.timezone)
    first_day = after.astimezone(zone).date() - timedelta(days=1)
    found: DueReminder | None = None
    for offset in range(_SEARCH_DAYS):
        on = first_day + timedelta(days=offset)
        if found is not None and on > found.local_date + timedelta(days=1):
            break
        candidate = occurrence_on(prefs, kind, on, planned_weekdays)
        if candidate is None or candidate.due_at <= after:
            continue
        if found is None or candidate.due_at < found.due_at:
            found = candidate
    return found


def reminder_decision(
    kind: ReminderKind,
    local_date: date,
    done_today: bool,
    last_activity_on: date | None,
    last_sent_on: date | None,
    settings: RuleSettings = DEFAULT_RULES,
) -> tuple[bool, str]:
    """Whether to send a due reminder, and why (not).

    At most one reminder per kind per local day; suppressed when the action is already
    done that local day (the log exists, the session is logged). Disengagement back-off
    (ADHERE: avoid reminder fatigue): no app activity for ≥ 10 days → daily-log reminders
    at most weekly; ≥ 30 days → fortnightly (``settings.backoff_kinds``).
    """
    if last_sent_on == local_date:
        return False, "already sent today"
    if done_today:
        return False, "already done today"
    if kind in settings.backoff_kinds and last_activity_on is not None:
        inactive = (local_date - last_activity_on).days
        interval = None
        if inactive >= settings.backoff_fortnightly_after_days:
            interval = settings.backoff_fortnightly_interval_days
        elif inactive >= settings.backoff_weekly_after_days:
            interval = settings.backoff_weekly_interval_days
        if interval is not None and last_sent_on is not None and (local_date - last_sent_on).days < interval:
            return False, f"no app activity for {inactive} days: one reminder every {interval} days"
    return True, "due"


def after_quiet_hours(prefs: ReminderPrefs, at: datetime) -> datetime:
    """The first instant at or after ``at`` (aware) that is outside the patient's quiet hours.

    Non-safety messages that are not reminders (nudges, plan changes) may be created at any
    hour by the sweep or a clinician; their push waits for the end of quiet hours so the
    phone stays silent at night (ADHERE: avoid reminder fatigue). The in-app feed shows them
    at once. Safety messages never come through here: they are pushed immediately.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    zone = ZoneInfo(prefs.timezone)
    local = at.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    if prefs.quiet_end is None or not in_quiet_hours(wall, prefs.quiet_start, prefs.quiet_end):
        return at.astimezone(UTC)
    day = local.date() if wall < prefs.quiet_end else local.date() + timedelta(days=1)
    return resolve_local(day, prefs.quiet_end, zone)
