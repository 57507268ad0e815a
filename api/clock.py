"""The application clock: the only source of "now" outside the pure rules.

In production it is the system clock. Where ``BACKSTEP_ALLOW_TEST_CLOCK=true`` an
admin can move it (SPEC §2.12); the setting lives in the ``test_clock`` table so the
API, the scheduler and every CLI process agree. The row is re-read at most once
per ``clock_cache_seconds`` so the hot path does not pay a query per call.

Security lifetimes (access and refresh tokens, dashboard sessions, login lock-outs)
run on ``wall_now()``, never on the test clock: moving the application clock must
neither log anyone out nor lift a lock-out.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, select

from api.db import DEFERRED_BEGIN
from api.models import TestClock


def system_now() -> datetime:
    return datetime.now(UTC)


def local_today(timezone: str, now: datetime) -> date:
    """The calendar date in ``timezone`` at ``now``: a patient's "today" for every rule."""
    return now.astimezone(ZoneInfo(timezone)).date()


class Clock:
    def __init__(self, engine: Engine | None, *, test_clock_enabled: bool, cache_seconds: float = 1.0) -> None:
        self._engine = engine
        self._enabled = test_clock_enabled and engine is not None
        self._cache_seconds = cache_seconds
        self._offset = timedelta(0)
        self._read_at: float | None = None
        self._lock = threading.Lock()

    @property
    def test_clock_enabled(self) -> bool:
        return self._enabled

    def now(self) -> datetime:
        """The current application instant (aware, UTC)."""
        real = system_now()
        if not self._enabled:
            return real
        return real + self._current_offset()

    def wall_now(self) -> datetime:
        """The real instant (aware, UTC), whatever the test clock says."""
        return system_now()

    def set(self, now_at: datetime, set_by: int | None, session: Session) -> None:
        """Move the clock (caller commits). Only possible when the test clock is enabled."""
        if not self._enabled:
            raise RuntimeError("the test clock is disabled")
        real = system_now()
        row = session.get(TestClock, 1)
        if row is None:
            row = TestClock(id=1, now_at=now_at, set_at=real, set_by=set_by)
        else:
            row.now_at, row.set_at, row.set_by = now_at, real, set_by
        session.add(row)
        with self._lock:
            self._offset = now_at - real
            self._read_at = time.monotonic()

    def reset(self, session: Session) -> None:
        row = session.get(TestClock, 1)
        if row is not None:
            session.delete(row)
        with self._lock:
            self._offset = timedelta(0)
            self._read_at = time.monotonic()

    def _current_offset(self) -> timedelta:
        with self._lock:
            fresh = self._read_at is not None and time.monotonic() - self._read_at < self._cache_seconds
            if fresh:
                return self._offset
        assert self._engine is not None
        with self._engine.connect() as connection:
            connection.execution_options(**DEFERRED_BEGIN)
            row = connection.execute(select(TestClock.now_at, TestClock.set_at).where(TestClock.id == 1)).first()
            offset = (row.now_at - row.set_at) if row is not None else timedelta(0)
        with self._lock:
            self._offset = offset
            self._read_at = time.monotonic()
        return offset
