"""The internal ``/metrics`` listener and the multiprocess set-up.

Decision: metrics are never served on the API's port. ``BACKSTEP_METRICS_PORT`` starts
a small listener of their own (``BACKSTEP_METRICS_HOST``, loopback by default) in the
``backstep serve`` process and in each ``backstep scheduler`` process; a private
network or the loopback interface keeps it internal, and ``BACKSTEP_METRICS_TOKEN``
(``Authorization: Bearer …``) protects it where it must listen more widely. Production
refuses a listener beyond loopback without a token (``api.config``).

``backstep serve --workers N`` runs N worker processes: the CLI points
``PROMETHEUS_MULTIPROC_DIR`` at an emptied directory before they start (they inherit
it, and prometheus_client then writes every sample to a file there), the listener in
the supervising process adds the workers' files up, and a worker that stops marks
itself dead so its ``livesum`` gauges drop out. With one process (``--workers 1``, the
scheduler), the process's own registry is served directly.
"""

from __future__ import annotations

import atexit
import hmac
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer, make_server

import structlog
from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app, multiprocess
from prometheus_client.core import Metric
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler
from prometheus_client.registry import Collector

_log = structlog.get_logger("api.observability")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Read once, as prometheus_client does when it is first imported: a variable set later
# (for the workers the CLI is about to start) does not change how THIS process counts.
_MULTIPROCESS_AT_IMPORT = bool(os.environ.get(MULTIPROC_ENV))

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def multiprocess_mode() -> bool:
    """True when this process writes its samples to ``PROMETHEUS_MULTIPROC_DIR``."""
    return _MULTIPROCESS_AT_IMPORT


def prepare_multiprocess_dir() -> Path:
    """For ``serve --workers N``: an empty directory in ``PROMETHEUS_MULTIPROC_DIR`` for the
    workers about to start. A directory given in the environment is emptied (a previous
    run's files would add dead processes' counts); otherwise a fresh one is made and
    removed at exit."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
    else:
        directory = Path(tempfile.mkdtemp(prefix="backstep-metrics-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def mark_process_dead() -> None:
    """A worker is stopping: its live gauges must stop counting (its counters stay)."""
    if multiprocess_mode():
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _ProcessMetrics(Collector):
    """This process's own registry, read through (so extra collectors can sit beside it)."""

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition_registry(*extra: Collector) -> CollectorRegistry:
    """What a scrape returns: every process's samples (multiprocess) or this one's, plus ``extra``."""
    registry = CollectorRegistry(auto_describe=True)
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ProcessMetrics())
    for collector in extra:
        registry.register(collector)
    return registry


def metrics_app(registry: CollectorRegistry, token: str | None) -> WsgiApp:
    """``GET /metrics`` (401 without the bearer token when one is set); anything else 404."""
    inner = make_wsgi_app(registry)
    expected = f"Bearer {token}".encode() if token else None

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if expected is not None:
            given = str(environ.get("HTTP_AUTHORIZATION", "")).encode()
            if not hmac.compare_digest(given, expected):
                start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
                return [b"unauthorized\n"]
        body: Iterable[bytes] = inner(environ, start_response)
        return body

    return app


class MetricsServer:
    """The listener, on a daemon thread; ``port`` is the bound one (0 in tests picks a free port)."""

    def __init__(self, host: str, port: int, registry: CollectorRegistry, token: str | None) -> None:
        self._server: WSGIServer = make_server(
            host, port, metrics_app(registry, token), ThreadingWSGIServer, handler_class=_SilentHandler
        )
        self.port = int(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    def start(self) -> MetricsServer:
        self._thread.start()
        _log.info("metrics_listening", port=self.port, multiprocess=bool(os.environ.get(MULTIPROC_ENV)))
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
