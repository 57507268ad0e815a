"""Ingestion benchmark (SPEC §5): PUT pain logs, with triage and rules, under 16 clients.

    .venv/bin/python -m bench.ingest [--backend sqlite|postgresql|both] [--seconds 30]

For each backend: a fresh scratch database (``bench_ingest`` on PostgreSQL, a temporary
file for SQLite) with 2,000 patients in care teams, plans, 2-6 weeks of logs and
sessions, settled checkpoints and alerts (``bench/population.py``); access tokens are
minted for every patient. Then, in the same run and against the same database, two
servers run side by side:

- ``backstep serve`` (a real uvicorn process: production environment, log level
  WARNING, no in-process scheduler) taking ``PUT /api/v1/me/pain-logs/{date}``;
- the bare FastAPI endpoint of ``bench/bare_app.py`` (one INSERT, same engine settings).

wrk sends the same load (16 connections, spread over every patient and the last days,
``bench/ingest.lua``) to each in turn: a warm-up of each, then ``--pairs`` (default 3)
pairs of measured windows, API then bare, alternated, so a machine that slows down or
speeds up during the run weighs on both alike. Each pair gives a ratio; the ratio
reported is the median of the pairs', and the figures of each endpoint are the medians
of its windows (non-2xx and socket errors summed). Every window is kept in the record.

Reports req/s, p50/p99 and their ratio, and the API worker's peak RSS (VmHWM).
Bars: ratio ≥ 0.8, p99 ≤ 250 ms, peak RSS ≤ 250 MiB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from api.config import Settings
from api.db import make_engine
from api.security import create_access_token
from bench.bare_app import bare_metadata
from bench.common import ROOT, free_port, machine, peak_rss_mib, save, scratch_database, server, wait_for_quiet, wrk
from bench.population import Cohort, build, days_of

SECRET = "bench-jwt-secret-0123456789abcdef0123456789"
SCRIPT = ROOT / "bench" / "ingest.lua"
ZONE = "Europe/London"


def server_env(url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": url,
        "BACKSTEP_ENVIRONMENT": "production",
        "BACKSTEP_JWT_SECRET": SECRET,
        "BACKSTEP_LOG_LEVEL": "WARNING",
        "BACKSTEP_SCHEDULER_IN_PROCESS": "false",
        "BACKSTEP_ACCESS_TOKEN_MINUTES": "180",
    }


def prepare(
    engine: sa.Engine, url: str, patients: int, now: datetime, tokens: Path, threads: int
) -> tuple[dict[str, int], list[str]]:
    """The ingestion population (``bench/population.py``), the bare endpoint's table and a
    tokens file (one "access-token usual-back-pain" line per patient); the population's
    counts and ``bench/ingest.lua``'s arguments, the path prefix left for ``load`` to fill."""
    today = now.astimezone(ZoneInfo(ZONE)).date()
    built = build(engine, Cohort(patients=patients, today=today, ages=(14, 42), timezone=ZONE))
    bare_metadata.create_all(engine)
    settings = Settings(database_url=url, jwt_secret=SECRET, access_token_minutes=180)
    tokens.write_text(
        "".join(
            f"{create_access_token(u, 'patient', now, settings, token_version=0)[0]} {pain}\n"
            for u, pain in zip(built.patient_user_ids, built.usual_pain, strict=True)
        )
    )
    dates = days_of([today - timedelta(days=i) for i in range(31)])
    base = int((now - timedelta(hours=1)).timestamp())
    return built.counts, [str(tokens), dates, "", str(base), str(threads)]


