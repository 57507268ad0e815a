"""Year-long properties of reminder due times across IANA zones and DST transitions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.rules.reminders_due import DueReminder, ReminderPrefs, in_quiet_hours, next_due
from api.rules.types import ReminderKind
from tests.rules.factories import ZONES

KINDS = list(ReminderKind)


def _configured(prefs: ReminderPrefs, kind: ReminderKind) -> time:
    return {
        ReminderKind.DAILY_LOG_REMINDER: prefs.daily_log_time,
        ReminderKind.EXERCISE_REMINDER: prefs.exercise_time,
        ReminderKind.WEEKLY_CHECKIN: prefs.weekly_checkin_time,
    }[kind]


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    return _wall(wall.replace(tzinfo=zone).astimezone(UTC), zone) == wall


def assert_well_placed(due: DueReminder, prefs: ReminderPrefs, planned: frozenset[int]) -> None:
    """Due at the configured local time (or the end of quiet hours), first occurrence of an
    ambiguous time, or the first valid instant after a nonexistent one."""
    zone = ZoneInfo(prefs.timezone)
    at = _configured(prefs, due.kind)
    if in_quiet_hours(at, prefs.quiet_start, prefs.quiet_end):
        assert due.moved_by_quiet_hours and prefs.quiet_end is not None
        at = prefs.quiet_end
    wanted = datetime.combine(due.local_date, at)
    assert due.due_at.tzinfo is UTC
    if _exists(wanted, zone):
        assert due.due_at == wanted.replace(tzinfo=zone, fold=0).astimezone(UTC)  # first occurrence
        assert _wall(due.due_at, zone) == wanted
    else:
        assert _wall(due.due_at - timedelta(seconds=1), zone) < wanted < _wall(due.due_at, zone)
    if due.kind is ReminderKind.EXERCISE_REMINDER:
        assert due.local_date.weekday() in planned
    if due.kind is ReminderKind.WEEKLY_CHECKIN:
        assert due.local_date.weekday() == prefs.weekly_checkin_weekday


def iterate_year(
    prefs: ReminderPrefs, kind: ReminderKind, start: datetime, planned: frozenset[int]
) -> list[DueReminder]:
    """Every reminder of ``kind`` for a year, as a scheduler ticking with next_due would."""
    end = start + timedelta(days=366)
    fired: list[DueReminder] = []
    after = start
    while (due := next_due(prefs, kind, after, planned)) is not None and due.due_at < end:
        fired.append(due)
        after = due.due_at
    return fired


def assert_once_per_local_day(fired: list[DueReminder]) -> None:
    dates = [d.local_date for d in fired]
    assert dates == sorted(set(dates)), "two reminders of one kind on one local day"
    instants = [d.due_at for d in fired]
    assert instants == sorted(set(instants))


GAP_PRONE = [time(0, 0), time(0, 30), time(1, 30), time(2, 0), time(2, 30), time(2, 45), time(3, 0), time(23, 30)]


@pytest.mark.parametrize("zone", ZONES)
def test_daily_reminder_every_local_day_of_2026_at_gap_prone_times(zone: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=ZoneInfo(zone)).astimezone(UTC) - timedelta(seconds=1)
    every_day_of_2026 = [date(2026, 1, 1) + timedelta(days=i) for i in range(365)]
    for at in [*GAP_PRONE, time(20, 0)]:
        prefs = ReminderPrefs(timezone=zone, daily_log_time=at, quiet_start=None, quiet_end=None)
        fired = iterate_year(prefs, ReminderKind.DAILY_LOG_REMINDER, start, frozenset())
        assert_once_per_local_day(fired)
        assert [d.local_date for d in fired if d.local_date.year == 2026] == every_day_of_2026, at
        for due in fired:
            assert_well_placed(due, prefs, frozenset())


@pytest.mark.parametrize("zone", ZONES)
def test_default_reminders_for_a_year(zone: str) -> None:
    prefs = ReminderPrefs(timezone=zone)
    planned = frozenset({0, 2, 4})
    start = datetime(2026, 1, 1, tzinfo=UTC)
    weekly = iterate_year(prefs, ReminderKind.WEEKLY_CHECKIN, start, planned)
    exercise = iterate_year(prefs, ReminderKind.EXERCISE_REMINDER, start, planned)
    assert len(weekly) in (52, 53)
    assert 155 <= len(exercise) <= 158
    for fired in (weekly, exercise):
        assert_once_per_local_day(fired)
        for due in fired:
            assert_well_placed(due, prefs, planned)


times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


@st.composite
def reminder_setups(draw: st.DrawFn) -> tuple[ReminderPrefs, ReminderKind, frozenset[int], datetime]:
    zone = draw(st.sampled_from(ZONES) | st.timezone_keys(allow_prefix=False))
    quiet = draw(st.none() | st.tuples(times, times))
    prefs = ReminderPrefs(
        timezone=zone,
        daily_log_time=draw(times),
        exercise_time=draw(times),
        weekly_checkin_weekday=draw(st.integers(0, 6)),
        weekly_checkin_time=draw(times),
        quiet_start=quiet[0] if quiet else None,
        quiet_end=quiet[1] if quiet else None,
    )
    planned = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start = draw(st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC)))
    return prefs, draw(st.sampled_from(KINDS)), planned, start


@settings(max_examples=100, deadline=None)
@given(setup=reminder_setups())
def test_at_most_one_reminder_per_kind_per_local_day_in_any_zone(
    setup: tuple[ReminderPrefs, ReminderKind, frozenset[int], datetime],
) -> None:
    prefs, kind, planned, start = setup
    fired = iterate_year(prefs, kind, start, planned)
    assert_once_per_local_day(fired)
    for due in fired:
        assert due.due_at > start
        assert_well_placed(due, prefs, planned)
