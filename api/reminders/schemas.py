"""``GET/PUT /me/reminders``: times are local wall-clock "HH:MM" in the patient's zone."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from api.schemas import Public, StrictBool, StrictInput, TimeZoneName

# 24-hour local time; seconds are meaningless for a reminder, so they are refused.
ClockTime = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"),
    Field(examples=["20:00"], description='local time "HH:MM" (00:00-23:59)'),
]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class DailyReminderUpdate(StrictInput):
    enabled: StrictBool
    time: ClockTime


class WeeklyCheckinUpdate(StrictInput):
    enabled: StrictBool
    weekday: Weekday
    time: ClockTime


class QuietHoursUpdate(StrictInput):
    """No push (other than safety messages) from ``start`` until ``end``; equal times: none."""

    start: ClockTime
    end: ClockTime


class ReminderSettingsUpdate(StrictInput):
    """The whole reminder set-up (PUT replaces it). ``timezone`` changes the profile's zone."""

    timezone: TimeZoneName
    daily_log: DailyReminderUpdate
    exercise: DailyReminderUpdate
    weekly_checkin: WeeklyCheckinUpdate
    quiet_hours: QuietHoursUpdate


class DailyReminderPublic(Public):
    enabled: bool
    time: str


class WeeklyCheckinPublic(Public):
    enabled: bool
    weekday: Weekday
    time: str


class QuietHoursPublic(Public):
    start: str
    end: str


class ReminderSettingsPublic(Public):
    timezone: str
    daily_log: DailyReminderPublic
    exercise: DailyReminderPublic = Field(description="sent only on the plan's planned days, and only with a plan")
    weekly_checkin: WeeklyCheckinPublic
    quiet_hours: QuietHoursPublic
