"""Moving the wall clock in tests: security lifetimes (tokens, dashboard sessions, login
waits) run on ``Clock.wall_now``, which the test clock never moves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from api import clock


class WallClock:
    """Real time plus an offset the test moves forward (or back); the application clock,
    being real time plus its own offset, moves along with it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._real = clock.system_now

    def now(self) -> datetime:
        return self._real() + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    moved = WallClock()
    monkeypatch.setattr(clock, "system_now", moved.now)  # undone by monkeypatch after the test
    return moved
