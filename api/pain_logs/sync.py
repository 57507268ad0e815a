"""``POST /me/sync``: the offline queue, item by item, rules once at the end.

The envelope is strict; each item is validated on its own with the same schema as its
single-item endpoint, so one bad item is ``rejected`` with the same ``{loc, msg}``
errors a PUT or POST would give while the others are stored. Text the database cannot
store (NUL, unpaired surrogates) is one more item error (``api.inputs`` leaves these lists
to us), and each item is written in its own SAVEPOINT, so an item that fails only in the
database (a constraint, a value the column refuses) is rolled back and ``rejected`` alone
instead of failing the batch, which the app would otherwise retry forever. Failures that
are not the item's fault (lost connection, timeouts, deadlocks) still fail the request as
a whole, with nothing stored. The rules run once, after
the batch, over every log it created or changed (in date order), and the most urgent
triage of the batch is returned.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Annotated, Any, Generic, Literal, TypeVar

import structlog
from pydantic import BaseModel, Field, PlainValidator, ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlmodel import Session

from api.activity import record_log_dates, touch_activity
from api.audit import record_audit
from api.clock import local_today
from api.errors import Problem
from api.inputs import item_string_errors, storable
from api.logs import error_fields
from api.models import PainLog, Patient, User
from api.pain_logs.evaluation import after_logs_written, replay_triage, strongest
from api.pain_logs.schemas import PainLogPublic, PainLogSyncItem, TriagePublic, WriteStatus
from api.pain_logs.service import check_client_time, check_log_date, upsert_pain_log
from api.rules.settings import RuleSettings
from api.schemas import Public, StrictInput
from api.sessions.schemas import ExerciseSessionCreate
from api.sessions.service import SessionIdConflict, record_session, session_errors

MAX_SYNC_ITEMS = 500
_log = structlog.get_logger("api.sync")

Item = TypeVar("Item", bound=BaseModel)
Written = TypeVar("Written")
Loc = list[str | int]


@dataclass(frozen=True, slots=True)
class Parsed(Generic[Item]):
    """One sync item: the validated body, or its errors (locations relative to the item)."""

    value: Item | None
    errors: list[dict[str, Any]]
    key: str | None


def _item_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": list(err["loc"]),
            "msg": "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"]),
        }
        for err in exc.errors()
    ]


def _tolerant(model: type[Item], key_field: str) -> Any:
    """A validator that never fails the envelope: it returns ``Parsed`` either way."""

    def parse(raw: Any) -> Parsed[Item]:
        key = raw.get(key_field) if isinstance(raw, dict) else None
        key = key if isinstance(key, str) and storable(key) else None
        unstorable = item_string_errors(raw, [])
        if unstorable:
            return Parsed(None, unstorable, key)
        try:
            return Parsed(model.model_validate(raw), [], key)
        except ValidationError as exc:
            return Parsed(None, _item_errors(exc), key)

    return PlainValidator(parse, json_schema_input_type=model)


class SyncRequest(StrictInput):
    """Up to 500 queued writes in total; each item has the shape of its single endpoint."""

    pain_logs: list[Annotated[Parsed[PainLogSyncItem], _tolerant(PainLogSyncItem, "log_date")]] = Field(
        default_factory=list, max_length=MAX_SYNC_ITEMS
    )
    exercise_sessions: list[Annotated[Parsed[ExerciseSessionCreate], _tolerant(ExerciseSessionCreate, "id")]] = Field(
        default_factory=list, max_length=MAX_SYNC_ITEMS
    )


class ItemErrorPublic(Public):
    code: str
    detail: str
    errors: list[dict[str, Any]] = Field(default_factory=list)


class SyncItemResult(Public):
    kind: Literal["pain_log", "exercise_session"]
    index: int = Field(description="Position of the item in its list")
    key: str | None = Field(description="log_date of a pain log, id of a session, as sent")
    status: WriteStatus
    error: ItemErrorPublic | None = None
    log: PainLogPublic | None = Field(default=None, description="The stored log, for a stale pain log")


class SyncResponse(Public):
    results: list[SyncItemResult]
    triage: TriagePublic


def check_batch_size(body: SyncRequest) -> None:
    total = len(body.pain_logs) + len(body.exercise_sessions)
    if total > MAX_SYNC_ITEMS:
        msg = f"at most {MAX_SYNC_ITEMS} items per sync (pain_logs and exercise_sessions together); got {total}"
        raise Problem(
            422,
            "sync_batch_too_large",
            msg,
            errors=[{"loc": ["body", "pain_logs"], "msg": msg}, {"loc": ["body", "exercise_sessions"], "msg": msg}],
        )


def _prefixed(errors: list[dict[str, Any]], prefix: Loc) -> list[dict[str, Any]]:
    return [{"loc": [*prefix, *e["loc"]], "msg": e["msg"]} for e in errors]


def _rejected(
    kind: Literal["pain_log", "exercise_session"], index: int, key: str | None, problem: Problem
) -> SyncItemResult:
    return SyncItemResult(
        kind=kind,
        index=index,
        key=key,
        status="rejected",
        error=ItemErrorPublic(code=problem.code, detail=problem.detail, errors=problem.errors or []),
    )


def _invalid(errors: list[dict[str, Any]]) -> Problem:
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return Problem(422, "validation_error", f"invalid fields: {fields}", errors=errors)


class ItemNotStored(Problem):
    """The database refused one item; its SAVEPOINT was rolled back, the batch goes on."""

    def __init__(self) -> None:
        super().__init__(422, "item_not_stored", "the database refused this item; nothing of it was stored")


def _in_savepoint(session: Session, kind: str, index: int, write: Callable[[], Written]) -> Written:
    """``write()`` in a SAVEPOINT; a data error (constraint, value refused) rolls back just
    this item and becomes ``ItemNotStored``. Anything else propagates and fails the batch."""
    try:
        with session.begin_nested():
            return write()
    except (IntegrityError, DataError) as exc:
        _log.warning("sync_item_not_stored", kind=kind, index=index, **error_fields(exc))
        raise ItemNotStored() from exc


@dataclass(slots=True)
class _Batch:
    results: list[SyncItemResult] = field(default_factory=list)
    changed: dict[date, PainLog] = field(default_factory=dict)
    replayed: dict[date, PainLog] = field(default_factory=dict)
    written_sessions: list[str] = field(default_factory=list)
    written_log_ids: set[int] = field(default_factory=set)


def _in_key_order(items: list[Parsed[Item]], key: Callable[[Item], str]) -> list[tuple[int, Parsed[Item]]]:
    """Valid items by their row key (stable for duplicates), then the invalid ones."""

    def order(pair: tuple[int, Parsed[Item]]) -> tuple[bool, str, int]:
        index, parsed = pair
        return (parsed.value is None, key(parsed.value) if parsed.value is not None else "", index)

    return sorted(enumerate(items), key=order)


def _sync_logs(session: Session, patient: Patient, body: SyncRequest, now: datetime, batch: _Batch) -> None:
    today = local_today(patient.timezone, now)
    # Rows are written in date order (results keep the request's order) so two concurrent
    # syncs of one patient lock the same rows in the same order and cannot deadlock.
    for index, parsed in _in_key_order(body.pain_logs, lambda item: item.log_date.isoformat()):
        prefix: Loc = ["body", "pain_logs", index]
        if parsed.value is None:
            batch.results.append(_rejected("pain_log", index, parsed.key, _invalid(_prefixed(parsed.errors, prefix))))
            continue
        item = parsed.value
        try:
            check_log_date(item.log_date, today, [*prefix, "log_date"])
            check_client_time(item, now, [*prefix, "client_updated_at"])
        except Problem as problem:
            batch.results.append(_rejected("pain_log", index, parsed.key, problem))
            continue
        try:
            written = _in_savepoint(
                session, "pain_log", index, partial(upsert_pain_log, session, patient, item.log_date, item, now)
            )
        except ItemNotStored as problem:
            batch.results.append(_rejected("pain_log", index, parsed.key, problem))
            continue
        result = SyncItemResult(kind="pain_log", index=index, key=item.log_date.isoformat(), status=written.status)
        if written.status == "stale":
            result.log = PainLogPublic.of(written.log)
        elif written.changed:
            batch.changed[item.log_date] = written.log
            batch.replayed.pop(item.log_date, None)
        elif item.log_date not in batch.changed:
            batch.replayed[item.log_date] = written.log
        if written.wrote:
            assert written.log.id is not None
            batch.written_log_ids.add(written.log.id)
        batch.results.append(result)


def _sync_sessions(session: Session, patient: Patient, body: SyncRequest, now: datetime, batch: _Batch) -> None:
    for index, parsed in _in_key_order(body.exercise_sessions, lambda item: str(item.id)):
        prefix: Loc = ["body", "exercise_sessions", index]
        if parsed.value is None:
            batch.results.append(
                _rejected("exercise_session", index, parsed.key, _invalid(_prefixed(parsed.errors, prefix)))
            )
            continue
        item = parsed.value
        errors = session_errors(item, patient, now, prefix)
        if errors:
            batch.results.append(_rejected("exercise_session", index, parsed.key, _invalid(errors)))
            continue
        try:
            written = _in_savepoint(
                session, "exercise_session", index, partial(record_session, session, patient, item, now)
            )
        except (SessionIdConflict, ItemNotStored) as problem:
            batch.results.append(_rejected("exercise_session", index, str(item.id), problem))
            continue
        if written.status != "unchanged":
            batch.written_sessions.append(str(item.id))
        batch.results.append(
            SyncItemResult(kind="exercise_session", index=index, key=str(item.id), status=written.status)
        )


def run_sync(
    session: Session, user: User, patient: Patient, body: SyncRequest, now: datetime, rules: RuleSettings
) -> SyncResponse:
    check_batch_size(body)
    batch = _Batch()
    _sync_logs(session, patient, body, now, batch)
    _sync_sessions(session, patient, body, now, batch)
    triages: list[TriagePublic] = []
    if batch.changed:
        # The patient row's bookkeeping, the snapshot and the rules over every changed log at once.
        triages.append(after_logs_written(session, patient, list(batch.changed.values()), now, rules).triage)
    elif batch.written_log_ids:
        record_log_dates(session, patient, (), now)
    elif batch.written_sessions:
        touch_activity(session, patient, now)
    if batch.replayed:
        triages.append(replay_triage(session, patient, list(batch.replayed.values()), now, rules))
    if batch.written_log_ids or batch.written_sessions:
        counts = Counter(f"{result.kind}_{result.status}" for result in batch.results)
        record_audit(
            session,
            at=now,
            action="sync",
            resource="sync",
            actor=user,
            patient_id=patient.id,
            detail={
                "pain_log_ids": sorted(batch.written_log_ids),
                "exercise_session_ids": batch.written_sessions,
                "counts": dict(counts),
            },
        )
    results = sorted(batch.results, key=lambda r: (r.kind != "pain_log", r.index))
    return SyncResponse(results=results, triage=strongest(triages, rules))
