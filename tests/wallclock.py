"""Moving the wall clock in tests: security lifetimes (tokens, dashboard sessions, login
waits) run on ``Clock.wall_now``, which the test clock never moves."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from api import clock


class WallClock:
    """A stopped wall clock that only the test moves, so waits and lifetimes are exact even
    on a loaded machine; the application clock (wall clock plus its offset) moves along."""

    def __init__(self) -> None:
        self.instant = clock.system_now()

    def now(self) -> datetime:
        return self.instant

    def advance(self, delta: timedelta) -> None:
        self.instant += delta


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    moved = WallClock()
    monkeypatch.setattr(clock, "system_now", moved.now)  # undone by monkeypatch after the test
    return moved
