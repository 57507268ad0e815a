"""APScheduler wiring: a few interval/cron jobs, in-memory job store, no per-patient jobs.

The scheduler only decides *when to look*; what is due lives in the database, so
the job store can be in memory and any number of scheduler processes can run on
PostgreSQL (rows are claimed with SKIP LOCKED, notifications carry unique keys).
"""

from __future__ import annotations

from typing import Any

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from api.jobs import JobContext, run_job

_log = structlog.get_logger("api.scheduler")


def _safe_run(name: str, ctx: JobContext) -> None:
    try:
        run_job(name, ctx)
    except Exception:  # a failed tick is retried by the next one; never kill the scheduler
        _log.exception("job_failed", job=name)


def build_scheduler(ctx: JobContext, *, blocking: bool) -> BaseScheduler:
    settings = ctx.settings
    job_defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler: BaseScheduler = (
        BlockingScheduler(job_defaults=job_defaults, timezone="UTC")
        if blocking
        else BackgroundScheduler(job_defaults=job_defaults, timezone="UTC", daemon=True)
    )
    scheduler.add_job(
        _safe_run,
        IntervalTrigger(seconds=settings.reminder_tick_seconds),
        args=("reminders", ctx),
        id="reminders",
        replace_existing=True,
    )
    scheduler.add_job(
        _safe_run,
        IntervalTrigger(seconds=settings.delivery_tick_seconds),
        args=("deliveries", ctx),
        id="deliveries",
        replace_existing=True,
    )
    # Daily, plus hourly catch-up runs: the sweep is idempotent and only picks up work
    # that is due and not yet done, so extra runs are cheap and a missed night heals.
    scheduler.add_job(_safe_run, CronTrigger(minute=17), args=("sweep", ctx), id="sweep", replace_existing=True)
    return scheduler
