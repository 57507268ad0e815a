"""Clinician triage list benchmark (SPEC §5): 2,000 patients with 180 days of history, then 360.

    .venv/bin/python -m bench.triage_list [--patients 2000] [--seconds 20]

For each history length a fresh ``bench_triage`` PostgreSQL database (dropped at the end)
gets, through ``bench/population.py``, 2,000 patients in ONE clinician's care team, each
with that many days of programme (logs on ~85 % of days, some drifting into silence),
plans, three sessions a week, checkpoint results and the alerts the real rules decide
on that history, plus red-flag (emergency, urgent), silence and STarT Back alerts on
some. ``backstep serve`` (production settings, log level WARNING) then answers
``GET /api/v1/clinician/patients`` (first page, default size, and the largest page)
to wrk on 127.0.0.1 with one connection (a clinician opening the dashboard), for the
measured window after a warm-up. Bars: p95 ≤ 150 ms at 180 days; p95 at 360 days
< 1.5 times the p95 at 180 days.
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


def run(days: int, args: argparse.Namespace) -> dict[str, Any]:
    now = datetime.now(UTC)
    today = now.date()
    with scratch_database("triage", "postgresql") as url:
        engine = make_engine(Settings(database_url=url))
        built = build(
            engine,
            Cohort(
                patients=args.patients,
                today=today,
                ages=(days, days),
                patients_per_clinician=args.patients,
                standing_at=now,
            ),
        )
        engine.dispose()
        settings = Settings(database_url=url, jwt_secret=SECRET, access_token_minutes=180)
        token = create_access_token(built.clinician_user_ids[0], "clinician", now, settings, token_version=0)[0]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        result: dict[str, Any] = {"days": days, "population": built.counts}
        command = [str(ROOT / ".venv/bin/backstep"), "serve", "--port", str(port)]
        with server(command, server_env(url), f"{base}/healthz") as pid:
            result["load_before"] = wait_for_quiet(args.quiet_load, retries=2, pause=300)
            for name, query in (("first_page", ""), ("page_of_200", "?limit=200")):
                target = f"{base}/api/v1/clinician/patients{query}"
                wrk(target, SCRIPT, seconds=args.warmup, connections=1, threads=1, script_args=[token])
                result[name] = wrk(target, SCRIPT, seconds=args.seconds, connections=1, threads=1, script_args=[token])
            result["peak_rss_mib"] = peak_rss_mib(pid)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--quiet-load", type=float, default=1.5)
    parser.add_argument("--name", default="triage_list")
    args = parser.parse_args()
    record: dict[str, Any] = {
        "benchmark": "triage_list",
        "command": " ".join(["python -m bench.triage_list", *sys.argv[1:]]),
        "machine": machine(),
        "runs": [run(days, args) for days in (180, 360)],
    }
    short, long = record["runs"]
    p95 = short["first_page"]["p95_ms"]
    record["growth_p95"] = round(long["first_page"]["p95_ms"] / p95, 2)
    record["bars"] = {
        "p95_le_150ms_at_180_days": p95 <= 150,
        "growth_lt_1.5x": record["growth_p95"] < 1.5,
    }
    record["load_after"] = machine()["loadavg"]
    save(args.name, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
