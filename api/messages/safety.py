"""The one statement every patient-facing message response carries (issue 18, safety).

Messages are read by people when they can: they are never triaged, and nothing in them is
parsed for symptoms. So the conversation and every compose response say so, with the
emergency number, and point to the red-flag checklist, the one path for symptoms. One
function, so a clinic's own wording or numbers (per country) change in one place.
"""

from __future__ import annotations

from sqlmodel import Session

from api.i18n import render
from api.i18n.patients import patient_rules
from api.messages.schemas import MessageSafety, RedFlagChecklist
from api.models import Patient
from api.rules.settings import RuleSettings
from api.rules.text import Msg

RED_FLAG_QUESTIONS_PATH = "/api/v1/screening-instruments"
RED_FLAG_SUBMIT_PATH = "/api/v1/me/screenings"


def message_safety(session: Session, patient: Patient, rules: RuleSettings) -> MessageSafety:
    """The clinic's statement in the patient's language, with their country's emergency number."""
    locale, local_rules = patient_rules(session, patient, rules)
    number = local_rules.emergency_number
    statement = Msg(
        "Messages are not monitored for emergencies: your care team reads them when they can, not straight "
        "away. In an emergency call {emergency_number} now. For new or worse symptoms, answer the symptom "
        "checklist in the app instead of sending a message: it tells you at once what to do.",
        emergency_number=number,
    )
    return MessageSafety(
        statement=render(statement, locale),
        emergency_number=number,
        red_flag_checklist=RedFlagChecklist(
            questions=RED_FLAG_QUESTIONS_PATH, submit=RED_FLAG_SUBMIT_PATH, instrument="red_flags"
        ),
    )
