"""The process's Prometheus instruments and the one-line helpers the code calls.

Every label has a small, fixed set of values: the route TEMPLATE (``/api/v1/patients/
{patient_id}``), never the raw path; a method outside the standard ones is ``OTHER``;
job names, outcomes, platforms and reminder kinds come from the code, not from input.

Under ``backstep serve --workers N`` these write to ``PROMETHEUS_MULTIPROC_DIR`` (set
by the CLI before the workers start) and the listener adds the files up; gauges say
how (``livesum``: only live processes, summed; ``max``: the latest timestamp).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import Engine, event

UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Seconds: from a 5 ms cached read to a 30 s bounded wait (then 503).
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Seconds: a quiet tick to a night sweep that should never take hours.
_JOB_BUCKETS = (0.05, 0.25, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0)
# Seconds after the due time: a tick is every minute; past an hour a reminder is skipped.
_LATENESS_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

HTTP_REQUESTS = Counter(
    "backstep_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "backstep_http_request_duration_seconds",
    "HTTP request duration (first byte in to last byte out), by method, route template and status code",
    ["method", "route", "status"],
    buckets=_REQUEST_BUCKETS,
)
JOB_RUNS = Counter(
    "backstep_job_runs", "Scheduled job runs, by job and outcome (success or failure)", ["job", "outcome"]
)
JOB_DURATION = Histogram(
    "backstep_job_duration_seconds", "Scheduled job run duration, by job", ["job"], buckets=_JOB_BUCKETS
)
JOB_ROWS_CLAIMED = Counter(
    "backstep_job_rows_claimed",
    "Rows a job took up to work on (due reminders, claimed deliveries, swept patients), by job",
    ["job"],
)
JOB_ITEMS = Counter(
    "backstep_job_items", "What the jobs' runs reported (their result counts), by job and result", ["job", "result"]
)
JOB_LAST_SUCCESS = Gauge(
    "backstep_job_last_success_timestamp_seconds",
    "Unix time at which the job last finished without an error, by job",
    ["job"],
    multiprocess_mode="max",
)
DELIVERIES = Counter(
    "backstep_deliveries",
    "Push delivery attempts recorded, by platform and outcome (sent, retry, dead, cancelled, released)",
    ["platform", "outcome"],
)
DEAD_LETTERS = Counter("backstep_dead_letters", "Deliveries moved to the dead-letter state, by platform", ["platform"])
REMINDER_LATENESS = Histogram(
    "backstep_reminder_lateness_seconds",
    "Time from a reminder's due time to the tick that created it, by reminder kind",
    ["kind"],
    buckets=_LATENESS_BUCKETS,
)
DB_POOL_IN_USE = Gauge(
    "backstep_db_pool_connections_in_use",
    "Database connections checked out of the pool, by pool (summed over live processes)",
    ["pool"],
    multiprocess_mode="livesum",
)
DB_POOL_CAPACITY = Gauge(
    "backstep_db_pool_connections_max",
    "Connections the pool may hand out (size + overflow; 0: unpooled SQLite), by pool, summed over live processes",
    ["pool"],
    multiprocess_mode="livesum",
)

# Families a scrape shows (the database gauges come from api.observability.collector).
PROCESS_FAMILIES = (
    "backstep_http_requests",
    "backstep_http_request_duration_seconds",
    "backstep_job_runs",
    "backstep_job_duration_seconds",
    "backstep_job_rows_claimed",
    "backstep_job_items",
    "backstep_job_last_success_timestamp_seconds",
    "backstep_deliveries",
    "backstep_dead_letters",
    "backstep_reminder_lateness_seconds",
    "backstep_db_pool_connections_in_use",
    "backstep_db_pool_connections_max",
)

# Which result count of each job is "rows claimed".
_CLAIMED_KEYS: Mapping[str, tuple[str, ...]] = {
    "reminders": ("due",),
    "deliveries": ("sent", "retry", "dead", "cancelled", "released"),
    "sweep": ("escalation_patients",),
}


def route_label(scope: Mapping[str, Any]) -> str:
    """The matched route's full template (``/api/v1/clinician/patients/{patient_id}``); anything
    unmatched (404s, probes of random paths) is one label.

    ``scope["route"]`` alone is the route as its router declared it, without the prefixes
    ``include_router`` added; FastAPI records the matched route with its prefixes in its
    ``scope["fastapi"]`` (its own telemetry reads it there), so that comes first.
    """
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for candidate in (getattr(context, "path_format", None), getattr(scope.get("route"), "path", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    return UNMATCHED_ROUTE


def observe_request(scope: Mapping[str, Any], status: int, seconds: float) -> None:
    method = scope.get("method")
    labels = (method if method in _METHODS else "OTHER", route_label(scope), str(status))
    HTTP_REQUESTS.labels(*labels).inc()
    HTTP_DURATION.labels(*labels).observe(seconds)


@contextmanager
def job_run(job: str) -> Iterator[dict[str, Any]]:
    """Times one job run and counts it; the caller puts the job's result counts in the dict."""
    result: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        yield result
    except BaseException:
        JOB_RUNS.labels(job, "failure").inc()
        raise
    finally:
        JOB_DURATION.labels(job).observe(time.perf_counter() - started)
    JOB_RUNS.labels(job, "success").inc()
    JOB_LAST_SUCCESS.labels(job).set(time.time())
    JOB_ROWS_CLAIMED.labels(job).inc(sum(_count(result.get(key)) for key in _CLAIMED_KEYS.get(job, ())))
    for key, value in result.items():
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            JOB_ITEMS.labels(job, key).inc(value)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def observe_delivery(platform: str | None, outcome: str) -> None:
    label = platform or "none"  # the device row is gone
    DELIVERIES.labels(label, outcome).inc()
    if outcome == "dead":
        DEAD_LETTERS.labels(label).inc()


def observe_reminder_lateness(kind: str, seconds: float) -> None:
    REMINDER_LATENESS.labels(kind).observe(max(0.0, seconds))


def instrument_pool(engine: Engine, pool: str) -> None:
    """Keeps the pool gauges of ``engine`` current (checkout/checkin events, so a scrape
    never touches the pool itself)."""
    capacity = getattr(engine.pool, "size", None)
    overflow = getattr(engine.pool, "_max_overflow", 0)
    if callable(capacity):
        DB_POOL_CAPACITY.labels(pool).inc(capacity() + max(0, overflow))
    in_use = DB_POOL_IN_USE.labels(pool)
    event.listen(engine, "checkout", lambda *_args: in_use.inc())
    event.listen(engine, "checkin", lambda *_args: in_use.dec())


def release_pool(engine: Engine, pool: str) -> None:
    """The engine is disposed: take its capacity back out of the gauge."""
    capacity = getattr(engine.pool, "size", None)
    overflow = getattr(engine.pool, "_max_overflow", 0)
    if callable(capacity):
        DB_POOL_CAPACITY.labels(pool).dec(capacity() + max(0, overflow))
