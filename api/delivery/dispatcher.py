"""The outbox dispatcher: claim due deliveries, push them, record what happened.

Short steps, never holding a transaction open across the network:

1. **claim** (one transaction per batch): lock due pending rows (``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, safety messages first), count the attempt and lease them by
   moving ``next_attempt_at`` past the lease. Other dispatchers neither see nor wait.
2. **send** (no transaction): through the platform's ``Notifier``, at most
   ``delivery_concurrency`` at a time.
3. **record** (right after each send, in one transaction with any others that finished
   meanwhile): sent / retry later (backoff with full jitter inside the retry window,
   never before ``Retry-After``) / dead letter / device retired. Each update is fenced
   on the attempt number it claimed, so a dispatcher that lost its lease cannot
   overwrite the row a newer claim owns.

One clock: a run is given ``now``; it claims what is due at ``now`` and stamps leases,
retries and sent times with ``now`` plus the real time the run has taken. A retry is
therefore always later than ``now``, so one run (``backstep jobs run deliveries --now
T`` included) makes at most one attempt per delivery, whatever the machine's clock says.

Guarantee: at least once, with a stable message id. A send and its record are at most
``delivery_concurrency`` deep (a new send starts only when a finished one is recorded),
so a dispatcher killed mid-batch has at most that many sent-but-unrecorded messages;
their lease expires and they are sent again with the same id (``backstep-delivery-<id>``,
also the webhook's ``Idempotency-Key``), which receivers use to drop the copy. Nothing
is lost: a row leaves ``pending`` only as sent, dead (with ``last_error``) or cancelled.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col

from api.batches import process_with_fallback
from api.config import Settings
from api.db import session_scope
from api.delivery.backoff import next_attempt_at
from api.delivery.messages import Outcome, PushMessage, SendResult
from api.delivery.providers import UNCONFIGURED, Providers
from api.models import Delivery, DeliveryStatus, Device, Notification, NotificationKind
from api.notifications.devices import retire_device
from api.observability.metrics import observe_delivery

_log = structlog.get_logger("api.delivery")
_PENDING: sa.ColumnElement[str] = sa.literal_column("'pending'")  # a literal, so the partial index always applies
# Kept for the long retry window whatever their safety flag: what clinicians must see.
_CARE_TEAM_KINDS = frozenset({NotificationKind.SAFETY, NotificationKind.CARE_TEAM_ALERT})


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    attempts: int
    platform: str | None  # None: the device row is gone
    retired: bool
    device_id: int | None
    give_up_at: datetime | None  # None until the first failure
    message: PushMessage


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What to write for one claimed delivery."""

    kind: str  # sent | retry | dead | cancelled | released
    detail: str | None = None
    retry_after: float | None = None
    retire: bool = False
    tried: bool = True  # False: nothing went to a provider, so the claim is not an attempt


def deliver_due(
    engine: Engine,
    settings: Settings,
    now: datetime,
    *,
    providers: Providers | None = None,
    rng: random.Random | None = None,
    max_batches: int = 1000,
    elapsed: Callable[[], float] = time.monotonic,
) -> dict[str, int]:
    """Deliver every push due at ``now``; counts per outcome.

    ``providers``: the process's push clients (None: this run opens its own). ``rng``
    drives the jitter; ``elapsed`` (seconds, monotonic) advances the run's clock from
    ``now`` while the run lasts.
    """
    if providers is None:
        with Providers(settings) as own:
            return deliver_due(engine, settings, now, providers=own, rng=rng, max_batches=max_batches, elapsed=elapsed)
    started = elapsed()

    def run_clock() -> datetime:
        return now + timedelta(seconds=max(0.0, elapsed() - started))

    jitter = rng or random.Random()  # noqa: S311 - jitter, not security
    totals: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=settings.delivery_concurrency, thread_name_prefix="push") as pool:
        for _ in range(max_batches):
            claimed = claim(engine, settings, now, leased_at=run_clock())
            if not claimed:
                break
            deadline = time.monotonic() + settings.delivery_lease_seconds / 2
            totals.update(_send_and_record(pool, engine, settings, providers, claimed, deadline, run_clock, jitter))
    return {k: totals[k] for k in ("sent", "retry", "dead", "cancelled", "released", "retired_devices")}


def _send_and_record(
    pool: ThreadPoolExecutor,
    engine: Engine,
    settings: Settings,
    providers: Providers,
    claimed: Sequence[Claimed],
    deadline: float,
    run_clock: Callable[[], datetime],
    rng: random.Random,
) -> Counter[str]:
    """Send a batch, committing each outcome as soon as it is known.

    At most ``delivery_concurrency`` deliveries are sent-but-unrecorded at any moment:
    a new send starts only after a finished one is committed. That bounds what a crash
    (kill -9, OOM, power) can send twice; the rest of the batch is either committed or
    never sent.
    """
    counts: Counter[str] = Counter()
    waiting = deque(claimed)
    in_flight: dict[Future[_Verdict], Claimed] = {}
    while waiting or in_flight:
        while waiting and len(in_flight) < settings.delivery_concurrency:
            item = waiting.popleft()
            in_flight[pool.submit(_attempt, providers, item, deadline)] = item
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        # Whatever finished meanwhile is committed together (one transaction, not one per
        # row, when the database is the slower side); nothing new is sent before it is.
        finished = [(in_flight.pop(future), future.result()) for future in done]
        items, verdicts = zip(*finished, strict=True)
        counts.update(record(engine, settings, items, verdicts, run_clock(), rng))
    return counts


