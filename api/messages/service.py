"""Care-team messaging: one conversation per patient, the same use cases for the API and the dashboard.

Sending is keyed by the client's UUID within the conversation (``UNIQUE(patient_id,
client_id)``), like exercise sessions: ``INSERT … ON CONFLICT DO NOTHING``, and when it
conflicts the stored row's author and body say whether this is a replay (the stored
message, 200, nothing queued again) or another message under a used id (409). Two
concurrent sends of one id therefore store one message and queue one set of pushes.

A new message tells the other side through the outbox (``enqueue_notification``, kind
``message``): the title and body of the notification are fixed words, never the message
text, the author's name or anything about the patient, because they are what a push
carries to a lock screen. Message text is never parsed for symptoms: the response's
safety statement (``api.messages.safety``) sends symptoms to the red-flag checklist.

Audit: every send and every read marker is recorded here (the API and the dashboard
share them); clinicians' reads of the conversation are recorded by their callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from api.activity import touch_activity
from api.audit import record_audit
from api.care_team.service import active_clinicians
from api.errors import Problem, field_error
from api.messages.safety import message_safety
from api.messages.schemas import ConversationPage, MessageCreate, MessagePublic, MessageSafety, ReadMarked
from api.models import AuthorRole, Message, NotificationKind, Patient, Role, User
from api.notifications.service import enqueue_notification
from api.pagination import Keyset
from api.rules.settings import RuleSettings
from api.rules.text import Msg
from api.upsert import insert_for

FORMER_STAFF = "Former care team member"
# Fixed words for the pushes: no message text, no names, nothing about the patient.
TO_PATIENT = (Msg("New message"), Msg("You have a new message from your physiotherapist."))
TO_CLINICIAN = ("New patient message", "A patient in your care team sent you a message. Open Backstep to read it.")


class MessageIdConflict(Problem):
    def __init__(self, extra: dict[str, object] | None = None) -> None:
        super().__init__(
            409,
            "message_id_conflict",
            "this client_id is already used by a different message; generate a new id for a new message",
            extra=extra,
        )


class NoCareTeam(Problem):
    def __init__(self, extra: dict[str, object] | None = None) -> None:
        super().__init__(
            409,
            "no_care_team",
            "no physiotherapist follows you in Backstep yet, so nobody could read a message; "
            "for symptoms use the symptom checklist, in an emergency call the emergency number",
            extra=extra,
        )


@dataclass(frozen=True, slots=True)
class MessageWrite:
    created: bool  # False: a replay of a stored message
    message: MessagePublic
    safety: MessageSafety  # what the patient is told about emergencies, for the response


def side_of(user: User) -> AuthorRole:
    return AuthorRole.PATIENT if user.role == Role.PATIENT else AuthorRole.CLINICIAN


def other_side(side: AuthorRole) -> AuthorRole:
    return AuthorRole.CLINICIAN if side == AuthorRole.PATIENT else AuthorRole.PATIENT


def _public(session: Session, rows: Sequence[Message]) -> list[MessagePublic]:
    ids = {r.author_user_id for r in rows if r.author_user_id is not None}
    names = dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all()) if ids else {}
    return [
        MessagePublic(
            id=r.id or 0,
            client_id=r.client_id,
            author_role=AuthorRole(r.author_role).value,
            author_name=names.get(r.author_user_id, FORMER_STAFF) if r.author_user_id is not None else FORMER_STAFF,
            body=r.body,
            created_at=r.created_at,
            read_at=r.read_at,
        )
        for r in rows
    ]


def _by_client_id(session: Session, patient_id: int, client_id: uuid.UUID) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.patient_id == patient_id, Message.client_id == client_id)
        .execution_options(populate_existing=True)
    ).first()


def _replay(
    session: Session,
    stored: Message,
    author: User,
    body: MessageCreate,
    safety: MessageSafety,
    extra: dict[str, object],
) -> MessageWrite:
    if stored.author_user_id != author.id or stored.body != body.body:
        raise MessageIdConflict(extra)
    return MessageWrite(False, _public(session, [stored])[0], safety)


def send_message(
    session: Session, author: User, patient: Patient, body: MessageCreate, now: datetime, rules: RuleSettings
) -> MessageWrite:
    """Store a message from ``author`` (the patient, or a clinician of their care team) and tell the other side.

    Raises ``MessageIdConflict`` for a used ``client_id`` with another body or author, and
    ``NoCareTeam`` when a patient writes while no active clinician follows them (nobody
    could read it). Refusals to a patient carry the safety statement; the result carries it
    for the response (worked out once per send).
    """
    assert patient.id is not None and author.id is not None
    side = side_of(author)
    safety = message_safety(session, patient, rules)
    extra: dict[str, object] = {"safety": safety.model_dump(mode="json")} if side == AuthorRole.PATIENT else {}
    stored = _by_client_id(session, patient.id, body.client_id)
    if stored is not None:
        return _replay(session, stored, author, body, safety, extra)
    recipients: list[int]
    if side == AuthorRole.PATIENT:
        recipients = [c.id for c in active_clinicians(session, patient.id) if c.id is not None]
        if not recipients:
            raise NoCareTeam(extra)
    else:
        recipients = [patient.user_id]
    statement = (
        insert_for(session, Message)
        .values(
            patient_id=patient.id,
            client_id=body.client_id,
            author_role=side.value,
            author_user_id=author.id,
            body=body.body,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["patient_id", "client_id"])
        .returning(Message)
    )
    created = session.scalars(statement, execution_options={"populate_existing": True}).first()
    if created is None:  # a concurrent send of the same id committed first
        stored = _by_client_id(session, patient.id, body.client_id)
        assert stored is not None
        return _replay(session, stored, author, body, safety, extra)
    assert created.id is not None
    if side == AuthorRole.PATIENT:
        touch_activity(session, patient, now)  # app activity: the reminders' back-off
    title, text = TO_PATIENT if side == AuthorRole.CLINICIAN else TO_CLINICIAN
    for user_id in recipients:
        enqueue_notification(
            session,
            user_id=user_id,
            kind=NotificationKind.MESSAGE,
            title=title,
            body=text,
            now=now,
            patient_id=patient.id,
            occurrence_key=f"message:{created.id}:user:{user_id}",
            data={"message_id": created.id},
        )
    record_audit(
        session,
        at=now,
        action="create",
        resource=f"message/{created.id}",
        actor=author,
        patient_id=patient.id,
        detail={"author_role": side.value, "notified": len(recipients)},
    )
    return MessageWrite(True, _public(session, [created])[0], safety)


def all_messages(session: Session, patient_id: int) -> list[MessagePublic]:
    """The whole conversation, oldest first: for the exports."""
    rows = session.exec(select(Message).where(Message.patient_id == patient_id).order_by(col(Message.id))).all()
    return _public(session, rows)


def unread_count(session: Session, patient_id: int, reader: AuthorRole) -> int:
    """Messages from the other side of ``patient_id``'s conversation not yet read by ``reader``'s side."""
    found = session.exec(
        select(func.count())
        .select_from(Message)
        .where(
            Message.patient_id == patient_id,
            Message.author_role == other_side(reader).value,
            col(Message.read_at).is_(None),
        )
    ).one()
    return int(found)


def unread_for_care_team(session: Session, patient_ids: Iterable[int]) -> dict[int, int]:
    """Unread patient messages per patient, for a page of patients: one statement, whatever the page size."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return {}
    rows = session.exec(
        select(Message.patient_id, func.count())
        .where(
            col(Message.patient_id).in_(wanted),
            Message.author_role == AuthorRole.PATIENT.value,
            col(Message.read_at).is_(None),
        )
        .group_by(col(Message.patient_id))
    ).all()
    return {int(pid): int(n) for pid, n in rows}


