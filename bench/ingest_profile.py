"""Where an ingestion request's time goes: sequential PUTs in-process, every SQL statement timed.

    .venv/bin/python -m bench.ingest_profile [--backend postgresql|sqlite] [--requests 400]

Builds the ingestion benchmark's population (2,000 patients, ``bench/population.py``) in
a scratch database, then sends ``--requests`` pain-log PUTs one after another through the
app in-process (no load generator, no concurrency), each for another patient's today,
and prints the milliseconds per request, the SQL time and statement count per request, and
the statements by time spent. Run it under ``py-spy record -- …`` to see the Python side.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import event

from api.config import Settings
from api.db import make_engine
from api.main import create_app
from api.security import create_access_token
from bench.common import scratch_database
from bench.ingest import SECRET, ZONE
from bench.population import Cohort, build


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--patients", type=int, default=2000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    stamp = now.isoformat().replace("+00:00", "Z")
    with scratch_database("ingest_profile", args.backend) as url:
        engine = make_engine(Settings(database_url=url))
        built = build(engine, Cohort(patients=args.patients, today=today, ages=(14, 42), timezone=ZONE))
        engine.dispose()
        settings = Settings(
            database_url=url,
            jwt_secret=SECRET,
            access_token_minutes=180,
            log_level="WARNING",
            scheduler_in_process=False,
        )
        spent: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

        def before(conn: Any, *_args: Any) -> None:
            conn.info.setdefault("started", []).append(time.perf_counter())

        def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            entry = spent[" ".join(statement.split())[:110]]
            entry[0] += 1
            entry[1] += time.perf_counter() - conn.info["started"].pop()

        app = create_app(settings)
        with TestClient(app) as client:
            event.listen(app.state.engine, "before_cursor_execute", before)
            event.listen(app.state.engine, "after_cursor_execute", after)
            started = time.perf_counter()
            for i in range(min(args.requests, len(built.patient_user_ids))):
                token = create_access_token(built.patient_user_ids[i], "patient", now, settings, token_version=0)[0]
                body = {"back_pain": built.usual_pain[i], "leg_pain": 1, "flare": False, "client_updated_at": stamp}
                response = client.put(
                    f"/api/v1/me/pain-logs/{today}", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                if response.status_code not in (200, 201):
                    raise SystemExit(f"PUT answered {response.status_code}: {response.text}")
            elapsed = time.perf_counter() - started
    n = min(args.requests, len(built.patient_user_ids))
    sql = sum(t for _, t in spent.values())
    count = sum(c for c, _ in spent.values())
    print(f"{args.backend}: {n} requests, {1000 * elapsed / n:.2f} ms each; SQL {1000 * sql / n:.2f} ms each")
    print(f"over {count / n:.1f} statements per request; by time spent:")
    for text, (calls, seconds) in sorted(spent.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"{1000 * seconds / n:7.3f} ms  {calls / n:5.2f}x  {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
