"""Delivery benchmark (SPEC §5): the outbox dispatcher pushing to a local fake gateway.

    .venv/bin/python -m bench.delivery [--backend postgresql|sqlite] [--notifications 5000]

A scratch database (``bench_delivery`` or a temporary SQLite file) with one patient per
notification, each with a webhook device; ``enqueue_notifications`` queues one
notification per patient (a feed row and a pending delivery each, as the reminder tick
does). The fake gateway (``bench/push_receiver.py``) runs in its own process on
127.0.0.1 and verifies every signature. ``deliver_due`` (claim, send with
``BACKSTEP_DELIVERY_CONCURRENCY`` in flight, record: the scheduler's delivery tick) is
timed until the outbox is empty; the receiver's count must equal the deliveries sent,
each message id once. Bar: ≥ 500 notifications/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import sqlalchemy as sa

from api.config import Settings
from api.db import make_engine, session_scope
from api.delivery.dispatcher import deliver_due
from api.logs import configure_logging
from api.models import Device, NotificationKind
from api.notifications.service import NotificationDraft, enqueue_notifications
from bench.common import ROOT, free_port, machine, save, scratch_database, server, wait_for_quiet
from bench.population import Cohort, build, write

SECRET = "bench-webhook-secret-0123456789abcdef"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # midday in London: no quiet hours


def run(backend: str, count: int) -> dict[str, Any]:
    with scratch_database("delivery", backend) as url:
        engine = make_engine(Settings(database_url=url))
        built = build(
            engine,
            Cohort(patients=count, today=NOW.date(), ages=(1, 1), settled=False, sessions=False, seed=3),
        )
        write(
            engine,
            Device,
            ({"user_id": uid, "platform": "webhook", "token": f"device-{uid}", "created_at": NOW}
             for uid in built.patient_user_ids),
        )  # fmt: skip
        with session_scope(engine) as session:
            drafts = [
                NotificationDraft(user_id=uid, kind=NotificationKind.NUDGE, title="How is your back?",
                                  body="A quick log helps your physiotherapist.", occurrence_key=f"bench:{uid}")
                for uid in built.patient_user_ids
            ]  # fmt: skip
            enqueue_notifications(session, drafts, NOW)
        port = free_port()
        receiver = f"http://127.0.0.1:{port}"
        command = [str(ROOT / ".venv/bin/python"), "-m", "bench.push_receiver", "--port", str(port), "--secret", SECRET]
        with server(command, {}, f"{receiver}/stats"):
            settings = Settings(
                database_url=url, webhook_url=f"{receiver}/webhook", webhook_secret=SECRET, log_level="WARNING"
            )
            started = time.perf_counter()
            outcome = deliver_due(engine, settings, NOW + timedelta(seconds=1))
            seconds = time.perf_counter() - started
            stats = httpx2.get(f"{receiver}/stats", timeout=5).json()
        with engine.connect() as connection:
            by_status: dict[str, int] = dict(
                connection.execute(sa.text("SELECT status, count(*) FROM delivery GROUP BY status")).tuples().all()
            )
        engine.dispose()
    return {
        "backend": backend,
        "notifications": count,
        "seconds": round(seconds, 2),
        "per_second": round(outcome["sent"] / seconds, 1),
        "dispatcher": outcome,
        "receiver": stats,
        "delivery_rows": by_status,
        "nothing_lost_or_doubled": stats["distinct"] == stats["received"] == outcome["sent"] == count,
        "bar_ge_500_per_s": outcome["sent"] / seconds >= 500,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--notifications", type=int, default=5000)
    parser.add_argument("--quiet-load", type=float, default=1.5)
    parser.add_argument("--name", default="delivery")
    args = parser.parse_args()
    configure_logging("WARNING", True)
    record: dict[str, Any] = {
        "benchmark": "delivery",
        "command": " ".join(["python -m bench.delivery", *sys.argv[1:]]),
        "machine": machine(),
        "load_before": wait_for_quiet(args.quiet_load, retries=3, pause=300),
    }
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    record["results"] = [run(backend, args.notifications) for backend in backends]
    record["load_after"] = machine()["loadavg"]
    save(args.name, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