def conversation_page(
    session: Session, patient: Patient, reader: AuthorRole, rules: RuleSettings, limit: int, cursor: str | None
) -> ConversationPage:
    """A page of the patient's conversation, newest first, with the unread count and the safety statement."""
    assert patient.id is not None
    keyset = Keyset(cursor, limit, id=int)
    query = select(Message).where(Message.patient_id == patient.id).order_by(col(Message.id).desc()).limit(keyset.fetch)
    if keyset.after is not None:
        query = query.where(col(Message.id) < keyset.after["id"])
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"id": r.id})
    return ConversationPage(
        items=_public(session, rows),
        next_cursor=next_cursor,
        unread_messages=unread_count(session, patient.id, reader),
        safety=message_safety(session, patient, rules),
    )


def mark_read(session: Session, reader: User, patient: Patient, up_to_id: int, now: datetime) -> ReadMarked:
    """Mark the other side's messages up to ``up_to_id`` (a message of this conversation) read.

    Idempotent: a message keeps its first read time. An id that is not a message of this
    conversation is a 422 naming ``up_to_id`` (the same for another patient's message).
    """
    assert patient.id is not None
    side = side_of(reader)
    known = session.exec(select(Message.id).where(Message.id == up_to_id, Message.patient_id == patient.id)).first()
    if known is None:
        raise field_error(["body", "up_to_id"], "not a message of this conversation")
    result = session.execute(
        update(Message)
        .where(
            col(Message.patient_id) == patient.id,
            col(Message.author_role) == other_side(side).value,
            col(Message.id) <= up_to_id,
            col(Message.read_at).is_(None),
        )
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    if marked:
        record_audit(
            session,
            at=now,
            action="read_messages",
            resource=f"patient/{patient.id}/messages",
            actor=reader,
            patient_id=patient.id,
            detail={"up_to_id": up_to_id, "marked": marked},
        )
    return ReadMarked(marked_read=marked, unread_messages=unread_count(session, patient.id, side))
