"""Starts the ``/metrics`` listener of a ``backstep serve`` or ``backstep scheduler`` process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from api.clock import Clock
from api.config import Settings
from api.db import make_probe_engine
from api.observability.collector import DatabaseCollector
from api.observability.exposition import MetricsServer, exposition_registry
from api.rules.types import Tier


@dataclass
class MetricsListener:
    server: MetricsServer
    engine: Engine

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        self.server.stop()
        self.engine.dispose()


def database_collector(settings: Settings) -> tuple[DatabaseCollector, Engine]:
    """The scrape-time database gauges, on a one-connection engine bounded like ``/readyz``."""
    engine = make_probe_engine(settings)
    clock = Clock(engine, test_clock_enabled=settings.allow_test_clock, cache_seconds=settings.clock_cache_seconds)
    renotify = {
        Tier.EMERGENCY: settings.renotify_emergency_minutes,
        Tier.URGENT_SAME_DAY: settings.renotify_urgent_minutes,
    }
    return DatabaseCollector(engine, clock.now, renotify), engine


def start_metrics_listener(settings: Settings) -> MetricsListener | None:
    """The listener on ``BACKSTEP_METRICS_PORT`` (None when unset)."""
    if settings.metrics_port is None:
        return None
    collector, engine = database_collector(settings)
    registry = exposition_registry(collector)
    server = MetricsServer(settings.metrics_host, settings.metrics_port, registry, settings.metrics_token)
    return MetricsListener(server.start(), engine)
