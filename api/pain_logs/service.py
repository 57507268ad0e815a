"""Writing pain logs: one row per patient and local date, upserted race-free.

The write is a single ``INSERT … ON CONFLICT (patient_id, log_date) DO UPDATE … WHERE``
whose WHERE carries ownership and staleness, identical on SQLite and PostgreSQL: of any
number of concurrent writes for one date, the one with the newest ``client_updated_at``
is what stays, whatever order they commit in. Nothing is read first, so there is no
read-modify-write window.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlmodel import Session, select

from api.errors import field_error
from api.models import PainLog, Patient
from api.pain_logs.schemas import PainLogWrite
from api.rules.types import MedicationClass
from api.upsert import insert_for

# How far back a log may be written (SPEC §2.3), and how far ahead of the server clock a
# device's edit time may be before it is treated as a broken clock rather than skew.
BACKDATE_DAYS = 30
CLIENT_CLOCK_SKEW = timedelta(hours=24)

LogStatus = Literal["created", "updated", "unchanged", "stale"]


@dataclass(frozen=True, slots=True)
class LogWrite:
    """The outcome of one pain-log write and the row as stored afterwards."""

    status: LogStatus
    log: PainLog
    wrote: bool  # the row was written (an unchanged write may still move client_updated_at)

    @property
    def changed(self) -> bool:
        """True when the clinical content changed, so the rules must look at it."""
        return self.status in ("created", "updated")


def check_log_date(log_date: date, today: date, loc: list[str | int]) -> None:
    """422 unless ``log_date`` is today or up to 30 days back, in the patient's zone."""
    if log_date > today:
        raise field_error(loc, f"cannot log a future date (today is {today.isoformat()} in your time zone)")
    if log_date < today - timedelta(days=BACKDATE_DAYS):
        raise field_error(loc, f"logs can be back-dated at most {BACKDATE_DAYS} days")


def check_client_time(body: PainLogWrite, now: datetime, loc: list[str | int]) -> None:
    if body.client_updated_at > now + CLIENT_CLOCK_SKEW:
        raise field_error(loc, "is more than 24 hours ahead of the server clock; check the device clock")


CONTENT_FIELDS = (
    "back_pain",
    "leg_pain",
    "interference",
    "sleep_quality",
    "activity_minutes",
    "steps",
    "flare",
    "medications",
    "symptoms",
    "note",
)


def content_of(body: PainLogWrite) -> dict[str, Any]:
    """The log's clinical content in canonical form (sorted, de-duplicated lists)."""
    return {
        "back_pain": body.back_pain,
        "leg_pain": body.leg_pain,
        "interference": body.interference,
        "sleep_quality": body.sleep_quality,
        "activity_minutes": body.activity_minutes,
        "steps": body.steps,
        "flare": body.flare,
        "medications": sorted({m.class_.value for m in body.medications}),
        "symptoms": sorted(s.value for s in body.symptoms.reported()),
        "note": body.note,
    }


def hash_content(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


_COPIED = (*CONTENT_FIELDS, "muscle_relaxant", "client_updated_at", "content_hash", "updated_at")
_UPSERTS: dict[str, Any] = {}


def _upsert(session: Session) -> Any:
    """The pain-log upsert, built once per dialect and executed with each write's values."""
    dialect = session.get_bind().dialect.name
    built = _UPSERTS.get(dialect)
    if built is not None:
        return built
    table = PainLog.__table__  # type: ignore[attr-defined]
    stmt = insert_for(session, PainLog)
    excluded = stmt.excluded
    built = _UPSERTS[dialect] = stmt.on_conflict_do_update(
        index_elements=[table.c.patient_id, table.c.log_date],
        set_={
            **{name: excluded[name] for name in _COPIED},
            # Evaluated on the stored row: the hash this write replaces.
            "previous_content_hash": table.c.content_hash,
        },
        where=(table.c.patient_id == excluded.patient_id) & (table.c.client_updated_at < excluded.client_updated_at),
    ).returning(PainLog)
    return built


def upsert_pain_log(session: Session, patient: Patient, log_date: date, body: PainLogWrite, now: datetime) -> LogWrite:
    """Create or update the patient's log for ``log_date``; never overwrite a newer write.

    Status: ``created``; ``updated`` (content changed); ``unchanged`` (same content: a
    replay, or a newer edit time with identical values, which only moves
    ``client_updated_at`` forward); ``stale`` (a stored write is at least as new and
    differs; the stored log is returned and nothing is written).
    """
    assert patient.id is not None
    content = content_of(body)
    digest = hash_content(content)
    values = {
        **content,
        "patient_id": patient.id,
        "log_date": log_date,
        "muscle_relaxant": MedicationClass.MUSCLE_RELAXANT.value in content["medications"],
        "client_updated_at": body.client_updated_at,
        "content_hash": digest,
        "previous_content_hash": None,
        "created_at": now,
        "updated_at": now,
    }
    written = session.scalars(_upsert(session), [values], execution_options={"populate_existing": True}).first()
    if written is not None:
        if written.previous_content_hash is None:
            return LogWrite("created", written, wrote=True)
        status: LogStatus = "unchanged" if written.previous_content_hash == digest else "updated"
        return LogWrite(status, written, wrote=True)
    stored = session.exec(
        select(PainLog)
        .where(PainLog.patient_id == patient.id, PainLog.log_date == log_date)
        .execution_options(populate_existing=True)
    ).one()
    return LogWrite("unchanged" if stored.content_hash == digest else "stale", stored, wrote=False)
