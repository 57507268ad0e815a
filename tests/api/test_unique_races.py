"""Two requests racing past a pre-check meet a unique constraint: 409, never 500.

The pre-checks (``email_taken``) answer the sequential case; the constraint answers
the race, through one mapping (``api.db_errors``): the constraint's name from the naming
convention, a stable ``code`` (``email_taken`` where a pre-check already had one,
``already_exists`` otherwise), and no value of the row in the answer or the log.
"""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.db_errors import unique_violation
from api.models import Clinic, ClinicMember, Invite, User
from tests.capture.helpers import rows
from tests.factories import PASSWORD, auth, make_admin, make_clinic, make_clinician

REGISTER = "/api/v1/auth/register"
CLINICIANS = "/api/v1/admin/clinicians"
EMAIL = "same.person@example.org"
AT = datetime(2026, 1, 1, tzinfo=UTC)


def race(count: int, send: object) -> list[tuple[int, dict[str, object]]]:
    """``count`` threads released together, each sending one request."""
    barrier = threading.Barrier(count)

    def one(_index: int) -> tuple[int, dict[str, object]]:
        barrier.wait()
        response = send()  # type: ignore[operator]
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def assert_one_created_rest_email_taken(results: list[tuple[int, dict[str, object]]]) -> None:
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * (len(results) - 1), results
    for status, body in results:
        if status == 409:
            assert body["code"] == "email_taken"
            assert EMAIL not in str(body)


def test_parallel_registrations_with_one_email_create_one_account(client: TestClient, session: Session) -> None:
    body = {"email": EMAIL, "password": PASSWORD, "display_name": "Same Person"}
    results = race(8, lambda: client.post(REGISTER, json=body))
    assert_one_created_rest_email_taken(results)
    assert rows(session, User) == 1


def test_parallel_clinician_creation_with_one_email_creates_one_account(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    clinic = make_clinic(session, app)
    headers = auth(app, admin)
    body = {"email": EMAIL, "password": PASSWORD, "display_name": "Physio", "clinic_id": clinic.id}
    results = race(6, lambda: client.post(CLINICIANS, json=body, headers=headers))
    assert_one_created_rest_email_taken(results)
    session.rollback()
    created = session.exec(select(User).where(User.email == EMAIL)).all()
    assert len(created) == 1
    assert rows(session, ClinicMember) == 1


def test_a_registration_that_passed_the_pre_check_is_409_email_taken(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race, made deterministic: the pre-check misses the account another request
    committed meanwhile, so the insert meets ``uq_app_user_email``."""
    body = {"email": EMAIL, "password": PASSWORD, "display_name": "Same Person"}
    assert client.post(REGISTER, json=body).status_code == 201
    monkeypatch.setattr("api.auth.service.email_taken", lambda _session, _email: False)

    response = client.post(REGISTER, json={**body, "email": EMAIL.upper()})  # normalised to the same address

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "email_taken"
    assert problem["constraint"] == "uq_app_user_email"
    assert EMAIL not in response.text.lower()
    assert rows(session, User) == 1


def test_any_other_unique_race_is_409_already_exists_naming_the_constraint(
    client: TestClient, app: FastAPI, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two invites drawing the same code (as two racing inserts would): no pre-check
    exists, the general mapping answers."""
    headers = auth(app, make_clinician(session, app))
    monkeypatch.setattr("api.clinicians.invites.secrets.choice", lambda alphabet: alphabet[0])
    assert client.post("/api/v1/clinician/invites", headers=headers).status_code == 201

    response = client.post("/api/v1/clinician/invites", headers=headers)

    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "already_exists"
    assert problem["constraint"] == "uq_invite_code"
    assert "AAAAA" not in response.text
    assert rows(session, Invite) == 1


def test_the_constraint_is_named_on_either_database(session: Session) -> None:
    session.add(Clinic(id=41, name="A", created_at=AT))
    session.commit()
    session.add(Clinic(id=41, name="B", created_at=AT))
    with pytest.raises(IntegrityError) as raised:
        session.commit()
    session.rollback()
    violation = unique_violation(raised.value)
    assert violation is not None and violation.constraint == "pk_clinic"


@pytest.mark.parametrize(
    ("message", "constraint"),
    [
        ("UNIQUE constraint failed: app_user.email", "uq_app_user_email"),
        ("UNIQUE constraint failed: pain_log.patient_id, pain_log.log_date", "uq_pain_log_patient_id_log_date"),
        ("UNIQUE constraint failed: alert.patient_id, alert.rule", "uq_alert_patient_rule_unresolved"),
        ("UNIQUE constraint failed: index 'uq_alert_patient_rule_unresolved'", "uq_alert_patient_rule_unresolved"),
        ("UNIQUE constraint failed: exercise_session.id", "pk_exercise_session"),
        ("UNIQUE constraint failed: no_such_table.x", "unknown"),
    ],
)
def test_sqlite_messages_map_to_the_constraint_names(message: str, constraint: str) -> None:
    """SQLite names columns, not constraints: the models' naming convention fills in the name."""
    error = IntegrityError("INSERT …", None, sqlite3.IntegrityError(message))
    violation = unique_violation(error)
    assert violation is not None and violation.constraint == constraint


def test_other_integrity_errors_are_not_unique_violations() -> None:
    error = IntegrityError("INSERT …", None, sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    assert unique_violation(error) is None
