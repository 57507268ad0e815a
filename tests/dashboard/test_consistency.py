"""Words a physiotherapist cannot misread (issue 16): change with its direction, exercise and
plan columns from the same state, a completed plan beside a not-improving alert flagged
rather than celebrated, and the plan history in full; in the triage API and on the pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import Patient, PlanStatus, User
from api.rules.types import PlanAction, RuleCode, Tier
from tests.clinicians.helpers import (
    CLINICIAN_PATIENTS,
    NOW,
    add_alert,
    add_decision,
    add_logs,
    add_plan,
    local_today,
    series,
    set_clock,
)
from tests.dashboard.conftest import log_in
from tests.factories import auth, make_patient

PERSISTING = "Level 1 · Completed, needs review (open alert: Pain persisting at 12 weeks)"


def _two_weeks(session: Session, patient: Patient, week1: int, week2: int) -> None:
    start = local_today(patient) - timedelta(days=13)
    add_logs(session, patient, series(start, [week1] * 7 + [week2] * 7))


def _api_row(client: TestClient, app: FastAPI, clinician: User, patient: Patient) -> dict[str, Any]:
    response = client.get(CLINICIAN_PATIENTS, headers=auth(app, clinician), params={"limit": 50})
    assert response.status_code == 200
    rows: list[dict[str, Any]] = response.json()["items"]
    return next(r for r in rows if r["patient_id"] == patient.id)


def _cell(web: TestClient, patient: Patient, name: str) -> str:
    html = web.get("/dashboard/patients").text
    row = re.search(rf'data-patient-id="{patient.id}">(.*?)</tr>', html, re.S)
    assert row is not None
    cell = re.search(rf'<td class="[^"]*\b{name}\b[^"]*">(.*?)</td>', row.group(1), re.S)
    assert cell is not None, name
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell.group(1))).strip()


def test_change_is_said_with_its_direction(
    web: TestClient, client: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    set_clock(app, session, NOW)
    better, worse, same = (make_patient(session, app, physio, name=n) for n in ("Better", "Worse", "Same"))
    _two_weeks(session, better, 6, 4)
    _two_weeks(session, worse, 3, 5)
    _two_weeks(session, same, 4, 4)
    assert _api_row(client, app, physio, worse)["change_from_baseline"] == -2.0  # the API keeps the number
    log_in(web, physio)
    assert _cell(web, better, "change") == "2.0 better"
    assert _cell(web, worse, "change") == "2.0 worse"
    assert _cell(web, same, "change") == "no change"
    page = web.get(f"/dashboard/patients/{worse.id}").text
    assert re.search(r'<dd class="change">2.0 worse</dd>', page)
    assert "+2.0" not in page and "-2.0" not in page
    assert "A positive change is an improvement" not in web.get("/dashboard/patients").text


def test_exercise_and_plan_columns_agree(
    web: TestClient, client: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    set_clock(app, session, NOW)
    new = make_patient(session, app, physio, name="Started today")
    add_plan(session, new, started_on=local_today(new))
    paused = make_patient(session, app, physio, name="Paused all week")
    add_plan(session, paused, started_on=local_today(paused), status=PlanStatus.PAUSED)
    none = make_patient(session, app, physio, name="No plan")

    row = _api_row(client, app, physio, new)
    assert row["plan"] == {"level": 1, "status": "active"} and row["adherence_7d"] is None
    assert _api_row(client, app, physio, none)["plan"] is None

    log_in(web, physio)
    assert _cell(web, new, "plan") == "Level 1 · Active"
    assert _cell(web, new, "exercise") == "no sessions due"  # not "no plan" beside an active plan
    assert _cell(web, paused, "plan") == "Level 1 · Paused"
    assert _cell(web, paused, "exercise") == "paused: no sessions due"
    assert _cell(web, none, "plan") == "No plan yet"
    assert _cell(web, none, "exercise") == "no plan"
    page = web.get(f"/dashboard/patients/{new.id}").text
    assert "no plan" not in page and page.count("no sessions due") == 2  # the 7- and 28-day figures


def test_a_completed_plan_beside_a_not_improving_alert_is_flagged(
    web: TestClient, client: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    set_clock(app, session, NOW)
    stuck = make_patient(session, app, physio, name="Completed but stuck")
    _two_weeks(session, stuck, 3, 1)  # improving: only the alert contradicts completion
    add_plan(session, stuck, started_on=local_today(stuck) - timedelta(days=13), status=PlanStatus.COMPLETED)
    alert = add_alert(session, stuck, RuleCode.PERSISTENT_12W, Tier.ROUTINE)
    stalled = make_patient(session, app, physio, name="Completed, not improving")
    _two_weeks(session, stalled, 5, 5)  # no meaningful improvement, no alert yet
    add_plan(session, stalled, started_on=local_today(stalled) - timedelta(days=13), status=PlanStatus.COMPLETED)
    well = make_patient(session, app, physio, name="Completed and well")
    _two_weeks(session, well, 5, 1)
    add_plan(session, well, started_on=local_today(well) - timedelta(days=13), status=PlanStatus.COMPLETED)

    row = _api_row(client, app, physio, stuck)
    assert row["plan"]["status"] == "completed" and row["not_improving_alerts"] == ["persistent_12w"]
    assert _api_row(client, app, physio, well)["not_improving_alerts"] == []

    log_in(web, physio)
    assert _cell(web, stuck, "plan") == PERSISTING
    assert 'class="needs-review"' in web.get("/dashboard/patients").text
    assert _cell(web, stalled, "plan") == ("Level 1 · Completed, needs review (pain trend: No meaningful improvement)")
    assert _cell(web, well, "plan") == "Level 1 · Completed (maintenance)"
    page = web.get(f"/dashboard/patients/{stuck.id}").text
    assert "status-completed status-review" in page
    assert "Completed, needs review:</strong> open alert: Pain persisting at 12 weeks" in page
    assert "Completed, needs review" not in web.get(f"/dashboard/patients/{well.id}").text

    # Once the alert is resolved and the pain is improving, the completion stands.
    resolved = client.post(
        f"/api/v1/clinician/alerts/{alert.id}/resolve", json={"note": "reviewed"}, headers=auth(app, physio)
    )
    assert resolved.status_code == 200, resolved.text
    assert _cell(web, stuck, "plan") == "Level 1 · Completed (maintenance)"
    assert _api_row(client, app, physio, stuck)["not_improving_alerts"] == []


def test_the_patient_page_lists_every_plan_decision(
    web: TestClient, app: FastAPI, session: Session, physio: User
) -> None:
    set_clock(app, session, NOW)
    patient = make_patient(session, app, physio, name="Long history")
    plan = add_plan(session, patient, started_on=local_today(patient) - timedelta(days=7 * 30))
    for week in range(30):
        add_decision(session, plan, PlanAction.HOLD, NOW - timedelta(days=7 * week))
    log_in(web, physio)
    html = web.get(f"/dashboard/patients/{patient.id}").text
    assert len(re.findall(r'<li data-decision-id="\d+">', html)) == 30  # the API summary carries 10
    assert "Every decision, newest first (30)" in html
