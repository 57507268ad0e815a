"""The ingestion benchmark's yardstick: a bare FastAPI endpoint doing one INSERT.

Same framework, server, engine settings (``api.db.make_engine``: SQLite pragmas, BEGIN
IMMEDIATE, NullPool; the PostgreSQL pool) and database as the real API; no middleware,
no auth, no validation beyond JSON parsing, no rules. Run by ``bench/ingest.py`` as
``uvicorn bench.bare_app:create_app --factory``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import Body, FastAPI

from api.config import Settings
from api.db import make_engine

bare_metadata = sa.MetaData()
bare_log = sa.Table(
    "bench_bare_log",
    bare_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("log_date", sa.Date, nullable=False),
    sa.Column("back_pain", sa.Integer, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def create_app() -> FastAPI:
    engine = make_engine(Settings())
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.put("/bare/pain-logs/{log_date}", status_code=201)
    def put(log_date: date, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008 - FastAPI idiom
        with engine.begin() as connection:
            new_id = connection.execute(
                sa.insert(bare_log)
                .values(log_date=log_date, back_pain=body.get("back_pain", 0), body=body, created_at=datetime.now(UTC))
                .returning(bare_log.c.id)
            ).scalar_one()
        return {"id": new_id}

    return app
