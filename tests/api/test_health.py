from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_is_503_when_the_database_is_behind_the_code(client: TestClient, session: Session) -> None:
    head = session.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    session.commit()
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "not_ready"
    finally:  # PostgreSQL tests share one migrated database: put the revision back
        session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head})
        session.commit()


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/auth/login" in schema["paths"]
    assert client.get("/docs").status_code == 200
