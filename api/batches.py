"""Scheduled work in one shape: claim a batch, process it, fall back row by row.

Every job that works through due rows (reminders, re-notification, plan reviews, the
escalation sweep, the triage-list upkeep) runs ``run_batches``:

1. **claim** up to ``batch_size`` rows in a new transaction, locked ``FOR UPDATE SKIP
   LOCKED`` on PostgreSQL, so concurrent schedulers split the work instead of queueing
   behind each other. SQLite ignores SKIP LOCKED: it has a single writer, so there the
   transaction itself serializes the schedulers.
2. **process** the batch together in that transaction (inside a savepoint), so a batch
   costs a handful of statements whatever its size.
3. if processing raises, **fall back row by row**: roll back to the savepoint and process
   each claimed row alone in its own savepoint, still holding the locks. One bad row (a
   corrupt record, a bug on one patient's data) must not poison the rows that share its
   batch; it is logged, counted as ``failed`` and handed to ``give_up``.

The loop ends when a claim returns fewer rows than asked for (nothing more is due that
another scheduler does not hold) or nothing this run has not already seen (a failed
row still due must not be retried in a loop). Each transaction commits before the next
claim, so a crash loses at most the batch in hand, which the next run claims again.

The outbox dispatcher (``api.delivery.dispatcher``) cannot process inside its claim's
transaction (it must commit the claim before sending over the network), so it runs its
own claim loop and uses ``process_with_fallback`` for the record step: a row whose
outcome cannot be written does not lose the outcomes recorded with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from api.db import session_scope

_log = structlog.get_logger("api.batches")

Item = TypeVar("Item")
ItemIn = TypeVar("ItemIn", contravariant=True)


class BatchProcess(Protocol[ItemIn]):
    """How to process rows already claimed: together, or one by one when that fails."""

    @property
    def name(self) -> str:
        """The job, for the log lines."""
        ...

    def key(self, item: ItemIn) -> Hashable:
        """What identifies a row across claims (no PHI: it is logged on failure)."""
        ...

    def process(self, session: Session, batch: Sequence[ItemIn]) -> Counter[str]:
        """Do the work for ``batch`` in ``session`` (flush, never commit); counts."""
        ...

    def give_up(self, session: Session, item: ItemIn) -> None:
        """After ``item`` failed on its own: leave it for the next run, or mark it done."""
        ...


class BatchWork(BatchProcess[Item], Protocol[Item]):
    """One kind of scheduled work, as ``run_batches`` drives it."""

    def claim(self, session: Session, limit: int) -> Sequence[Item]:
        """Up to ``limit`` due rows, locked for this transaction (SKIP LOCKED)."""
        ...


def run_batches(engine: Engine, work: BatchWork[Item], batch_size: int) -> Counter[str]:
    """Claim, process and commit batch after batch until nothing is due; summed counts."""
    totals: Counter[str] = Counter()
    seen: set[Hashable] = set()
    while True:
        with session_scope(engine) as session:
            claimed = work.claim(session, batch_size)
            fresh = [item for item in claimed if work.key(item) not in seen]
            if not fresh:
                break
            seen.update(work.key(item) for item in fresh)
            totals.update(process_with_fallback(session, work, fresh))
        if len(claimed) < batch_size:
            break
    return totals


def run_batches_on_threads(
    engine: Engine, work: BatchWork[Item], batch_size: int, workers: int, rows: int
) -> Counter[str]:
    """``run_batches`` on ``workers`` threads sharing ``work``'s claims (each its own connection
    and transaction), so the database works on one batch while Python works on another; one
    thread when ``rows`` (the work expected) fit in a batch, and on SQLite, whose one writer
    would only queue the threads. The summed counts."""
    if workers <= 1 or rows <= batch_size or engine.dialect.name != "postgresql":
        return run_batches(engine, work, batch_size)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=work.name) as pool:
        runs = [pool.submit(run_batches, engine, work, batch_size) for _ in range(workers)]
        return sum((run.result() for run in runs), Counter())


def process_with_fallback(session: Session, work: BatchProcess[Item], batch: Sequence[Item]) -> Counter[str]:
    """Process ``batch`` at once; if that raises, each row alone (see the module docstring)."""
    try:
        with session.begin_nested():
            return work.process(session, batch)
    except Exception as exc:
        if len(batch) == 1:  # nothing to separate: it failed on its own
            return _failed(session, work, batch[0])
        _log.warning("batch_failed", job=work.name, rows=len(batch), error_type=type(exc).__name__)
    counts: Counter[str] = Counter()
    for item in batch:
        try:
            with session.begin_nested():
                counts.update(work.process(session, [item]))
        except Exception:
            counts.update(_failed(session, work, item))
    return counts


def _failed(session: Session, work: BatchProcess[Item], item: Item) -> Counter[str]:
    """Log the exception being handled, count the row and let the work give it up."""
    _log.exception("batch_row_failed", job=work.name, key=str(work.key(item)))
    with session.begin_nested():
        work.give_up(session, item)
    return Counter(failed=1)
