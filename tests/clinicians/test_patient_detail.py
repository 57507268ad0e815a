"""GET /clinician/patients/{id}, /pain-logs and /exercise-sessions: content, paging, access, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AuditEvent
from tests.clinicians.conftest import DAY1, PAINS, Followed
from tests.clinicians.helpers import CLINICIAN_PATIENTS
from tests.factories import auth, patient_auth


def test_the_summary_shows_the_patients_programme(
    client: TestClient, app: FastAPI, session: Session, followed: Followed
) -> None:
    patient = followed.patient
    response = client.get(f"{CLINICIAN_PATIENTS}/{patient.id}", headers=auth(app, followed.clinician))
    assert response.status_code == 200, response.text
    summary = response.json()
    facts = summary["patient"]
    assert facts["display_name"] == "Camille"
    assert facts["timezone"] == "Europe/Paris"
    assert facts["today"] == followed.last_day.isoformat()
    assert facts["age"] == 2026 - 1968 and facts["risk_group"] == "medium"
    assert facts["programme_started_on"] == DAY1.isoformat()
    assert "email" not in facts

    own = client.get("/api/v1/me/progress", headers=patient_auth(session, app, patient)).json()
    assert summary["progress"] == own
    assert [p["back_pain"] for p in summary["progress"]["series"]] == PAINS
    assert [p["leg_pain"] for p in summary["progress"]["series"]] == [2] * len(PAINS)

    session_days = [
        DAY1 + timedelta(days=i) for i in range(len(PAINS)) if (DAY1 + timedelta(days=i)).weekday() in (0, 2, 4)
    ]
    assert summary["sessions"] == [{"date": d.isoformat(), "sessions": 1} for d in session_days]
    actions = [c["action"] for c in summary["level_changes"]]
    assert actions[0] == "assign" and actions[-1] == "pause"
    assert "hold" not in actions

    weeks = summary["weekly_adherence"]
    assert len(weeks) == 12
    assert weeks[-1]["week_start"] == (followed.last_day - timedelta(days=followed.last_day.weekday())).isoformat()
    assert weeks[-3] == {
        "week_start": DAY1.isoformat(),
        "week_end": (DAY1 + timedelta(days=6)).isoformat(),
        "planned": 3,
        "done": 3,
        "adherence": 1.0,
    }
    assert weeks[0]["adherence"] is None  # before the plan: nothing planned

    assert summary["plan"]["status"] == "paused"
    assert summary["plan_history"][0]["action"] == "pause"
    alerts = summary["open_alerts"]
    assert [(a["rule"], a["tier"]) for a in alerts] == [
        ("red_flag_urgent_same_day", "urgent_same_day"),
        ("start_back_medium", "routine"),
    ]
    assert [s["instrument"] for s in summary["screenings"]] == ["odi", "red_flags", "start_back"]

    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.resource == f"patient/{patient.id}")).one()
    assert (event.action, event.actor_id, event.actor_role, event.patient_id) == (
        "read",
        followed.clinician.id,
        "clinician",
        patient.id,
    )
    assert event.request_id == response.headers["x-request-id"]
    assert event.detail == {"view": "summary", "alert_ids": [a["id"] for a in alerts]}


def test_pain_logs_are_listed_newest_first_page_by_page(client: TestClient, app: FastAPI, followed: Followed) -> None:
    url = f"{CLINICIAN_PATIENTS}/{followed.patient.id}/pain-logs"
    headers = auth(app, followed.clinician)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 5}
        if cursor:
            params["cursor"] = cursor
        body = client.get(url, headers=headers, params=params).json()
        seen.extend(item["log_date"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == [(DAY1 + timedelta(days=i)).isoformat() for i in reversed(range(len(PAINS)))]
    ranged = client.get(
        url, headers=headers, params={"from": DAY1.isoformat(), "to": (DAY1 + timedelta(days=2)).isoformat()}
    )
    assert [i["back_pain"] for i in ranged.json()["items"]] == [6, 6, 6]
    bad = client.get(url, headers=headers, params={"from": "2026-02-10", "to": "2026-02-01"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "from"]


def test_exercise_sessions_are_listed(client: TestClient, app: FastAPI, session: Session, followed: Followed) -> None:
    url = f"{CLINICIAN_PATIENTS}/{followed.patient.id}/exercise-sessions"
    body = client.get(url, headers=auth(app, followed.clinician), params={"limit": 2}).json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    rest = client.get(url, headers=auth(app, followed.clinician), params={"limit": 50, "cursor": body["next_cursor"]})
    performed = [i["performed_on"] for i in body["items"] + rest.json()["items"]]
    assert performed == sorted(performed, reverse=True) and len(performed) == 7
    session.rollback()
    reads = session.exec(
        select(AuditEvent.resource).where(AuditEvent.patient_id == followed.patient.id, AuditEvent.action == "read")
    ).all()
    assert reads.count("exercise_session") == 2


@pytest.mark.parametrize("suffix", ["", "/pain-logs", "/exercise-sessions", "/export.fhir", "/export.csv"])
def test_outside_the_care_team_is_404(
    client: TestClient, app: FastAPI, session: Session, followed: Followed, suffix: str
) -> None:
    patient_id = followed.patient.id
    assert (
        client.get(f"{CLINICIAN_PATIENTS}/{patient_id}{suffix}", headers=auth(app, followed.outsider)).status_code
        == 404
    )
    assert client.get(f"{CLINICIAN_PATIENTS}/999999{suffix}", headers=auth(app, followed.clinician)).status_code == 404
    as_patient = client.get(
        f"{CLINICIAN_PATIENTS}/{patient_id}{suffix}", headers=patient_auth(session, app, followed.patient)
    )
    assert as_patient.status_code == 403
    session.rollback()
    assert session.exec(select(AuditEvent).where(col(AuditEvent.actor_id) == followed.outsider.id)).all() == []
