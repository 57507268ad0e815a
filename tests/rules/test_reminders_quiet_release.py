"""``after_quiet_hours`` (non-safety pushes wait for the end of quiet hours) and reminder copy."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.rules.reminder_copy import REMINDER_COPY, reminder_copy
from api.rules.reminders_due import ReminderPrefs, after_quiet_hours, in_quiet_hours
from api.rules.types import ReminderKind
from tests.rules.factories import ZONES


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "at", "expected"),
    [
        # London winter (UTC+0), quiet 22:00-08:00.
        ("Europe/London", utc(2026, 1, 10, 21, 59), utc(2026, 1, 10, 21, 59)),  # before: unchanged
        ("Europe/London", utc(2026, 1, 10, 22, 0), utc(2026, 1, 11, 8, 0)),  # evening: next morning
        ("Europe/London", utc(2026, 1, 11, 3, 0), utc(2026, 1, 11, 8, 0)),  # small hours: same morning
        ("Europe/London", utc(2026, 1, 11, 8, 0), utc(2026, 1, 11, 8, 0)),  # the end is outside
        # Kolkata (UTC+5:30): 23:00 IST is 17:30 UTC; 08:00 IST next day is 02:30 UTC.
        ("Asia/Kolkata", utc(2026, 6, 1, 17, 30), utc(2026, 6, 2, 2, 30)),
        # New York, spring-forward night (2026-03-08): 08:00 EDT is 12:00 UTC.
        ("America/New_York", utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 12, 0)),
        # Sydney, autumn-back night (2026-04-05): 08:00 AEST (UTC+10) is 22:00 UTC the day before.
        ("Australia/Sydney", utc(2026, 4, 4, 14, 0), utc(2026, 4, 4, 22, 0)),
    ],
)
def test_a_push_in_quiet_hours_waits_for_their_end(zone: str, at: datetime, expected: datetime) -> None:
    assert after_quiet_hours(ReminderPrefs(timezone=zone), at) == expected


def test_quiet_end_inside_a_dst_gap_releases_at_the_first_valid_instant() -> None:
    # London 2026-03-29: 01:00-02:00 local does not exist; quiet until 01:30 → 02:00 BST = 01:00 UTC.
    prefs = ReminderPrefs(timezone="Europe/London", quiet_start=time(23, 0), quiet_end=time(1, 30))
    assert after_quiet_hours(prefs, utc(2026, 3, 28, 23, 30)) == utc(2026, 3, 29, 1, 0)


def test_no_quiet_hours_never_delay() -> None:
    for start, end in [(None, None), (time(22, 0), time(22, 0))]:
        prefs = ReminderPrefs(timezone="Europe/London", quiet_start=start, quiet_end=end)
        assert after_quiet_hours(prefs, utc(2026, 1, 10, 23, 0)) == utc(2026, 1, 10, 23, 0)


def test_daytime_quiet_hours() -> None:
    prefs = ReminderPrefs(timezone="UTC", quiet_start=time(13, 0), quiet_end=time(15, 0))
    assert after_quiet_hours(prefs, utc(2026, 1, 10, 14, 0)) == utc(2026, 1, 10, 15, 0)
    assert after_quiet_hours(prefs, utc(2026, 1, 10, 16, 0)) == utc(2026, 1, 10, 16, 0)


def test_needs_an_aware_instant() -> None:
    with pytest.raises(ValueError, match="aware"):
        after_quiet_hours(ReminderPrefs(timezone="UTC"), datetime(2026, 1, 1, 12, 0))


@given(
    zone=st.sampled_from(ZONES),
    at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    start=st.times(),
    end=st.times(),
)
def test_the_release_is_never_earlier_and_never_inside_quiet_hours(
    zone: str, at: datetime, start: time, end: time
) -> None:
    prefs = ReminderPrefs(timezone=zone, quiet_start=start, quiet_end=end)
    released = after_quiet_hours(prefs, at)
    assert released >= at
    local = released.astimezone(ZoneInfo(zone)).time()
    assert not in_quiet_hours(local, start, end)
    assert (released - at).total_seconds() <= 26 * 3600  # at most a day (plus a DST hour)


def test_every_reminder_kind_has_short_copy() -> None:
    assert set(REMINDER_COPY) == set(ReminderKind)
    for kind in ReminderKind:
        title, body = reminder_copy(kind)
        assert 0 < len(title) <= 60 and 0 < len(body) <= 160
