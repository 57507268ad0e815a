"""The listener in real processes: ``backstep serve --workers 2`` adds up its workers
(multiprocess mode), ``backstep scheduler`` serves its own job metrics."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2
import pytest

from tests.observability.helpers import Samples, value

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    """Polls until ``condition`` holds (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except httpx2.HTTPError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def scrape_port(port: int) -> tuple[set[str], Samples]:
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    response.raise_for_status()
    families = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        families.add(family.name)
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return families, samples


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BACKSTEP_", "OTEL_", "PROMETHEUS_"))}
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        BACKSTEP_ENVIRONMENT="test",
        BACKSTEP_LOG_LEVEL="WARNING",
        BACKSTEP_SCHEDULER_IN_PROCESS="false",
        BACKSTEP_ALEMBIC_INI=str(ROOT / "alembic.ini"),
    )
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, str]], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def run(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (tmp_path / f"process-{len(started)}.log").open("wb") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, stdout=log, stderr=log
            )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_with_two_workers_adds_up_both_and_cleans_up(
    cli_env: dict[str, str], spawn: Callable[[list[str], dict[str, str]], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    stale = directory / "counter_999999.db"
    stale.write_bytes(b"a dead run's file")  # would add dead counts (or fail the scrape) if kept
    api_port, metrics_port = free_port(), free_port()
    env = {**cli_env, "PROMETHEUS_MULTIPROC_DIR": str(directory), "BACKSTEP_METRICS_PORT": str(metrics_port)}
    server = spawn(["serve", "--workers", "2", "--port", str(api_port)], env)

    def live_pids() -> set[str]:
        return {path.stem.rsplit("_", 1)[1] for path in directory.glob("gauge_livesum_*.db")}

    wait_for(lambda: httpx2.get(f"http://127.0.0.1:{api_port}/readyz").status_code == 200, "the API")
    wait_for(lambda: len(live_pids()) == 2, "both workers' lifespans")  # each counts its pool at start
    assert not stale.exists()
    for _ in range(10):
        assert httpx2.get(f"http://127.0.0.1:{api_port}/healthz", timeout=10).status_code == 200

    families, samples = scrape_port(metrics_port)
    assert value(samples, "backstep_http_requests_total", method="GET", route="/healthz", status="200") == 10
    assert value(samples, "backstep_metrics_database_up") == 1
    assert "backstep_outbox_deliveries" in families
    assert "backstep_db_pool_connections_in_use" in families

    server.send_signal(signal.SIGTERM)
    assert server.wait(timeout=60) == 0
    assert live_pids() == set()  # each worker marked itself dead on the way out


def test_the_scheduler_serves_its_own_job_metrics(
    cli_env: dict[str, str], spawn: Callable[[list[str], dict[str, str]], subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = {
        **cli_env,
        "BACKSTEP_METRICS_PORT": str(port),
        "BACKSTEP_REMINDER_TICK_SECONDS": "1",
        "BACKSTEP_DELIVERY_TICK_SECONDS": "1",
    }
    scheduler = spawn(["scheduler"], env)

    def ran(job: str) -> bool:
        _, samples = scrape_port(port)
        return value(samples, "backstep_job_runs_total", job=job, outcome="success") >= 1

    wait_for(lambda: ran("reminders") and ran("deliveries"), "a reminder and a delivery tick")
    families, samples = scrape_port(port)
    assert value(samples, "backstep_job_last_success_timestamp_seconds", job="reminders") > 0
    assert value(samples, "backstep_metrics_database_up") == 1
    assert {"backstep_alerts_unresolved", "backstep_job_duration_seconds"} <= families
    scheduler.send_signal(signal.SIGTERM)
    assert scheduler.wait(timeout=60) == 0
