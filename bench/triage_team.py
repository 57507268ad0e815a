"""Triage list against the size of the care team (issue 14): 2,000 then 8,000 patients in ONE team.

    .venv/bin/python -m bench.triage_team [--teams 2000,8000] [--days 90] [--seconds 20]

For each team size a fresh ``bench_triage_team`` PostgreSQL database (dropped at the end)
gets, through ``bench/population.py``, that many patients in one clinician's care team,
each ``--days`` days into the programme (logs, plans, sessions, checkpoint results and
the alerts the rules decide, as ``bench.triage_list`` builds them). ``backstep serve``
(production settings, this checkout's code) answers ``GET /api/v1/clinician/patients``
(first page) to wrk with one connection after a warm-up. Bars: p95 ≤ 150 ms at both sizes
and the larger team's p95 within 1.3 times the smaller's, in the same run.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from api.config import Settings
from api.db import make_engine
from api.security import create_access_token
from bench.common import ROOT, free_port, machine, peak_rss_mib, save, scratch_database, server, wait_for_quiet, wrk
from bench.ingest import SECRET, server_env
from bench.population import Cohort, build

SCRIPT = ROOT / "bench" / "get.lua"


def run(patients: int, args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    with scratch_database("triage_team", "postgresql") as url:
        engine = make_engine(Settings(database_url=url))
        built = build(
            engine,
            Cohort(
                patients=patients,
                today=now.date(),
                ages=(args.days, args.days),
                patients_per_clinician=patients,
                standing_at=now,
            ),
        )
        engine.dispose()
        settings = Settings(database_url=url, jwt_secret=SECRET, access_token_minutes=180)
        token = create_access_token(built.clinician_user_ids[0], "clinician", now, settings, token_version=0)[0]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        result: dict[str, Any] = {"patients": patients, "days": args.days, "population": built.counts}
        # This checkout's code, whichever virtualenv runs it.
        command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
        env = {**server_env(url), "PYTHONPATH": str(ROOT)}
        with server(command, env, f"{base}/healthz") as pid:
            result["load_before"] = wait_for_quiet(args.quiet_load, retries=2, pause=120)
            target = f"{base}/api/v1/clinician/patients"
            one_client = {"connections": 1, "threads": 1, "script_args": [token]}
            wrk(target, SCRIPT, seconds=args.warmup, **one_client)  # type: ignore[arg-type]
            result["first_page"] = wrk(target, SCRIPT, seconds=args.seconds, **one_client)  # type: ignore[arg-type]
            result["peak_rss_mib"] = peak_rss_mib(pid)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", default="2000,8000")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quiet-load", type=float, default=1.5)
    parser.add_argument("--name", default="triage_team")
    args = parser.parse_args()
    sizes = [int(size) for size in args.teams.split(",")]
    record: dict[str, Any] = {
        "benchmark": "triage_team",
        "command": " ".join(["python -m bench.triage_team", *sys.argv[1:]]),
        "machine": machine(),
        "runs": [run(size, args) for size in sizes],
    }
    p95s = [r["first_page"]["p95_ms"] for r in record["runs"]]
    record["growth_p95"] = round(p95s[-1] / p95s[0], 2)
    record["bars"] = {
        "p95_le_150ms_at_every_size": all(p <= 150 for p in p95s),
        "growth_le_1.3x": record["growth_p95"] <= 1.3,
    }
    record["load_after"] = machine()["loadavg"]
    save(args.name, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
