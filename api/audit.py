"""The audit trail: one row per clinician read of patient data and per write.

Written in the same transaction as the change it describes, so a rolled-back write
leaves no audit row claiming it happened. ``detail`` holds ids and outcomes only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from api.models import AuditEvent, User
from api.request_context import current_request_id


def record_audit(
    session: Session,
    *,
    at: datetime,
    action: str,
    resource: str,
    actor: User | None,
    patient_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=at,
        actor_id=actor.id if actor is not None else None,
        actor_role=actor.role if actor is not None else "system",
        patient_id=patient_id,
        action=action,
        resource=resource,
        request_id=current_request_id(),
        detail=detail or {},
    )
    session.add(event)
    return event


def record_audit_for_patients(
    session: Session,
    *,
    at: datetime,
    action: str,
    resource: str,
    actor: User,
    patient_ids: Iterable[int],
    detail: dict[str, Any] | None = None,
) -> None:
    """One event per patient (e.g. each patient shown in a list) in a single multi-row INSERT."""
    rows = [
        {
            "at": at,
            "actor_id": actor.id,
            "actor_role": actor.role,
            "patient_id": patient_id,
            "action": action,
            "resource": resource,
            "request_id": current_request_id(),
            "detail": detail or {},
        }
        for patient_id in patient_ids
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)
