"""A patient's pain logs, newest local date first: read by the patient and their care team."""

from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import Session, col, select

from api.errors import field_error
from api.models import PainLog, Patient
from api.pagination import Keyset
from api.pain_logs.schemas import PainLogPublic
from api.schemas import Page

MAX_RANGE_DAYS = 366


def pain_log_page(
    session: Session, patient: Patient, from_: date | None, to: date | None, limit: int, cursor: str | None
) -> Page[PainLogPublic]:
    """Logs within ``from_``..``to`` (at most 366 days; 422 naming ``from`` otherwise)."""
    if from_ is not None and to is not None:
        if from_ > to:
            raise field_error(["query", "from"], "must not be after `to`")
        if (to - from_) >= timedelta(days=MAX_RANGE_DAYS):
            raise field_error(["query", "from"], f"the range may span at most {MAX_RANGE_DAYS} days")
    keyset = Keyset(cursor, limit, on=date)
    query = (
        select(PainLog)
        .where(PainLog.patient_id == patient.id)
        .order_by(col(PainLog.log_date).desc())
        .limit(keyset.fetch)
    )
    if from_ is not None:
        query = query.where(col(PainLog.log_date) >= from_)
    if to is not None:
        query = query.where(col(PainLog.log_date) <= to)
    if keyset.after is not None:
        query = query.where(col(PainLog.log_date) < keyset.after["on"])
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"on": r.log_date.isoformat()})
    return Page[PainLogPublic](items=[PainLogPublic.of(r) for r in rows], next_cursor=next_cursor)