def claim(engine: Engine, settings: Settings, now: datetime, *, leased_at: datetime | None = None) -> list[Claimed]:
    """Lock, count and lease up to a batch of deliveries due at ``now`` (safety first).

    The lease runs from ``leased_at`` (the run's clock, default ``now``).
    """
    table = Delivery.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        ids: list[int] = []
        for safety in (True, False):
            room = settings.delivery_batch_size - len(ids)
            if room <= 0:
                break
            ids += session.execute(
                sa.select(table.c.id)
                .where(table.c.status == _PENDING, table.c.safety == safety, table.c.next_attempt_at <= now)
                .order_by(table.c.next_attempt_at)
                .limit(room)
                .with_for_update(skip_locked=True)
            ).scalars()
        if not ids:
            return []
        session.execute(
            sa.update(table)
            .where(table.c.id.in_(ids))
            .values(
                attempts=table.c.attempts + 1,
                next_attempt_at=(leased_at or now) + timedelta(seconds=settings.delivery_lease_seconds),
            )
        )
        return _load(session, ids)


def _load(session: Session, ids: Sequence[int]) -> list[Claimed]:
    """What each claimed delivery needs for its push (plain columns: no ORM objects to build)."""
    rows = session.execute(
        sa.select(
            col(Delivery.id),
            col(Delivery.attempts),
            col(Delivery.device_id),
            col(Delivery.give_up_at),
            col(Notification.id).label("notification_id"),
            col(Notification.kind),
            col(Notification.title),
            col(Notification.body),
            col(Notification.safety),
            col(Notification.created_at),
            col(Device.platform),
            col(Device.token),
            col(Device.retired_at),
        )
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .outerjoin(Device, col(Device.id) == col(Delivery.device_id))
        .where(col(Delivery.id).in_(ids))
    ).all()
    position = {delivery_id: n for n, delivery_id in enumerate(ids)}
    claimed = [
        Claimed(
            delivery_id=row.id,
            attempts=row.attempts,
            platform=row.platform,  # None when the device row is gone
            retired=row.retired_at is not None,
            device_id=row.device_id,
            give_up_at=row.give_up_at,
            message=PushMessage(
                delivery_id=row.id,
                notification_id=row.notification_id,
                token=row.token or "",
                kind=row.kind,
                title=row.title,
                body=row.body,
                safety=row.safety,
                created_at=row.created_at,
            ),
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: position[c.delivery_id])  # safety first, oldest first


def _attempt(providers: Providers, item: Claimed, deadline: float) -> _Verdict:
    if item.platform is None or item.retired:
        return _Verdict("cancelled", "device removed or retired", tried=False)
    notifier = providers.notifier(item.platform)
    if notifier is None:
        why = UNCONFIGURED.get(item.platform, f"no provider for platform {item.platform}")
        return _Verdict("dead", why, tried=False)
    if time.monotonic() > deadline:  # the lease is running out: let a later claim send it
        return _Verdict("released", tried=False)
    try:
        result = notifier.send(item.message)
    except Exception as exc:  # a provider bug must not lose the message or stop the batch
        _log.exception("push_send_crashed", delivery_id=item.delivery_id, platform=item.platform)
        result = SendResult.retry(f"provider error: {type(exc).__name__}")
    return _from_result(result)


def _from_result(result: SendResult) -> _Verdict:
    if result.outcome is Outcome.SENT:
        return _Verdict("sent")
    if result.outcome is Outcome.RETRY:
        return _Verdict("retry", result.detail, result.retry_after)
    if result.outcome is Outcome.GONE:
        return _Verdict("dead", f"{result.detail}; device retired", retire=True)
    return _Verdict("dead", result.detail)


def record(
    engine: Engine,
    settings: Settings,
    claimed: Sequence[Claimed],
    verdicts: Sequence[_Verdict],
    at: datetime,
    rng: random.Random,
) -> Counter[str]:
    """Write every outcome of a batch in one transaction, fenced on the claimed attempt.

    Should the write fail, each outcome is written alone (``process_with_fallback``): one
    bad row must not undo the outcomes of messages already sent. A row not written stays
    leased and pending, so it is sent again (same id) when its lease expires.
    """
    outcomes: list[_Outcome] = []
    for item, verdict in zip(claimed, verdicts, strict=True):
        label, row = _row_update(settings, item, verdict, at, rng)
        retiring = item.device_id if verdict.retire else None
        why = (verdict.detail or "token rejected by the provider") if retiring is not None else None
        outcomes.append(_Outcome(item.delivery_id, item.platform, label, row, retiring, why))
        if label in ("dead", "retry"):
            _log.info("push_failed", delivery_id=item.delivery_id, attempts=item.attempts, outcome=label)
    work = _RecordWork(at)
    with session_scope(engine) as session:
        counts = process_with_fallback(session, work, outcomes)
    for outcome in outcomes:  # committed: now they count
        if outcome.delivery_id not in work.not_written:
            observe_delivery(outcome.platform, outcome.label)
    return counts


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One delivery's decided outcome, ready to write."""

    delivery_id: int
    platform: str | None
    label: str
    row: dict[str, Any]
    retire_device: int | None
    retire_reason: str | None


@dataclass(frozen=True, slots=True)
class _RecordWork:
    """The record step's writes, as ``process_with_fallback`` drives them."""

    at: datetime
    name: str = "deliveries"
    not_written: set[int] = field(default_factory=set)  # given up: still leased, not counted

    def key(self, item: _Outcome) -> int:
        return item.delivery_id

    def process(self, session: Session, batch: Sequence[_Outcome]) -> Counter[str]:
        table = Delivery.__table__  # type: ignore[attr-defined]
        counts: Counter[str] = Counter(item.label for item in batch)
        session.execute(
            sa.update(table)
            .where(
                table.c.id == bindparam("b_id"),
                table.c.attempts == bindparam("b_attempts"),
                table.c.status == _PENDING,
            )
            .values(
                status=bindparam("b_status"),
                attempts=bindparam("b_new_attempts"),
                next_attempt_at=bindparam("b_next"),
                sent_at=bindparam("b_sent_at"),
                # A success keeps the last failure's time and reason: the row's history.
                failed_at=sa.func.coalesce(bindparam("b_failed_at", type_=table.c.failed_at.type), table.c.failed_at),
                give_up_at=sa.func.coalesce(
                    bindparam("b_give_up_at", type_=table.c.give_up_at.type), table.c.give_up_at
                ),
                last_error=sa.func.coalesce(bindparam("b_error", type_=table.c.last_error.type), table.c.last_error),
            ),
            [item.row for item in batch],
        )
        retire = {item.retire_device: item.retire_reason or "" for item in batch if item.retire_device is not None}
        for device_id, why in retire.items():
            # Another delivery to the same dead token may have retired it a moment ago.
            retired_at = session.execute(sa.select(col(Device.retired_at)).where(col(Device.id) == device_id))
            if retired_at.scalar_one_or_none() is None:
                counts["retired_devices"] += 1
            retire_device(session, device_id, why[:200], self.at)
        return counts

    def give_up(self, session: Session, item: _Outcome) -> None:
        """Left leased and pending: sent again, with the same id, once the lease expires."""
        self.not_written.add(item.delivery_id)


def _row_update(
    settings: Settings, item: Claimed, verdict: _Verdict, at: datetime, rng: random.Random
) -> tuple[str, dict[str, Any]]:
    """The outcome label and the column values for one delivery."""
    row: dict[str, Any] = {
        "b_id": item.delivery_id,
        "b_attempts": item.attempts,
        "b_new_attempts": item.attempts if verdict.tried else item.attempts - 1,
        "b_status": DeliveryStatus.PENDING,
        "b_next": at,
        "b_sent_at": None,
        "b_failed_at": None,
        "b_give_up_at": None,
        "b_error": None,
    }
    if verdict.kind == "sent":
        row.update(b_status=DeliveryStatus.SENT, b_sent_at=at)
        return "sent", row
    if verdict.kind == "released":
        return "released", row
    if verdict.kind == "cancelled":
        row.update(b_status=DeliveryStatus.CANCELLED, b_error=verdict.detail)
        return "cancelled", row
    detail = verdict.detail or "failed"
    if verdict.kind == "retry":
        hours = retry_hours(settings, item.message)
        give_up_at = item.give_up_at or at + timedelta(hours=hours)
        if at < give_up_at:
            retry_at = next_attempt_at(
                at,
                item.attempts,
                verdict.retry_after,
                give_up_at,
                base=settings.delivery_backoff_base_seconds,
                cap=settings.delivery_backoff_max_seconds,
                rng=rng,
            )
            row.update(b_next=retry_at, b_failed_at=at, b_give_up_at=give_up_at, b_error=detail[:500])
            return "retry", row
        detail = f"gave up after {item.attempts} attempts in {hours:g} h: {detail}"
    row.update(b_status=DeliveryStatus.DEAD, b_failed_at=at, b_error=detail[:500])
    return "dead", row


def retry_hours(settings: Settings, message: PushMessage) -> float:
    """How long a failing push is retried: longer for what the care team must not miss."""
    if message.safety or message.kind in _CARE_TEAM_KINDS:
        return max(settings.delivery_safety_retry_hours, settings.delivery_retry_hours)
    return settings.delivery_retry_hours
