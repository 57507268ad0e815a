from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from api.rules.reminders_due import (
    DueReminder,
    ReminderPrefs,
    default_prefs,
    in_quiet_hours,
    next_due,
    occurrence_on,
    reminder_decision,
)
from api.rules.settings import RuleSettings
from api.rules.types import ReminderKind
from api.rules.version import RULESET_VERSION

LOG, EXERCISE, WEEKLY = ReminderKind.DAILY_LOG_REMINDER, ReminderKind.EXERCISE_REMINDER, ReminderKind.WEEKLY_CHECKIN
MON_WED_FRI = frozenset({0, 2, 4})


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def prefs(zone: str, **changes: object) -> ReminderPrefs:
    return ReminderPrefs(timezone=zone, **changes)  # type: ignore[arg-type]


def first_due(zone: str, kind: ReminderKind, after: datetime, **changes: object) -> DueReminder:
    due = next_due(prefs(zone, **changes), kind, after, MON_WED_FRI)
    assert due is not None
    return due


# --- CLINICAL_RULES.md section 9, one test per situation ------------------------------


def test_log_made_at_midday_suppresses_that_days_log_reminder() -> None:
    due = first_due("Europe/London", LOG, utc(2026, 6, 10, 11, 10))  # log made 12:10 BST
    assert due.due_at == utc(2026, 6, 10, 19, 0)
    assert reminder_decision(LOG, due.local_date, True, due.local_date, None) == (False, "already done today")


def test_no_exercise_reminder_on_an_unplanned_tuesday() -> None:
    tuesday = date(2026, 6, 9)
    assert tuesday.weekday() == 1
    assert occurrence_on(prefs("Europe/London"), EXERCISE, tuesday, MON_WED_FRI) is None
    due = first_due("Europe/London", EXERCISE, utc(2026, 6, 8, 23, 0))  # Tuesday 00:00 BST
    assert due.local_date == date(2026, 6, 10)  # Wednesday
    assert due.due_at == utc(2026, 6, 10, 17, 0)


def test_london_20_00_on_the_spring_forward_day_fires_at_19_00_utc() -> None:
    due = first_due("Europe/London", LOG, utc(2026, 3, 29, 0, 0))
    assert (due.local_date, due.due_at) == (date(2026, 3, 29), utc(2026, 3, 29, 19, 0))


def test_two_scheduler_ticks_in_the_same_minute_send_one_notification() -> None:
    tick = utc(2026, 6, 10, 18, 59)
    first, second = (first_due("Europe/London", LOG, tick) for _ in range(2))
    assert first == second and first.key == "daily_log_reminder:2026-06-10"
    assert reminder_decision(LOG, first.local_date, False, first.local_date, None) == (True, "due")
    # The first process recorded the send; the second sees it (the unique key does the rest).
    assert reminder_decision(LOG, second.local_date, False, second.local_date, first.local_date) == (
        False,
        "already sent today",
    )


