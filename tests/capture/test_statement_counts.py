"""What one pain log costs the database: load once, decide once, save once (issue 14).

Every SQL statement the request sends is counted (``before_cursor_execute`` on the
application's engine), authentication included; transaction control (BEGIN, COMMIT,
SAVEPOINT, RELEASE, ROLLBACK) and SQLite pragmas are not. The test clock's own read is
left out too: it exists only where ``BACKSTEP_ALLOW_TEST_CLOCK`` is on (never in
production), and the tests re-read it on every call (``clock_cache_seconds=0``).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.models import DevicePlatform, Patient
from api.notifications.devices import register_device
from tests.capture.helpers import ME, START, log_body, set_clock
from tests.clinicians.helpers import StatementCounter
from tests.factories import make_clinician, make_patient, patient_auth
from tests.plans.helpers import assign, log_days

# A PUT that raises nothing: the caller's account and patient row, the log's upsert, the
# patient's snapshot, the persist step's writes (patient bookkeeping and current state,
# audit) and the plan view.
QUIET_BUDGET = 6
# A PUT that raises an emergency also opens the alert, tells the care team and the
# patient, pauses the plan and records all of it.
EMERGENCY_BUDGET = 12


def _queries(counter: StatementCounter) -> list[str]:
    return [q for q in counter.queries if "test_clock" not in q]


def _patient_with_history(app: FastAPI, session: Session, *, devices: bool = False) -> Patient:
    """A patient in a care team, on a plan, with three weeks of improving logs (day 14 is past).

    ``devices``: the patient and their clinician each have a phone registered for pushes.
    """
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    first = START.date() - timedelta(days=21)
    log_days(session, patient, first, [7] * 7 + [3] * 14, activity_minutes=20)
    assign(app, patient, "medium", on=first + timedelta(days=7))
    if devices:
        assert clinician.id is not None
        register_device(session, patient.user_id, DevicePlatform.FCM, f"patient-{patient.id}", START)
        register_device(session, clinician.id, DevicePlatform.FCM, f"clinician-{clinician.id}", START)
        session.commit()
    set_clock(app, session, START)
    return patient


def _put(client: TestClient, engine: Engine, headers: dict[str, str], body: dict[str, object]) -> list[str]:
    with StatementCounter(engine) as counter:
        response = client.put(f"{ME}/pain-logs/{START.date().isoformat()}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    return _queries(counter)


def test_a_quiet_pain_log_costs_at_most_six_statements(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    patient = _patient_with_history(app, session)
    headers = patient_auth(session, app, patient)
    statements = _put(client, engine, headers, log_body(3))
    assert len(statements) <= QUIET_BUDGET, "\n\n".join(s[:150] for s in statements)
    # An edit of the same day costs the same.
    statements = _put(client, engine, headers, log_body(2, at=60))
    assert len(statements) <= QUIET_BUDGET, "\n\n".join(s[:150] for s in statements)


def test_an_emergency_pain_log_costs_at_most_twelve_statements(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    patient = _patient_with_history(app, session)
    headers = patient_auth(session, app, patient)
    statements = _put(client, engine, headers, log_body(7, symptoms={"bladder_change": True}))
    assert len(statements) <= EMERGENCY_BUDGET, "\n\n".join(s[:150] for s in statements)


def test_an_emergency_with_phones_to_push_to_stays_within_the_budget(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    # The deliveries of the messages are one more insert.
    patient = _patient_with_history(app, session, devices=True)
    headers = patient_auth(session, app, patient)
    statements = _put(client, engine, headers, log_body(7, symptoms={"bladder_change": True}))
    assert len(statements) <= EMERGENCY_BUDGET, "\n\n".join(s[:150] for s in statements)
    assert any(s.lstrip().upper().startswith("INSERT INTO DELIVERY") for s in statements)
