"""The ``standings`` job: recompute the triage-list rows that went out of date.

A row's day part (classification, window means, days since the last log) is valid until
the patient's next local midnight, when the windows move on; the pain-log write path,
alert changes and ``PATCH /me`` keep it current in between (``api.standing.service``).
This job, every ten minutes (``api.scheduler``), recomputes the rows whose validity ran
out — in practice each time zone's rows, soon after its midnight — so the first triage
page of the morning finds them fresh. It is the triage list's own upkeep, kept out of the
daily rule sweep: escalations never wait for it, and a failure of one never holds up the
other. The page itself recomputes any row of its team it finds out of date before
listing it, so the list is right whether this job ran or not.

A run with nothing due is one query (0.16 s at 100,000 patients, ``bench/sweep.py``).
Rows are recomputed in batches of ``STANDING_BATCH`` through ``api.batches``: ``refresh``
locks the batch's patient rows in id order, as every writer does, so a run racing a
write, the page or another scheduler waits instead of saving a row from outdated data
(two schedulers may each recompute a row; the result is the same).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from api.batches import run_batches_on_threads
from api.config import Settings
from api.db import session_scope
from api.rules.settings import RuleSettings
from api.standing.service import refresh, stale_rows

# Patients per transaction: a batch is four statements whatever its size, so bigger batches
# than the sweep's are cheaper; 2,000 rows are a fraction of a second of locks.
STANDING_BATCH = 2000


class _StandingWork:
    """The out-of-date rows found at the start of the run, as ``run_batches`` drives them
    (shared by the worker threads). A claim takes ids off the queue; ``refresh`` locks
    their patient rows. A row that fails on its own is logged and left out of date: the
    next run, or the triage page, recomputes it."""

    name = "standings"

    def __init__(self, patient_ids: Sequence[int], now: datetime, rules: RuleSettings) -> None:
        self.now, self.rules = now, rules
        self._queue = deque(patient_ids)
        self._lock = threading.Lock()

    def claim(self, session: Session, limit: int) -> list[int]:
        with self._lock:
            return [self._queue.popleft() for _ in range(min(limit, len(self._queue)))]

    def key(self, item: int) -> int:
        return item

    def process(self, session: Session, batch: Sequence[int]) -> Counter[str]:
        refresh(session, batch, self.now, self.rules)
        return Counter(refreshed=len(batch))

    def give_up(self, session: Session, item: int) -> None:
        return None


def refresh_out_of_date(
    engine: Engine, now: datetime, *, rules: RuleSettings, workers: int = 1, batch_size: int = STANDING_BATCH
) -> dict[str, int]:
    """Recompute every row not valid at ``now`` (or missing); ``workers`` threads on PostgreSQL."""
    with session_scope(engine) as session:
        stale = stale_rows(session, now)
    counts = run_batches_on_threads(engine, _StandingWork(stale, now, rules), batch_size, workers, len(stale))
    return {"standings_refreshed": counts["refreshed"], "standings_failed": counts["failed"]}


def run_standing_refresh(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """The ``standings`` job's one step, with the configured rules and sweep workers."""
    return refresh_out_of_date(engine, now, rules=settings.rules, workers=settings.sweep_workers)