# --- DST, explicitly ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "local_date", "at", "expected_utc"),
    [
        ("Europe/London", date(2026, 3, 29), time(20, 0), utc(2026, 3, 29, 19, 0)),
        ("Europe/London", date(2026, 3, 29), time(1, 30), utc(2026, 3, 29, 1, 0)),  # gap: 02:00 BST
        ("Europe/London", date(2026, 10, 25), time(1, 30), utc(2026, 10, 25, 0, 30)),  # fold: first
        ("Europe/London", date(2026, 10, 25), time(20, 0), utc(2026, 10, 25, 20, 0)),
        ("America/New_York", date(2026, 3, 8), time(2, 30), utc(2026, 3, 8, 7, 0)),  # gap: 03:00 EDT
        ("America/New_York", date(2026, 3, 8), time(20, 0), utc(2026, 3, 9, 0, 0)),
        ("America/New_York", date(2026, 11, 1), time(1, 30), utc(2026, 11, 1, 5, 30)),  # fold: EDT
        ("Australia/Sydney", date(2026, 10, 4), time(2, 30), utc(2026, 10, 3, 16, 0)),  # gap: 03:00 AEDT
        ("Australia/Sydney", date(2026, 10, 4), time(20, 0), utc(2026, 10, 4, 9, 0)),
        ("Australia/Sydney", date(2026, 4, 5), time(2, 30), utc(2026, 4, 4, 15, 30)),  # fold: AEDT
        ("Asia/Kolkata", date(2026, 3, 29), time(20, 0), utc(2026, 3, 29, 14, 30)),  # +05:30, no DST
        ("America/Santiago", date(2026, 9, 6), time(0, 30), utc(2026, 9, 6, 4, 0)),  # midnight gap
        ("America/Santiago", date(2026, 4, 4), time(23, 30), utc(2026, 4, 5, 2, 30)),  # fold: first
        ("Pacific/Chatham", date(2026, 9, 27), time(3, 0), utc(2026, 9, 26, 14, 0)),  # +12:45 gap
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), utc(2026, 10, 3, 15, 30)),  # 30-min gap
    ],
)
def test_dst_gap_and_fold(zone: str, local_date: date, at: time, expected_utc: datetime) -> None:
    after = expected_utc - timedelta(hours=2)  # the previous day's occurrence is long past
    due = first_due(zone, LOG, after, daily_log_time=at, quiet_start=None, quiet_end=None)
    assert (due.local_date, due.due_at) == (local_date, expected_utc)
    assert due.due_at.tzinfo is UTC
    assert due.ruleset_version == RULESET_VERSION


def test_fold_reminder_fires_once_on_that_day() -> None:
    p = prefs("Europe/London", daily_log_time=time(1, 30), quiet_start=None, quiet_end=None)
    first = next_due(p, LOG, utc(2026, 10, 24, 12, 0))
    assert first is not None and first.due_at == utc(2026, 10, 25, 0, 30)
    again = next_due(p, LOG, first.due_at)  # after the first 01:30 (BST) ...
    assert again is not None and again.local_date == date(2026, 10, 26)  # ... not the second (GMT)
    assert again.due_at == utc(2026, 10, 26, 1, 30)


# --- quiet hours ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "quiet", "expected"),
    [
        (time(7, 0), (time(22), time(8)), utc(2026, 6, 10, 7, 0)),  # moved to 08:00 BST
        (time(8, 0), (time(22), time(8)), utc(2026, 6, 10, 7, 0)),  # end is exclusive
        (time(21, 59), (time(22), time(8)), utc(2026, 6, 10, 20, 59)),
        (time(14, 0), (time(13), time(15)), utc(2026, 6, 10, 14, 0)),  # moved to 15:00 BST
        (time(23, 0), None, utc(2026, 6, 10, 22, 0)),  # no quiet hours
        (time(23, 0), (time(22), time(22)), utc(2026, 6, 10, 22, 0)),  # empty window
    ],
)
def test_quiet_hours_move_a_reminder_to_their_end_the_same_day(
    at: time, quiet: tuple[time, time] | None, expected: datetime
) -> None:
    start, end = quiet if quiet else (None, None)
    due = first_due("Europe/London", LOG, utc(2026, 6, 9, 23, 0), daily_log_time=at, quiet_start=start, quiet_end=end)
    assert (due.local_date, due.due_at) == (date(2026, 6, 10), expected)
    assert due.moved_by_quiet_hours is (expected.hour != (at.hour - 1) % 24)


def test_reminder_whose_quiet_hours_end_the_next_day_is_skipped() -> None:
    p = prefs("Europe/London", daily_log_time=time(23, 0))  # default quiet 22:00-08:00
    assert occurrence_on(p, LOG, date(2026, 6, 10)) is None
    assert next_due(p, LOG, utc(2026, 6, 9, 23, 0)) is None


