"""The scheduled jobs, by name, as the CLI and the scheduler run them.

Each job is idempotent and takes ``now`` (the application clock) explicitly, so
``backstep jobs run NAME --now ISO`` replays any instant, and any number of
scheduler processes (or a restart mid-tick) do each piece of work once: the
database, not the scheduler, is the source of truth for what is due.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Engine

from api.clock import Clock
from api.config import Settings

_log = structlog.get_logger("api.jobs")


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    clock: Clock


JobResult = dict[str, Any]
Job = Callable[[JobContext, datetime], JobResult]


def run_reminders(ctx: JobContext, now: datetime) -> JobResult:
    """Minute tick: create due reminders (issue 7 fills this in)."""
    return {"created": 0}


def run_deliveries(ctx: JobContext, now: datetime) -> JobResult:
    """Outbox tick: re-notify unacknowledged urgent alerts, deliver pending pushes."""
    return {"sent": 0}


def run_sweep(ctx: JobContext, now: datetime) -> JobResult:
    """Daily rule sweep: time-based clinical rules and weekly plan reviews."""
    return {"patients": 0}


JOBS: dict[str, Job] = {
    "reminders": run_reminders,
    "deliveries": run_deliveries,
    "sweep": run_sweep,
}


def run_job(name: str, ctx: JobContext, now: datetime | None = None) -> JobResult:
    at = now or ctx.clock.now()
    result = JOBS[name](ctx, at)
    _log.info("job_finished", job=name, at=at.isoformat(), **result)
    return result
