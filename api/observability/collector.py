"""Gauges read from the database when Prometheus scrapes: outbox depth, open alerts,
their oldest ages.

Why at scrape time (and not refreshed by the scheduler): the database is the truth,
and a scheduler that is down, which is one of the things to alert on, would leave
stale "all fine" values behind. Each scrape runs four small queries, each answered
from a partial or composite index (pending and dead deliveries, unresolved alerts by
status, tier and opening time), on a one-connection engine of its own bounded like
``/readyz`` (``BACKSTEP_READYZ_TIMEOUT_SECONDS`` for connect, lock wait and statement).
If the database does not answer, the scrape still succeeds with
``backstep_metrics_database_up 0`` and without these families, so the process metrics
are never lost to a slow database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from api.db import DEFERRED_BEGIN
from api.models import Alert, AlertStatus, Delivery, DeliveryStatus
from api.rules.types import Tier

_log = structlog.get_logger("api.observability")

# The tiers whose unacknowledged age is watched (they are re-notified after a delay).
WATCHED_TIERS = (Tier.EMERGENCY, Tier.URGENT_SAME_DAY)
ALERT_TIERS = (Tier.EMERGENCY, Tier.URGENT_SAME_DAY, Tier.URGENT_DAYS, Tier.ROUTINE)
DATABASE_FAMILIES = (
    "backstep_metrics_database_up",
    "backstep_outbox_deliveries",
    "backstep_outbox_oldest_due_age_seconds",
    "backstep_alerts_unresolved",
    "backstep_alert_oldest_unacknowledged_age_seconds",
    "backstep_alert_renotify_delay_seconds",
)


class DatabaseCollector(Collector):
    """Reads the database gauges on every ``collect()`` (one scrape)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime], renotify_minutes: dict[Tier, int]) -> None:
        self._engine = engine
        self._now = now
        self._renotify_minutes = renotify_minutes

    def describe(self) -> Iterable[Metric]:
        return []  # families depend on the database answering: checked per scrape

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("backstep_metrics_database_up", "1 if the scrape-time database queries answered")
        delay = GaugeMetricFamily(
            "backstep_alert_renotify_delay_seconds",
            "Configured delay after which an unacknowledged alert of this tier is re-notified",
            labels=["tier"],
        )
        for tier, minutes in self._renotify_minutes.items():
            delay.add_metric([tier.value], minutes * 60.0)
        try:
            families = self._read()
        except SQLAlchemyError:
            _log.warning("metrics_database_unavailable", exc_info=True)
            up.add_metric([], 0.0)
            return [up, delay]
        up.add_metric([], 1.0)
        return [up, delay, *families]

    def _read(self) -> list[Metric]:
        now = self._now()
        table = Delivery.__table__  # type: ignore[attr-defined]
        pending = table.c.status == sa.literal_column("'pending'")  # a literal: the partial index applies
        dead = table.c.status == sa.literal_column("'dead'")
        with self._engine.connect() as connection:
            connection = connection.execution_options(**DEFERRED_BEGIN)
            due_count, oldest_due = connection.execute(
                sa.select(sa.func.count(), sa.func.min(table.c.next_attempt_at)).where(
                    pending, table.c.next_attempt_at <= now
                )
            ).one()
            waiting_count = connection.execute(
                sa.select(sa.func.count()).select_from(table).where(pending, table.c.next_attempt_at > now)
            ).scalar_one()
            dead_count = connection.execute(sa.select(sa.func.count()).select_from(table).where(dead)).scalar_one()
            alert_rows = connection.execute(
                sa.select(col(Alert.status), col(Alert.tier), sa.func.count(), sa.func.min(col(Alert.opened_at)))
                .where(col(Alert.status).in_([AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value]))
                .group_by(col(Alert.status), col(Alert.tier))
            ).all()

        outbox = GaugeMetricFamily(
            "backstep_outbox_deliveries",
            "Deliveries in the outbox by state: due (pending, to send now), waiting (pending, retry or lease "
            "later) and dead (dead letters awaiting an admin)",
            labels=["state"],
        )
        for state, count in (("due", due_count), ("waiting", waiting_count), (DeliveryStatus.DEAD.value, dead_count)):
            outbox.add_metric([state], float(count))
        oldest = GaugeMetricFamily(
            "backstep_outbox_oldest_due_age_seconds",
            "How long the oldest due delivery has been waiting to be sent (0: none due)",
        )
        oldest.add_metric([], _age(now, oldest_due))

        unresolved = GaugeMetricFamily(
            "backstep_alerts_unresolved",
            "Unresolved alerts by tier and status (open, acknowledged)",
            labels=["tier", "status"],
        )
        found = {(str(tier), str(status)): (count, opened) for status, tier, count, opened in alert_rows}
        for tier in ALERT_TIERS:
            for status in (AlertStatus.OPEN.value, AlertStatus.ACKNOWLEDGED.value):
                unresolved.add_metric([tier.value, status], float(found.get((tier.value, status), (0, None))[0]))
        unacknowledged = GaugeMetricFamily(
            "backstep_alert_oldest_unacknowledged_age_seconds",
            "Age of the oldest open (unacknowledged) alert of the tier (0: none open)",
            labels=["tier"],
        )
        for tier in WATCHED_TIERS:
            _count, opened = found.get((tier.value, AlertStatus.OPEN.value), (0, None))
            unacknowledged.add_metric([tier.value], _age(now, opened))
        return [outbox, oldest, unresolved, unacknowledged]


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())
