"""Counting rows, for the "nothing written" checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from api.models import AuditEvent, Delivery, Device, Notification


def counts(session: Session) -> dict[str, Any]:
    session.commit()
    return {
        table.__name__: session.exec(select(func.count()).select_from(table)).one()
        for table in (Device, Notification, Delivery, AuditEvent)
    }