def test_quiet_end_inside_a_dst_gap_fires_at_the_first_valid_instant() -> None:
    p = prefs("America/New_York", daily_log_time=time(1, 0), quiet_start=time(0, 0), quiet_end=time(2, 30))
    due = occurrence_on(p, LOG, date(2026, 3, 8))
    assert due is not None and due.due_at == utc(2026, 3, 8, 7, 0) and due.moved_by_quiet_hours


@pytest.mark.parametrize(
    ("at", "start", "end", "inside"),
    [
        (time(22), time(22), time(8), True),
        (time(7, 59), time(22), time(8), True),
        (time(8), time(22), time(8), False),
        (time(12), time(22), time(8), False),
        (time(13), time(13), time(15), True),
        (time(15), time(13), time(15), False),
    ],
)
def test_in_quiet_hours(at: time, start: time, end: time, inside: bool) -> None:
    assert in_quiet_hours(at, start, end) is inside


# --- kinds, validation ------------------------------------------------------------------


def test_weekly_check_in_is_on_sunday_evening_by_default() -> None:
    due = first_due("Europe/London", WEEKLY, utc(2026, 6, 8, 0, 0))
    assert (due.local_date, due.local_date.weekday(), due.due_at) == (date(2026, 6, 14), 6, utc(2026, 6, 14, 18, 0))


def test_disabled_or_unplanned_kinds_are_never_due() -> None:
    after = utc(2026, 6, 8)
    assert next_due(prefs("Europe/London", daily_log_enabled=False), LOG, after) is None
    assert next_due(prefs("Europe/London", exercise_enabled=False), EXERCISE, after, MON_WED_FRI) is None
    assert next_due(prefs("Europe/London"), EXERCISE, after, frozenset()) is None
    assert next_due(prefs("Europe/London", weekly_checkin_enabled=False), WEEKLY, after) is None


def test_due_is_strictly_after() -> None:
    due = first_due("Europe/London", LOG, utc(2026, 6, 10, 19, 0))
    assert due.local_date == date(2026, 6, 11)


def test_after_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_due(prefs("Europe/London"), LOG, datetime(2026, 6, 10, 12, 0))


def test_default_prefs_come_from_settings() -> None:
    p = default_prefs("Asia/Kolkata", RuleSettings(daily_log_time=time(21, 0), quiet_start=None))
    assert (p.daily_log_time, p.exercise_time, p.weekly_checkin_weekday) == (time(21), time(18), 6)
    assert p.quiet_start is None and p.quiet_end == time(8)
    assert default_prefs("UTC") == ReminderPrefs(timezone="UTC")


# --- decision: suppression and back-off --------------------------------------------------

TODAY = date(2026, 6, 10)


@pytest.mark.parametrize(
    ("kind", "inactive_days", "days_since_sent", "send"),
    [
        (LOG, 9, 1, True),  # still engaged: daily
        (LOG, 10, 6, False),  # >= 10 days: weekly
        (LOG, 10, 7, True),
        (LOG, 29, 6, False),
        (LOG, 30, 13, False),  # >= 30 days: fortnightly
        (LOG, 30, 14, True),
        (LOG, 45, None, True),  # never sent
        (EXERCISE, 45, 1, True),  # back-off applies to log reminders only
        (WEEKLY, 45, 7, True),
    ],
)
def test_disengagement_back_off(
    kind: ReminderKind, inactive_days: int, days_since_sent: int | None, send: bool
) -> None:
    last_sent = None if days_since_sent is None else TODAY - timedelta(days=days_since_sent)
    decision, reason = reminder_decision(kind, TODAY, False, TODAY - timedelta(days=inactive_days), last_sent)
    assert decision is send, reason


def test_at_most_one_reminder_per_kind_per_local_day() -> None:
    assert reminder_decision(EXERCISE, TODAY, False, TODAY, TODAY) == (False, "already sent today")
    assert reminder_decision(EXERCISE, TODAY, True, TODAY, None) == (False, "already done today")
    assert reminder_decision(EXERCISE, TODAY, False, None, None) == (True, "due")
