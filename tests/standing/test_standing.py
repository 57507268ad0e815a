"""The triage list's current-state rows (``patient_state``) hold what the rules decide.

* The alert part counted in SQL (the one-statement save) equals ``alert_standing`` over the
  same alerts (the batched recompute), on random alert sets, on both databases.
* A pain log written through the API saves the row a whole recompute would give.
* Resolving an alert, a new time zone and a new local date each show in the list at once.
* The ``standings`` job recomputes exactly the rows that went out of date (or missing).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select

from api.alerts.sweep import sweep_escalations
from api.jobs import JobContext, run_job
from api.models import Alert, AlertStatus, PatientState
from api.rules.registry import BY_CODE
from api.rules.settings import DEFAULT_RULES
from api.rules.standing import ALERT_TIERS, alert_standing
from api.rules.types import Tier
from api.rules.version import RULESET_VERSION
from api.standing.job import refresh_out_of_date
from api.standing.service import ALERT_COLUMNS, COUNT_COLUMNS, DAY_COLUMNS, refresh, save_alerts
from tests.capture.helpers import ME, START, log_body
from tests.clinicians.helpers import all_rows, set_clock
from tests.factories import auth, make_clinician, make_patient, patient_auth

RULES = sorted(BY_CODE)


def _row(session: Session, patient_id: int) -> dict[str, Any]:
    session.rollback()  # a new read snapshot: what the requests committed
    state = session.exec(select(PatientState).where(PatientState.patient_id == patient_id)).one()
    return state.model_dump()


alert_sets = st.lists(
    st.tuples(st.sampled_from(RULES), st.sampled_from(ALERT_TIERS), st.sampled_from(list(AlertStatus))),
    max_size=8,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alerts=alert_sets)
def test_the_alert_part_counted_in_sql_is_alert_standing(
    app: FastAPI, session: Session, alerts: list[tuple[str, Tier, AlertStatus]]
) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    assert patient.id is not None
    unresolved_rules: set[str] = set()
    for rule, tier, status in alerts:
        if status != AlertStatus.RESOLVED:
            if rule in unresolved_rules:  # one unresolved alert per rule (partial unique index)
                continue
            unresolved_rules.add(rule)
        session.add(
            Alert(
                patient_id=patient.id,
                rule=rule,
                tier=tier,
                status=status,
                occurrence_key=uuid.uuid4().hex,
                evidence={},
                ruleset_version=RULESET_VERSION,
                opened_at=START,
            )
        )
    session.commit()
    kept = [(str(t), r) for r, t, s in alerts if s != AlertStatus.RESOLVED]
    # ``kept`` may list a rule twice where the second was skipped above: count what was stored.
    stored = session.exec(
        select(Alert.tier, Alert.rule).where(Alert.patient_id == patient.id, Alert.status != AlertStatus.RESOLVED)
    ).all()
    assert len(stored) <= len(kept)
    expected = alert_standing((str(t), r) for t, r in stored)
    refresh(session, [patient.id], START, DEFAULT_RULES)  # counted in Python
    session.commit()
    by_python = _row(session, patient.id)
    session.execute(PatientState.__table__.update().values(tier_rank=99, not_improving=-1))  # type: ignore[attr-defined]
    save_alerts(session, {patient.id})  # counted in SQL
    session.commit()
    by_sql = _row(session, patient.id)
    for row in (by_python, by_sql):
        assert row["tier_rank"] == expected.tier_rank
        assert tuple(row[name] for name in COUNT_COLUMNS) == expected.counts
        assert row["not_improving"] == expected.not_improving
    assert {k: by_sql[k] for k in ALERT_COLUMNS} == {k: by_python[k] for k in ALERT_COLUMNS}


def test_a_logged_day_saves_the_row_a_recompute_gives(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    assert patient.id is not None
    headers = patient_auth(session, app, patient)
    for offset, pain in enumerate([7, 7, 6, 7, 7, 6, 7, 5, 4, 4, 3, 4, 3, 3, 2, 3]):
        set_clock(app, session, START + timedelta(days=offset))
        on = (START + timedelta(days=offset)).date().isoformat()
        assert client.put(f"{ME}/pain-logs/{on}", json=log_body(pain), headers=headers).status_code in (200, 201)
    saved = _row(session, patient.id)
    assert saved["classification"] == "improved"
    refresh(session, [patient.id], START + timedelta(days=15), DEFAULT_RULES)
    session.commit()
    assert _row(session, patient.id) == saved


def test_resolving_an_alert_moves_the_patient_down_at_once(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    quiet, alarmed = make_patient(session, app, clinician), make_patient(session, app, clinician)
    set_clock(app, session, START)
    for patient, body in ((quiet, log_body(3)), (alarmed, log_body(6, symptoms={"bladder_change": True}))):
        response = client.put(
            f"{ME}/pain-logs/{START.date().isoformat()}", json=body, headers=patient_auth(session, app, patient)
        )
        assert response.status_code in (200, 201), response.text
    headers = auth(app, clinician)
    rows = all_rows(client, headers, 50)
    assert [r["patient_id"] for r in rows] == [alarmed.id, quiet.id]
    assert rows[0]["priority"] == "emergency" and rows[0]["open_alerts"]["emergency"] == 1
    alert_id = rows and client.get("/api/v1/clinician/alerts", headers=headers).json()["items"][0]["id"]
    resolved = client.post(f"/api/v1/clinician/alerts/{alert_id}/resolve", json={"note": "seen"}, headers=headers)
    assert resolved.status_code == 200, resolved.text
    after = {r["patient_id"]: r for r in all_rows(client, headers, 50)}
    assert after[alarmed.id]["priority"] == "none"
    assert after[alarmed.id]["open_alerts"]["emergency"] == 0


def test_a_new_time_zone_is_recomputed_before_it_is_listed(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, timezone="Europe/London")
    at = START.replace(hour=20)  # 20:00 in London, already tomorrow in Sydney
    set_clock(app, session, at)
    headers = patient_auth(session, app, patient)
    assert client.put(f"{ME}/pain-logs/{at.date().isoformat()}", json=log_body(4), headers=headers).status_code in (
        200,
        201,
    )
    assert all_rows(client, auth(app, clinician), 50)[0]["today"] == at.date().isoformat()
    assert client.patch(ME, json={"timezone": "Australia/Sydney"}, headers=headers).status_code == 200
    row = all_rows(client, auth(app, clinician), 50)[0]
    assert row["today"] == (at.date() + timedelta(days=1)).isoformat()
    assert row["days_since_last_log"] == 1


def test_the_standings_job_recomputes_the_rows_whose_local_date_moved(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    clinician = make_clinician(session, app)
    london = make_patient(session, app, clinician, timezone="Europe/London")
    sydney = make_patient(session, app, clinician, timezone="Australia/Sydney")
    assert london.id is not None and sydney.id is not None
    set_clock(app, session, START)
    headers = patient_auth(session, app, london)
    assert client.put(f"{ME}/pain-logs/{START.date().isoformat()}", json=log_body(4), headers=headers).status_code in (
        200,
        201,
    )
    before = _row(session, london.id)
    assert before["as_of"] == START.date() and before["silence_key"] == 0
    first = refresh_out_of_date(engine, START, rules=DEFAULT_RULES)
    assert first == {"standings_refreshed": 1, "standings_failed": 0}  # Sydney's, never computed
    assert refresh_out_of_date(engine, START, rules=DEFAULT_RULES)["standings_refreshed"] == 0  # nothing due
    assert _row(session, london.id) == before  # a current row is left alone
    later = START + timedelta(days=1)
    assert refresh_out_of_date(engine, later, rules=DEFAULT_RULES)["standings_refreshed"] == 2
    after = _row(session, london.id)
    assert after["as_of"] == later.date() and after["silence_key"] == -1
    assert after["valid_from"] <= later < after["valid_until"]
    assert set(DAY_COLUMNS) <= set(after)
    assert _row(session, sydney.id)["as_of"] == later.astimezone(ZoneInfo("Australia/Sydney")).date()


def test_the_standings_job_remakes_a_missing_row_and_shares_batches_among_workers(
    app: FastAPI, session: Session, engine: Engine
) -> None:
    clinician = make_clinician(session, app)
    patients = [make_patient(session, app, clinician) for _ in range(7)]
    ids = [p.id for p in patients if p.id is not None]
    session.exec(delete(PatientState).where(col(PatientState.patient_id) == ids[3]))  # damaged data
    session.commit()
    counts = refresh_out_of_date(engine, START, rules=DEFAULT_RULES, workers=2, batch_size=2)
    assert counts == {"standings_refreshed": 7, "standings_failed": 0}
    for pid in ids:
        row = _row(session, pid)
        assert row["valid_from"] <= START < row["valid_until"]


def test_the_standings_job_runs_as_operators_run_it(app: FastAPI, session: Session, engine: Engine) -> None:
    patient = make_patient(session, app, make_clinician(session, app))
    assert patient.id is not None
    result = run_job("standings", JobContext(engine, app.state.settings, app.state.clock), START)
    assert result == {"standings_refreshed": 1, "standings_failed": 0}
    assert _row(session, patient.id)["as_of"] == START.date()


def test_the_daily_sweep_leaves_the_rows_to_the_standings_job(
    client: TestClient, app: FastAPI, session: Session, engine: Engine
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician, timezone="Europe/London")
    assert patient.id is not None
    set_clock(app, session, START)
    headers = patient_auth(session, app, patient)
    assert client.put(f"{ME}/pain-logs/{START.date().isoformat()}", json=log_body(4), headers=headers).status_code in (
        200,
        201,
    )
    later = START + timedelta(days=1)
    sweep_escalations(engine, later, rules=DEFAULT_RULES, batch_size=100)
    assert _row(session, patient.id)["as_of"] == START.date()
    set_clock(app, session, later)  # the page, before the job ran, still lists the new day
    row = all_rows(client, auth(app, clinician), 50)[0]
    assert row["today"] == later.date().isoformat() and row["days_since_last_log"] == 1


def test_a_zone_the_database_does_not_know_still_lists_the_patient(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    set_clock(app, session, START)
    session.rollback()
    patient = session.get(type(patient), patient.id)  # type: ignore[assignment]
    assert patient is not None
    patient.timezone = "Mars/Olympus_Mons"  # validated on the way in: only a damaged row has it
    session.add(patient)
    session.commit()
    rows = all_rows(client, auth(app, clinician), 50)
    assert [r["patient_id"] for r in rows] == [patient.id]
    assert rows[0]["today"] == START.date().isoformat()  # UTC's
