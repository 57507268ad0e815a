"""The scheduled jobs, by name, as the CLI and the scheduler run them.

Each job is idempotent and takes ``now`` (the application clock) explicitly, so
``backstep jobs run NAME --now ISO`` replays any instant, and any number of
scheduler processes (or a restart mid-tick) do each piece of work once: the
database, not the scheduler, is the source of truth for what is due.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from sqlalchemy import Engine

from api.alerts.renotify import renotify_due_alerts
from api.alerts.sweep import run_escalation_sweep
from api.clock import Clock
from api.config import Settings
from api.db import job_engine
from api.delivery.dispatcher import deliver_due
from api.delivery.providers import Providers
from api.observability.metrics import job_run
from api.observability.tracing import job_tracer
from api.plans.sweep import run_plan_sweep
from api.reminders.tick import run_reminder_tick
from api.standing.job import run_standing_refresh

_log = structlog.get_logger("api.jobs")


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    clock: Clock
    # The process's push providers (one HTTP client, cached FCM token); the scheduler
    # owns and closes them. None: a one-off run builds its own.
    providers: Providers | None = None


JobResult = dict[str, Any]
Job = Callable[[JobContext, datetime], JobResult]
# Every step of every job has this signature, and each works through its due rows in the
# one shape of ``api.batches`` (claim with SKIP LOCKED, process, fall back row by row).
Step = Callable[[Engine, Settings, datetime], dict[str, int]]


def _run_steps(ctx: JobContext, now: datetime, *steps: Step) -> JobResult:
    result: JobResult = {}
    for step in steps:
        result.update(step(ctx.engine, ctx.settings, now))
    return result


def run_reminders(ctx: JobContext, now: datetime) -> JobResult:
    """Minute tick: create the reminders due at ``now``, each once."""
    return _run_steps(ctx, now, run_reminder_tick)


def run_deliveries(ctx: JobContext, now: datetime) -> JobResult:
    """Outbox tick: re-notify unacknowledged urgent alerts, deliver pending pushes.

    ``now`` is the only clock: claims, leases and retry times all derive from it, so a
    replay with ``--now T`` makes at most one attempt per delivery.
    """
    return _run_steps(ctx, now, renotify_due_alerts, partial(deliver_due, providers=ctx.providers))


def run_sweep(ctx: JobContext, now: datetime) -> JobResult:
    """Daily rule sweep: time-based clinical rules and weekly plan reviews."""
    return _run_steps(ctx, now, run_escalation_sweep, run_plan_sweep)


def run_standings(ctx: JobContext, now: datetime) -> JobResult:
    """Triage-list upkeep: recompute the patients' rows whose local date moved (``api.standing.job``)."""
    return _run_steps(ctx, now, run_standing_refresh)


JOBS: dict[str, Job] = {
    "reminders": run_reminders,
    "deliveries": run_deliveries,
    "sweep": run_sweep,
    "standings": run_standings,
}


def run_job(name: str, ctx: JobContext, now: datetime | None = None) -> JobResult:
    """Run one job with the job bounds (``BACKSTEP_JOB_*_TIMEOUT_SECONDS``) on every
    transaction: a sweep batch may wait and run longer than a request, but not forever."""
    at = now or ctx.clock.now()
    bounded = dataclasses.replace(ctx, engine=job_engine(ctx.engine, ctx.settings))
    with job_tracer().start_as_current_span(f"job {name}"), job_run(name) as counts:
        result = JOBS[name](bounded, at)
        counts.update(result)
    _log.info("job_finished", job=name, at=at.isoformat(), **result)
    return result
