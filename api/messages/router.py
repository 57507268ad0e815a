"""``/me/messages`` (the patient) and ``/clinician/patients/{patient_id}/messages`` (their care team).

One conversation per patient. Routers parse, authorise (``CurrentPatient``, ``PatientInCare``:
anyone else's patient is a 404) and call ``api.messages.service``; clinicians' reads of
the conversation are audited here, sends and read markers by the service.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from api.audit import record_audit
from api.deps import CurrentClinician, CurrentPatient, CurrentUser, NowDep, PatientInCare, SessionDep, SettingsDep
from api.messages.schemas import ConversationPage, MessageCreate, MessagesRead, MessageWritten, ReadMarked
from api.messages.service import conversation_page, mark_read, send_message
from api.models import AuthorRole
from api.schemas import Limit

router = APIRouter(tags=["messages"])

Cursor = Annotated[str | None, Query(max_length=200)]
CLINICIAN_PATH = "/clinician/patients/{patient_id}/messages"


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"content": {"application/problem+json": {}}} for code in codes}


_SENT = {
    200: {"model": MessageWritten, "description": "replay of a stored message (same client_id and body)"},
    **_problems(409, 422),
}


@router.get("/me/messages", response_model=ConversationPage)
def list_my_messages(
    patient: CurrentPatient, session: SessionDep, settings: SettingsDep, limit: Limit = 50, cursor: Cursor = None
) -> ConversationPage:
    """The patient's conversation with their care team, newest first, with the safety statement."""
    return conversation_page(session, patient, AuthorRole.PATIENT, settings.rules, limit, cursor)


@router.post("/me/messages", status_code=status.HTTP_201_CREATED, response_model=MessageWritten, responses=_SENT)
def send_my_message(
    body: MessageCreate,
    user: CurrentUser,
    patient: CurrentPatient,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> MessageWritten:
    """Send a message to the care team: 201, or 200 for a replay; 409 for a used id or no care team."""
    written = send_message(session, user, patient, body, now, settings.rules)
    if not written.created:
        response.status_code = status.HTTP_200_OK
    return MessageWritten(message=written.message, safety=written.safety)


@router.post("/me/messages/read", response_model=ReadMarked, responses=_problems(422))
def read_my_messages(
    body: MessagesRead, user: CurrentUser, patient: CurrentPatient, session: SessionDep, now: NowDep
) -> ReadMarked:
    """Mark the care team's messages up to ``up_to_id`` read (idempotent)."""
    return mark_read(session, user, patient, body.up_to_id, now)


@router.get(CLINICIAN_PATH, response_model=ConversationPage)
def list_patient_messages(
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ConversationPage:
    """The patient's conversation with their care team, newest first (an audited read)."""
    page = conversation_page(session, patient, AuthorRole.CLINICIAN, settings.rules, limit, cursor)
    record_audit(
        session,
        at=now,
        action="read",
        resource="message",
        actor=clinician,
        patient_id=patient.id,
        detail={"count": len(page.items), "message_ids": [m.id for m in page.items]},
    )
    return page


@router.post(CLINICIAN_PATH, status_code=status.HTTP_201_CREATED, response_model=MessageWritten, responses=_SENT)
def send_patient_message(
    body: MessageCreate,
    patient: PatientInCare,
    clinician: CurrentClinician,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
) -> MessageWritten:
    """Send a message to the patient: 201, or 200 for a replay; 409 for a used id."""
    written = send_message(session, clinician, patient, body, now, settings.rules)
    if not written.created:
        response.status_code = status.HTTP_200_OK
    return MessageWritten(message=written.message, safety=written.safety)


@router.post(f"{CLINICIAN_PATH}/read", response_model=ReadMarked, responses=_problems(422))
def read_patient_messages(
    body: MessagesRead, patient: PatientInCare, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> ReadMarked:
    """Mark the patient's messages up to ``up_to_id`` read for the care team (idempotent)."""
    return mark_read(session, clinician, patient, body.up_to_id, now)
