"""Problem details (RFC 9457) for every failure, and nothing written on bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select

from api.models import AuditEvent, Clinic, User
from tests.factories import PASSWORD, assert_field_refused, auth, make_admin

REGISTER = "/api/v1/auth/register"


def assert_problem(response_json: dict[str, object], status: int, code: str) -> None:
    assert response_json["status"] == status
    assert response_json["code"] == code
    assert str(response_json["type"]).endswith(code)
    for key in ("title", "detail", "request_id"):
        assert response_json[key]


def rows(session: Session, model: type) -> int:
    session.rollback()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_validation_lists_every_bad_field_and_writes_nothing(client: TestClient, session: Session) -> None:
    response = client.post(
        REGISTER, json={"email": "not-an-email", "password": "short", "display_name": "", "surprise": True}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert_problem(body, 422, "validation_error")
    assert {tuple(e["loc"]) for e in body["errors"]} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "display_name"),
        ("body", "surprise"),
    }
    assert rows(session, User) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", False), ("name", 7), ("name", None), ("name", ["a"]), ("name", "x" * 101), ("name", "   ")],
)
def test_strict_types_are_not_coerced(
    client: TestClient, app: FastAPI, session: Session, field: str, value: object
) -> None:
    headers = auth(app, make_admin(session, app))
    response = client.post("/api/v1/admin/clinics", json={field: value}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", field]
    assert rows(session, Clinic) == 0


def test_an_integer_field_refuses_booleans_and_strings(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_admin(session, app))
    for clinic_id in (True, "1", 1.5):
        response = client.post(
            "/api/v1/admin/clinicians",
            headers=headers,
            json={"email": "c@example.org", "password": PASSWORD, "display_name": "C", "clinic_id": clinic_id},
        )
        assert_field_refused(response, ["body", "clinic_id"], clinic_id)


def test_malformed_json_is_a_422_problem(client: TestClient) -> None:
    response = client.post(REGISTER, content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert_problem(response.json(), 422, "validation_error")


def test_an_announced_oversized_body_is_413(client: TestClient, session: Session) -> None:
    response = client.post(REGISTER, content=b" " * (1024 * 1024 + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert_problem(response.json(), 413, "payload_too_large")
    assert rows(session, User) == 0


def test_a_streamed_oversized_body_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    response = client.post(REGISTER, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert_problem(missing.json(), 404, "not_found")
    wrong = client.delete("/api/v1/auth/login")
    assert wrong.status_code == 405
    assert_problem(wrong.json(), 405, "method_not_allowed")


def test_the_request_id_is_echoed_and_generated(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_a_database_outage_is_503_and_rolls_back(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_admin(session, app))
    engine = app.state.engine
    audit_before = rows(session, AuditEvent)

    def fail_on_commit(_conn: object) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    event.listen(engine, "commit", fail_on_commit)
    try:
        response = client.post("/api/v1/admin/clinics", json={"name": "Half-written"}, headers=headers)
    finally:
        event.remove(engine, "commit", fail_on_commit)
    assert response.status_code == 503
    assert_problem(response.json(), 503, "database_unavailable")
    assert response.headers["Retry-After"]
    assert rows(session, Clinic) == 0
    assert rows(session, AuditEvent) == audit_before
