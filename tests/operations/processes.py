"""Real ``backstep`` processes on 127.0.0.1 for the operations tests: started with an
environment of their own, stopped with SIGTERM (then killed if they overstay), every wait
bounded so a test always ends by itself."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "alembic.ini"
PASSWORD = "operations-password-0123"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def backstep_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a child process: only what the test chooses, plus the basics."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BACKSTEP_")}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "BACKSTEP_ENVIRONMENT": "test",
            "BACKSTEP_ARGON2_TIME_COST": "1",
            "BACKSTEP_ARGON2_MEMORY_COST": "64",
            "BACKSTEP_LOG_LEVEL": "WARNING",
            "BACKSTEP_ALEMBIC_INI": str(ALEMBIC_INI),
        }
    )
    env.update(settings)
    return env


def run_cli(env: Mapping[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextmanager
def backstep_process(env: Mapping[str, str], *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``backstep ARGS`` in the background, its output in ``log``; stopped on exit."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=dict(env), stdout=output, stderr=output
        )
        try:
            yield process
        finally:
            stop(process)


def stop(process: subprocess.Popen[bytes], grace: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def api_servers(env: Mapping[str, str], ports: list[int], logs: Path) -> Iterator[list[str]]:
    """``backstep serve`` on each port, yielded once every one answers ``/readyz``."""
    with ExitStack() as stack:
        processes = [
            stack.enter_context(
                backstep_process(env, "serve", "--host", "127.0.0.1", "--port", str(port), log=logs / f"api-{port}.log")
            )
            for port in ports
        ]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for process, url, port in zip(processes, urls, ports, strict=True):
            wait_ready(process, url, logs / f"api-{port}.log")
        yield urls


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url} exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx2.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} was not ready within {within} s: {log.read_text()[-2000:]}")


def wait_for(condition: Callable[[], bool], what: str, within: float = 30, every: float = 0.2) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {within} s waiting for {what}")
