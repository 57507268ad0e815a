"""APScheduler wiring: a few interval/cron jobs, in-memory job store, no per-patient jobs.

The scheduler only decides *when to look*; what is due lives in the database, so
the job store can be in memory and any number of scheduler processes can run on
PostgreSQL (rows are claimed with SKIP LOCKED, notifications carry unique keys).
Each job coalesces missed runs and never overlaps itself (``max_instances=1``).
Shutdown waits for the running tick: every batch is its own transaction, so even a
hard kill loses nothing, but a graceful stop does not even leave a lease to expire.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
from types import FrameType
from typing import Any

import structlog
from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from api.delivery.providers import Providers
from api.jobs import JobContext, run_job

_log = structlog.get_logger("api.scheduler")


def _safe_run(name: str, ctx: JobContext) -> None:
    try:
        run_job(name, ctx)
    except Exception:  # a failed tick is retried by the next one; never kill the scheduler
        _log.exception("job_failed", job=name)


def build_scheduler(ctx: JobContext, *, blocking: bool) -> BaseScheduler:
    """The scheduler with its jobs (not started). It owns the push providers it builds."""
    settings = ctx.settings
    if ctx.providers is None:
        providers = Providers(settings)
        ctx = dataclasses.replace(ctx, providers=providers)
    else:
        providers = None
    job_defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler: BaseScheduler = (
        BlockingScheduler(job_defaults=job_defaults, timezone="UTC")
        if blocking
        else BackgroundScheduler(job_defaults=job_defaults, timezone="UTC", daemon=True)
    )
    if providers is not None:
        # Fired after the executors finished the running jobs, so no push is cut off.
        scheduler.add_listener(lambda _event: providers.close(), EVENT_SCHEDULER_SHUTDOWN)
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
    # The triage list's rows, soon after each zone's midnight (the page recomputes any it
    # finds out of date, so this only spares the first page of the morning the work).
    scheduler.add_job(
        _safe_run, CronTrigger(minute="4-59/10"), args=("standings", ctx), id="standings", replace_existing=True
    )
    return scheduler


def run_until_stopped(ctx: JobContext, stop: threading.Event | None = None) -> None:
    """``backstep scheduler``: run until SIGTERM/SIGINT (or ``stop``), then finish the running tick."""
    stop = stop or threading.Event()
    scheduler = build_scheduler(ctx, blocking=False)

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        _log.info("scheduler_stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler.start()
    _log.info("scheduler_started", jobs=[job.id for job in scheduler.get_jobs()])
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _log.info("scheduler_stopped")
