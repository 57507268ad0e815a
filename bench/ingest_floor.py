"""Is the ingestion ratio reachable? The API, the floor and the bare endpoint in one run.

    .venv/bin/python -m bench.ingest_floor [--backend sqlite|postgresql|both] [--seconds 20]

The ingestion bar (SPEC §5) asks the pain-log PUT for ≥ 0.40 of the throughput of a bare
FastAPI endpoint doing one INSERT. This measures, on the ingestion benchmark's population
and load (``bench/ingest.py``, ``bench/ingest.lua``), three endpoints in alternated
windows (``--rounds`` rounds of API, floor, bare):

- the API's ``PUT /api/v1/me/pain-logs/{date}``;
- the **floor** (``bench/bare_app.py:create_floor_app``): the least any implementation of
  that PUT must do — the API's body model, the token check, and six plain SQLAlchemy Core
  statements (lock the patient with the account check, upsert the log, read the windows,
  the patient's bookkeeping, the triage-list row, the audit event), no rules, no ORM;
- the bare endpoint (one INSERT), served by the same process as the floor.

Each round gives API ÷ bare and floor ÷ bare; the medians are reported. If the floor
itself is below 0.40, no implementation on this stack meets the ratio on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.config import Settings
from api.db import make_engine
from bench.common import ROOT, free_port, machine, save, scratch_database, server, wait_for_quiet
from bench.ingest import load, prepare, server_env

PREFIXES = {"api": "/api/v1/me/pain-logs/", "floor": "/floor/pain-logs/", "bare": "/bare/pain-logs/"}


def run_backend(backend: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    with scratch_database("ingest_floor", backend) as url:
        engine = make_engine(Settings(database_url=url))
        counts, wrk_args = prepare(engine, url, args.patients, now, work / f"tokens-{backend}.txt", args.threads)
        engine.dispose()
        base = int(wrk_args[3])
        step = 3600 // (args.rounds + 2)
        api_port, floor_port = free_port(), free_port()
        urls = {"api": f"http://127.0.0.1:{api_port}", "floor": f"http://127.0.0.1:{floor_port}"}
        urls["bare"] = urls["floor"]
        api_command = [str(ROOT / ".venv/bin/backstep"), "serve", "--port", str(api_port), "--workers", "1"]
        floor_command = [
            str(ROOT / ".venv/bin/python"), "-m", "uvicorn", "bench.bare_app:create_floor_app", "--factory",
            "--host", "127.0.0.1", "--port", str(floor_port), "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        windows: dict[str, list[dict[str, Any]]] = {name: [] for name in PREFIXES}
        with (
            server(api_command, server_env(url), f"{urls['api']}/healthz"),
            server(floor_command, server_env(url), f"{urls['floor']}/healthz"),
        ):
            for name in PREFIXES:
                load(urls[name], PREFIXES[name], wrk_args, args.warmup, args)
            for round_ in range(args.rounds):
                # Each round writes later edit times than the one before, as real edits would.
                wrk_args[3] = str(base + step * (round_ + 1))
                for name in PREFIXES:
                    windows[name].append(load(urls[name], PREFIXES[name], wrk_args, args.seconds, args))
    ratios = {
        name: [round(w["rps"] / b["rps"], 3) for w, b in zip(windows[name], windows["bare"], strict=True)]
        for name in ("api", "floor")
    }
    return {
        "backend": backend,
        "population": counts,
        "windows": windows,
        "round_ratios": ratios,
        "ratio_api": statistics.median(ratios["api"]),
        "ratio_floor": statistics.median(ratios["floor"]),
        "rps": {name: statistics.median(w["rps"] for w in windows[name]) for name in PREFIXES},
        "p99_ms": {name: statistics.median(w["p99_ms"] for w in windows[name]) for name in PREFIXES},
        "non_2xx": {name: sum(w["non_2xx"] for w in windows[name]) for name in PREFIXES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quiet-load", type=float, default=1.5)
    parser.add_argument("--name", default="ingest_floor")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    record: dict[str, Any] = {
        "benchmark": "ingest_floor",
        "command": " ".join(["python -m bench.ingest_floor", *sys.argv[1:]]),
    }
    record["machine"] = machine()
    record["load_before"] = wait_for_quiet(args.quiet_load, retries=3, pause=60)
    with tempfile.TemporaryDirectory() as work:
        record["results"] = [run_backend(backend, args, Path(work)) for backend in backends]
    record["load_after"] = machine()["loadavg"]
    save(args.name, record)
    for result in record["results"]:
        print(result["backend"], "api/bare", result["ratio_api"], "floor/bare", result["ratio_floor"], result["rps"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
