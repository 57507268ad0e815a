"""What every benchmark shares: the machine's facts, scratch databases, servers, wrk.

Benchmarks only ever talk to 127.0.0.1, bound every load in time, and stop the
processes they started. Scratch PostgreSQL databases are called ``bench_*`` and are
dropped at the end; SQLite ones live in a temporary directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
import sqlalchemy as sa

from api.config import Settings
from api.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Scratch databases are called <prefix><name>: set another prefix to run two benchmarks side by side.
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "bench_")


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model, UTC date, git commit and the load average right now."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    commit = _git("rev-parse", "--short", "HEAD")
    # Results of earlier benchmarks (bench/results) are outputs, not a change to what runs.
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"))
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "commit": commit + ("+uncommitted changes" if dirty else ""),
        "python": platform.python_version(),
        "loadavg": load_average(),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def wait_for_quiet(max_load: float, retries: int, pause: float) -> list[float]:
    """Wait (at most ``retries`` pauses of ``pause`` seconds) for the 1-minute load to drop under ``max_load``."""
    for _ in range(retries):
        if os.getloadavg()[0] <= max_load:
            break
        print(f"load {load_average()} above {max_load}: waiting {pause:.0f} s", file=sys.stderr, flush=True)
        time.sleep(pause)
    return load_average()


def save(name: str, result: Mapping[str, Any]) -> Path:
    """Print the result and keep it as bench/results/<name>.json (the evidence behind RESULTS.md)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    text = json.dumps(result, indent=2, default=str)
    path.write_text(text + "\n")
    print(text, flush=True)
    return path


@contextlib.contextmanager
def scratch_database(name: str, backend: str) -> Iterator[str]:
    """A fresh, migrated database URL: PostgreSQL ``bench_<name>`` (see DATABASE_PREFIX) or a temporary SQLite file."""
    if backend == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        url = f"sqlite:///{directory / 'bench.db'}"
        try:
            migrate(url)
            yield url
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    database = f"{DATABASE_PREFIX}{name}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    url = sa.make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        if not os.environ.get("BENCH_KEEP_DATABASE"):
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


def migrate(url: str) -> None:
    upgrade(Settings(database_url=url, alembic_ini=ROOT / "alembic.ini", log_level="WARNING"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server(command: list[str], env: Mapping[str, str], health_url: str, timeout: float = 60) -> Iterator[int]:
    """Start a server process, wait until ``health_url`` answers, yield its pid, stop it."""
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode} before answering")
            with contextlib.suppress(httpx2.HTTPError):
                if httpx2.get(health_url, timeout=1).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{health_url} did not answer within {timeout} s")
            time.sleep(0.2)
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss_mib(pid: int, workers: int = 1) -> float:
    """VmHWM (peak resident set) of a live server, in MiB: with several workers, the largest
    worker's (each is its own process; the supervisor only forks them)."""
    pids = [pid] if workers <= 1 else _children(pid)
    return max(_vm_hwm_mib(p) for p in pids)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found or [pid]


def _vm_hwm_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    kib = int(re.search(r"VmHWM:\s+(\d+)\s+kB", status).group(1))  # type: ignore[union-attr]
    return round(kib / 1024, 1)


def wrk(
    url: str,
    script: Path,
    *,
    seconds: int,
    connections: int,
    threads: int,
    script_args: list[str] | None = None,
) -> dict[str, Any]:
    """Run wrk (bounded by ``seconds``) and return what the script's ``done`` printed as JSON."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script), url,
        "--", *(script_args or []),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    result: dict[str, Any] = json.loads(line)
    return result
