"""Unread message counts on a page of the triage list.

Kept apart from the triage query on purpose: a message is not an alert, so it never
changes the order, and the count is one extra statement for the page's patients (not
one per row), added after the rows are built, whatever computes them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from api.clinicians.schemas import TriageRow
from api.messages.service import unread_for_care_team


def with_unread_messages(session: Session, rows: Sequence[TriageRow]) -> list[TriageRow]:
    counts = unread_for_care_team(session, [row.patient_id for row in rows])
    return [row.model_copy(update={"unread_messages": counts.get(row.patient_id, 0)}) for row in rows]
