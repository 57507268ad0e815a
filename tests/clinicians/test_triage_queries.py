"""The triage list costs the same few statements for 2,000 patients as for 5."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.clinicians.bulk import make_care_team
from tests.clinicians.helpers import CLINICIAN_PATIENTS, NOW, StatementCounter, set_clock
from tests.factories import auth, make_clinic, make_clinician

# The application clock (re-read on every call in tests), the caller's account, the team's
# rows out of date (none: the standing was saved as the patients were written), the list
# itself, the page's sessions and pauses (adherence), the page's unread message counts, and
# one multi-row INSERT of the page's audit events.
EXPECTED_QUERIES = 8


def statements_for_one_page(client: TestClient, engine: Engine, headers: dict[str, str]) -> list[str]:
    with StatementCounter(engine) as counter:
        response = client.get(CLINICIAN_PATIENTS, headers=headers, params={"limit": 50})
    assert response.status_code == 200
    assert response.json()["items"]
    return counter.queries


def test_one_page_costs_a_fixed_number_of_statements(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    set_clock(app, session, NOW)
    clinic = make_clinic(session, app)
    small, large = make_clinician(session, app, clinic), make_clinician(session, app, clinic)
    assert small.id is not None and large.id is not None
    make_care_team(engine, small.id, 5, 30, NOW.date(), seed=1, at=NOW)
    make_care_team(engine, large.id, 2000, 30, NOW.date(), seed=2, at=NOW)

    few = statements_for_one_page(client, engine, auth(app, small))
    many = statements_for_one_page(client, engine, auth(app, large))
    assert len(few) == len(many) == EXPECTED_QUERIES, "\n\n".join(many)
    # Every page after the first costs the same.
    headers = auth(app, large)
    first = client.get(CLINICIAN_PATIENTS, headers=headers, params={"limit": 50}).json()
    with StatementCounter(engine) as counter:
        client.get(CLINICIAN_PATIENTS, headers=headers, params={"limit": 50, "cursor": first["next_cursor"]})
    assert len(counter.queries) == EXPECTED_QUERIES
