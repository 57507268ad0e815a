"""The outbox dispatcher: claim due deliveries, push them, record what happened.

Three short steps per batch, never holding a transaction open across the network:

1. **claim** (one transaction): lock due pending rows (``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, safety messages first), count the attempt and lease them by moving
   ``next_attempt_at`` past the lease. Other dispatchers neither see nor wait for them.
2. **send** (no transaction): in parallel through the platform's ``Notifier``.
3. **record** (one transaction): sent / retry later (backoff with full jitter, never
   before ``Retry-After``) / dead letter / device retired. Each update is fenced on the
   attempt number it claimed, so a dispatcher that lost its lease cannot overwrite the
   row a newer claim owns.

Guarantee: at least once, with a stable message id. If a dispatcher dies between send
and record, the lease expires and the message is sent again with the same id
(``backstep-delivery-<id>``), which receivers use to drop the copy. Nothing is lost:
a row leaves ``pending`` only as sent, dead (with ``last_error``) or cancelled.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col

from api.config import Settings
from api.db import session_scope
from api.delivery.backoff import retry_delay
from api.delivery.messages import Outcome, PushMessage, SendResult
from api.delivery.providers import UNCONFIGURED, Providers
from api.models import Delivery, DeliveryStatus, Device, Notification
from api.notifications.devices import retire_device

_log = structlog.get_logger("api.delivery")
_PENDING: sa.ColumnElement[str] = sa.literal_column("'pending'")  # a literal, so the partial index always applies


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    attempts: int
    platform: str | None  # None: the device row is gone
    retired: bool
    device_id: int | None
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
    providers: Providers | None,
    now: datetime,
    *,
    clock: Callable[[], datetime] | None = None,
    rng: random.Random | None = None,
    max_batches: int = 1000,
) -> dict[str, int]:
    """Deliver every push due at ``now``; counts per outcome.

    ``clock`` stamps sent/failed times (default: ``now``); ``rng`` drives the jitter.
    """
    if providers is None:
        with Providers(settings) as own:
            return deliver_due(engine, settings, own, now, clock=clock, rng=rng, max_batches=max_batches)
    stamp = clock or (lambda: now)
    jitter = rng or random.Random()  # noqa: S311 - jitter, not security
    totals: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=settings.delivery_concurrency, thread_name_prefix="push") as pool:
        for _ in range(max_batches):
            claimed = claim(engine, settings, now)
            if not claimed:
                break
            deadline = time.monotonic() + settings.delivery_lease_seconds / 2
            futures = [pool.submit(_attempt, providers, item, deadline) for item in claimed]
            verdicts = [future.result() for future in futures]
            totals.update(record(engine, settings, claimed, verdicts, stamp(), jitter))
    return {k: totals[k] for k in ("sent", "retry", "dead", "cancelled", "released", "retired_devices")}


def claim(engine: Engine, settings: Settings, now: datetime) -> list[Claimed]:
    """Lock, count and lease up to a batch of due deliveries (safety first)."""
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
                next_attempt_at=now + timedelta(seconds=settings.delivery_lease_seconds),
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
    """Write every outcome of a batch in one transaction, fenced on the claimed attempt."""
    table = Delivery.__table__  # type: ignore[attr-defined]
    counts: Counter[str] = Counter()
    params: list[dict[str, Any]] = []
    retire: dict[int, str] = {}
    for item, verdict in zip(claimed, verdicts, strict=True):
        label, row = _row_update(settings, item, verdict, at, rng)
        counts[label] += 1
        params.append(row)
        if verdict.retire and item.device_id is not None:
            retire[item.device_id] = verdict.detail or "token rejected by the provider"
        if label in ("dead", "retry"):
            _log.info("push_failed", delivery_id=item.delivery_id, attempts=item.attempts, outcome=label)
    with session_scope(engine) as session:
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
                last_error=sa.func.coalesce(bindparam("b_error", type_=table.c.last_error.type), table.c.last_error),
            ),
            params,
        )
        for device_id, why in retire.items():
            retire_device(session, device_id, why[:200], at)
            counts["retired_devices"] += 1
    return counts


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
    if verdict.kind == "retry" and item.attempts < settings.delivery_max_attempts:
        delay = retry_delay(
            item.attempts,
            verdict.retry_after,
            settings.delivery_backoff_base_seconds,
            settings.delivery_backoff_max_seconds,
            rng,
        )
        row.update(b_next=at + timedelta(seconds=delay), b_failed_at=at, b_error=detail[:500])
        return "retry", row
    if verdict.kind == "retry":
        detail = f"gave up after {item.attempts} attempts: {detail}"
    row.update(b_status=DeliveryStatus.DEAD, b_failed_at=at, b_error=detail[:500])
    return "dead", row
