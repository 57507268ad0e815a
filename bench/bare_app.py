"""The ingestion benchmark's yardstick: a bare FastAPI endpoint doing one INSERT.

Same framework, server, engine settings (``api.db.make_engine``: SQLite pragmas, BEGIN
IMMEDIATE, NullPool; the PostgreSQL pool) and database as the real API; no middleware,
no auth, no validation beyond JSON parsing, no rules. Run by ``bench/ingest.py`` as
``uvicorn bench.bare_app:create_app --factory``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import Body, FastAPI, Header, HTTPException
from sqlalchemy.dialects import postgresql, sqlite

from api.config import Settings
from api.db import make_engine
from api.models import AuditEvent, PainLog, Patient, PatientState, User
from api.pain_logs.schemas import PainLogWrite
from api.security import decode_access_token

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


def create_floor_app() -> FastAPI:
    """The bare endpoint plus ``PUT /floor/pain-logs/{date}``: the least a pain-log PUT can do.

    The floor is what any implementation of the SPEC's PUT must do, written as plainly as
    SQLAlchemy Core allows and with no rules at all: validate the body with the API's own
    model, check the access token, then in one transaction lock the patient (with the
    account check), upsert the log, read the windows the rules would read, update the
    patient's bookkeeping, save the triage-list row and write the audit event: six
    statements, the API's count for a quiet PUT. It answers a small JSON body. It is a
    yardstick only (``bench/ingest_floor.py``), never served by the product.
    """
    app = create_app()
    engine = make_engine(Settings())
    settings = Settings()

    user: Any = User.__table__  # type: ignore[attr-defined]
    patient: Any = Patient.__table__  # type: ignore[attr-defined]
    log: Any = PainLog.__table__  # type: ignore[attr-defined]
    state: Any = PatientState.__table__  # type: ignore[attr-defined]
    audit: Any = AuditEvent.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @app.put("/floor/pain-logs/{log_date}")
    def floor(log_date: date, body: PainLogWrite, authorization: str = Header()) -> dict[str, Any]:
        now = datetime.now(UTC)
        claims = decode_access_token(authorization.removeprefix("Bearer "), now, settings)
        if claims is None:
            raise HTTPException(401)
        values = body.model_dump(mode="json")
        with engine.begin() as connection:
            found = connection.execute(
                sa.select(patient.c.id, user.c.token_version, user.c.is_active)
                .join(patient, patient.c.user_id == user.c.id)
                .where(user.c.id == claims.user_id)
                .with_for_update(of=patient, key_share=True)
            ).first()
            if found is None or not found.is_active or found.token_version != claims.token_version:
                raise HTTPException(401)
            row = {
                "patient_id": found.id,
                "log_date": log_date,
                "back_pain": values["back_pain"],
                "leg_pain": values["leg_pain"],
                "flare": values["flare"],
                "medications": [m.class_.value for m in body.medications],
                "symptoms": [k for k, v in values["symptoms"].items() if v],
                "client_updated_at": body.client_updated_at,
                "content_hash": "0" * 64,
                "created_at": now,
                "updated_at": now,
            }
            statement = insert(log).values(row)
            log_id = connection.execute(
                statement.on_conflict_do_update(
                    index_elements=[log.c.patient_id, log.c.log_date],
                    set_={name: statement.excluded[name] for name in row if name not in ("patient_id", "log_date")},
                ).returning(log.c.id)
            ).scalar_one()
            days = connection.execute(
                sa.select(log.c.log_date, log.c.back_pain, log.c.flare).where(
                    log.c.patient_id == found.id, log.c.log_date >= log_date - timedelta(days=60)
                )
            ).all()
            connection.execute(sa.update(patient).where(patient.c.id == found.id).values(last_log_on=log_date))
            mean = sum(d.back_pain for d in days) / len(days)
            saved = insert(state).values(patient_id=found.id, as_of=log_date, current_mean=mean)
            connection.execute(
                saved.on_conflict_do_update(
                    index_elements=[state.c.patient_id],
                    set_={"as_of": saved.excluded.as_of, "current_mean": saved.excluded.current_mean},
                )
            )
            connection.execute(
                sa.insert(audit).values(
                    at=now,
                    actor_id=claims.user_id,
                    actor_role="patient",
                    patient_id=found.id,
                    action="update",
                    resource=f"pain_log/{log_id}",
                    detail={"status": "updated"},
                )
            )
        return {"log": {"id": log_id, "log_date": log_date.isoformat(), **values}, "triage": {"tier": "none"}}

    return app
