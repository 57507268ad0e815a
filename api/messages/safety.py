"""The one statement every patient-facing message response carries (issue 18, safety).

Messages are read by people when they can: they are never triaged, and nothing in them is
parsed for symptoms. So the conversation and every compose response say so, with the
emergency number, and point to the red-flag checklist, the one path for symptoms. One
function, so a clinic's own wording or numbers (per country) change in one place.
"""

from __future__ import annotations

from api.messages.schemas import MessageSafety, RedFlagChecklist
from api.rules.settings import RuleSettings

RED_FLAG_QUESTIONS_PATH = "/api/v1/screening-instruments"
RED_FLAG_SUBMIT_PATH = "/api/v1/me/screenings"


def message_safety(rules: RuleSettings) -> MessageSafety:
    """The clinic's statement, with its emergency number (``rules.emergency_number``)."""
    number = rules.emergency_number
    return MessageSafety(
        statement=(
            "Messages are not monitored for emergencies: your care team reads them when they can, not straight "
            f"away. In an emergency call {number} now. For new or worse symptoms, answer the symptom checklist "
            "in the app instead of sending a message: it tells you at once what to do."
        ),
        emergency_number=number,
        red_flag_checklist=RedFlagChecklist(
            questions=RED_FLAG_QUESTIONS_PATH, submit=RED_FLAG_SUBMIT_PATH, instrument="red_flags"
        ),
    )
