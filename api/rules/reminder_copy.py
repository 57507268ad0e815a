"""What a reminder says: short, warm, and nothing of CLINICAL_RULES.md section 6.

Reminders support habits (Lally 2010: a stable daily cue) and adherence (ADHERE); they
never pressure, never mention pain thresholds to stop at, and never give medical advice.
The push payload carries only this title and body, so nothing here names the patient or
their symptoms.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from api.rules.text import Msg
from api.rules.types import ReminderKind

REMINDER_COPY: Mapping[ReminderKind, tuple[Msg, Msg]] = MappingProxyType(
    {
        ReminderKind.DAILY_LOG_REMINDER: (
            Msg("How is your back today?"),
            Msg("Take a minute to log today's pain. It helps you and your physiotherapist see how things are going."),
        ),
        ReminderKind.EXERCISE_REMINDER: (
            Msg("Time for today's exercises"),
            Msg("Your exercises for today are ready in the app. Staying active helps."),
        ),
        ReminderKind.WEEKLY_CHECKIN: (
            Msg("Your weekly check-in"),
            Msg("Have a look back at your week and see what comes next in your plan."),
        ),
    }
)


def reminder_copy(kind: ReminderKind) -> tuple[Msg, Msg]:
    """The (title, body) of a reminder of ``kind``."""
    return REMINDER_COPY[kind]