def run_backend(backend: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    with scratch_database("ingest", backend) as url:
        engine = make_engine(Settings(database_url=url))
        counts, wrk_args = prepare(engine, url, args.patients, now, work / f"tokens-{backend}.txt", args.threads)
        base = int(wrk_args[3])
        step = 3600 // (args.pairs + 2)  # each API window writes later edit times than the one before
        result: dict[str, Any] = {"backend": backend, "population": counts}

        api_port, bare_port = free_port(), free_port()
        api, bare = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{bare_port}"
        api_command = [
            str(ROOT / ".venv/bin/backstep"), "serve", "--port", str(api_port), "--workers", str(args.workers),
        ]  # fmt: skip
        bare_command = [
            str(ROOT / ".venv/bin/python"), "-m", "uvicorn", "bench.bare_app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(bare_port), "--log-level", "warning", "--no-access-log",
            "--workers", str(args.workers),
        ]  # fmt: skip
        with (
            server(api_command, server_env(url), f"{api}/healthz") as api_pid,
            server(bare_command, server_env(url), f"{bare}/healthz") as bare_pid,
        ):
            result["api_warmup"] = load(api, "/api/v1/me/pain-logs/", wrk_args, args.warmup, args)
            result["bare_warmup"] = load(bare, "/bare/pain-logs/", wrk_args, args.warmup, args)
            written: dict[str, int] = {}
            api_windows, bare_windows = [], []
            for pair in range(args.pairs):
                wrk_args[3] = str(base + step * (pair + 1))
                before = _counts(engine)
                api_windows.append(load(api, "/api/v1/me/pain-logs/", wrk_args, args.seconds, args))
                for name, count in _counts(engine).items():
                    written[name] = written.get(name, 0) + count - before[name]
                bare_windows.append(load(bare, "/bare/pain-logs/", wrk_args, args.seconds, args))
            result["api_peak_rss_mib"] = peak_rss_mib(api_pid, args.workers)
            result["bare_peak_rss_mib"] = peak_rss_mib(bare_pid, args.workers)
        result["api_rows_written"] = written
        engine.dispose()
    result["api_windows"], result["bare_windows"] = api_windows, bare_windows
    result["pair_ratios"] = [round(a["rps"] / b["rps"], 3) for a, b in zip(api_windows, bare_windows, strict=True)]
    result["api"], result["bare"] = _median(api_windows), _median(bare_windows)
    result["ratio_rps"] = round(statistics.median(result["pair_ratios"]), 3)
    result["bars"] = {
        "ratio_ge_0.8": result["ratio_rps"] >= 0.8,
        "p99_le_250ms": result["api"]["p99_ms"] <= 250,
        "peak_rss_le_250mib": result["api_peak_rss_mib"] <= 250,
    }
    return result


def load(url: str, prefix: str, wrk_args: list[str], seconds: int, args: argparse.Namespace) -> dict[str, Any]:
    script_args = list(wrk_args)
    script_args[2] = prefix
    return wrk(
        url, SCRIPT, seconds=seconds, connections=args.connections, threads=args.threads, script_args=script_args
    )


def _median(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the windows; errors summed."""
    summed = ("non_2xx", "socket_errors")
    return {
        key: sum(w[key] for w in windows) if key in summed else round(statistics.median(w[key] for w in windows), 3)
        for key in windows[0]
    }


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in ("pain_log", "alert", "notification", "audit_event", "plan_decision")
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=30, help="each measured window")
    parser.add_argument("--pairs", type=int, default=3, help="measured (API, bare) window pairs, alternated")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes, the same for the API and the bare app"
    )
    parser.add_argument("--quiet-load", type=float, default=1.5, help="wait for a 1-minute load below this")
    parser.add_argument("--name", default="ingest", help="results file bench/results/<name>.json")
    args = parser.parse_args()
    load_before = wait_for_quiet(args.quiet_load, retries=3, pause=300)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    record: dict[str, Any] = {
        "benchmark": "ingest",
        "command": " ".join(["python -m bench.ingest", *sys.argv[1:]]),
        "machine": machine(),
        "load_before": load_before,
        "connections": args.connections,
        "workers": args.workers,
        "seconds": args.seconds,
        "pairs": args.pairs,
        "results": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as work:
        for backend in backends:
            record["results"].append(run_backend(backend, args, Path(work)))
    record["load_after"] = machine()["loadavg"]
    save(args.name, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
