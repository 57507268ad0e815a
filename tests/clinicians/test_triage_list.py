"""GET /clinician/patients: triage order, row content, pagination and care-team scoping."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.models import AlertStatus, AuditEvent, Patient, PlanStatus, User
from api.rules.types import RuleCode, Tier
from tests.clinicians.helpers import (
    CLINICIAN_PATIENTS,
    NOW,
    add_alert,
    add_logs,
    add_plan,
    add_session,
    all_rows,
    series,
    set_clock,
    triage_ids,
)
from tests.factories import auth, make_clinic, make_clinician, make_patient, patient_auth

TODAY = NOW.date()
START = TODAY - timedelta(days=27)  # today is programme day 28


def history(session: Session, patient: Patient, current: int, *, silent_days: int = 0) -> None:
    """Baseline week at 6, 6 until the last week, which is ``current`` (no logs in the last ``silent_days``)."""
    values: list[int | None] = [6] * 21
    values += [current] * 7
    for i in range(silent_days):
        values[-1 - i] = None
    add_logs(session, patient, series(START, values))


def test_the_list_is_in_triage_order(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session)
    clinic = make_clinic(session, app)
    me = make_clinician(session, app, clinic, name="Me")
    other = make_clinician(session, app, clinic, name="Other")
    made: dict[str, Patient] = {}

    def patient(key: str) -> Patient:
        made[key] = make_patient(session, app, me, name=key)
        return made[key]

    # Built in an order unrelated to the expected one, so ids do not give the answer away.
    history(session, patient("none_improved_today"), 3)
    history(session, patient("none_worsened"), 8)
    add_alert(session, patient("routine_improved"), RuleCode.SILENT, Tier.ROUTINE)
    history(session, made["routine_improved"], 3)
    history(session, patient("none_minimal"), 1)
    add_alert(session, patient("urgent_days"), RuleCode.RED_FLAG_URGENT_DAYS, Tier.URGENT_DAYS)
    history(session, patient("none_nmi"), 5)
    history(session, patient("none_improved_silent_3"), 3, silent_days=3)
    add_alert(session, patient("routine_worsened"), RuleCode.WORSENING, Tier.ROUTINE)
    history(session, made["routine_worsened"], 8)
    resolved = patient("none_resolved_emergency_never_logged")
    add_alert(session, resolved, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY, status=AlertStatus.RESOLVED)
    add_alert(
        session,
        patient("urgent_same_day_acknowledged"),
        RuleCode.RED_FLAG_URGENT_SAME_DAY,
        Tier.URGENT_SAME_DAY,
        status=AlertStatus.ACKNOWLEDGED,
    )
    emergency = patient("emergency")
    add_alert(session, emergency, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY)
    add_alert(session, emergency, RuleCode.SILENT, Tier.ROUTINE)
    history(session, emergency, 3)
    add_logs(session, patient("none_insufficient_logged_today"), series(TODAY - timedelta(days=2), [5, 5, 5]))
    outsider = make_patient(session, app, other, name="outsider")
    add_alert(session, outsider, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY)

    ids = triage_ids(client, auth(app, me))
    names = {p.id: key for key, p in made.items()}
    assert [names[i] for i in ids] == [
        "emergency",
        "urgent_same_day_acknowledged",
        "urgent_days",
        "routine_worsened",
        "routine_improved",
        "none_worsened",
        "none_nmi",
        # Insufficient data: never logged, registered today, and logging for 3 days; both 0 days silent (id order).
        "none_resolved_emergency_never_logged",
        "none_insufficient_logged_today",
        "none_improved_silent_3",
        # Improved and minimal pain rank together; then patient id.
        "none_improved_today",
        "none_minimal",
    ]
    assert outsider.id not in ids


def test_a_row_carries_counts_means_plan_and_dates(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session)
    me = make_clinician(session, app)
    patient = make_patient(session, app, me, name="Row", timezone="America/New_York")
    history(session, patient, 4, silent_days=1)
    add_alert(session, patient, RuleCode.RED_FLAG_URGENT_SAME_DAY, Tier.URGENT_SAME_DAY)
    add_alert(session, patient, RuleCode.SILENT, Tier.ROUTINE, status=AlertStatus.ACKNOWLEDGED)
    add_alert(session, patient, RuleCode.WORSENING, Tier.ROUTINE)
    add_alert(session, patient, RuleCode.START_BACK_HIGH, Tier.ROUTINE, status=AlertStatus.RESOLVED)
    add_plan(session, patient, started_on=START, level=2, status=PlanStatus.REDUCED)
    # New York is 5 hours behind: at 12:00 UTC its date is the same Monday.
    for on in (TODAY - timedelta(days=7), TODAY - timedelta(days=5), TODAY - timedelta(days=3)):
        add_session(session, patient, on)

    (row,) = client.get(CLINICIAN_PATIENTS, headers=auth(app, me)).json()["items"]
    assert row["patient_id"] == patient.id
    assert row["display_name"] == "Row"
    assert row["priority"] == "urgent_same_day"
    assert row["open_alerts"] == {"emergency": 0, "urgent_same_day": 1, "urgent_days": 0, "routine": 2}
    # Last 7 days (Tue..Mon): 6 logs of 4 (today not logged) → 4.0; baseline 6.0.
    assert row["pain_7d_mean"] == 4.0
    assert row["change_from_baseline"] == 2.0
    assert row["classification"] == "improved"
    # Planned in Tue..Mon: Wed, Fri (today, Monday, counts only once a session is logged): 2;
    # done in the window: Wed and Fri → 1.0. The session 7 days ago (last Monday) is outside.
    assert row["adherence_7d"] == 1.0
    assert row["plan"] == {"level": 2, "status": "reduced"}
    assert row["last_log_on"] == (TODAY - timedelta(days=1)).isoformat()
    assert row["days_since_last_log"] == 1
    assert row["timezone"] == "America/New_York"
    assert row["today"] == TODAY.isoformat()


def test_pagination_is_stable_without_duplicates_or_gaps(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session)
    me = make_clinician(session, app)
    patients = [make_patient(session, app, me, name=f"P{i}") for i in range(13)]
    for i, patient in enumerate(patients):
        if i % 3 == 0:
            add_alert(session, patient, RuleCode.SILENT, Tier.ROUTINE)
        if i % 4 == 0:
            history(session, patient, 8 if i % 8 == 0 else 3, silent_days=i % 3)
    headers = auth(app, me)
    whole = triage_ids(client, headers, limit=200)
    assert sorted(whole) == sorted(p.id or 0 for p in patients)
    for limit in (1, 2, 5):
        paged = [row["patient_id"] for row in all_rows(client, headers, limit)]
        assert paged == whole

    # A patient joining the team between pages lands in its place; the pages already read
    # neither repeat nor lose anyone.
    first = client.get(CLINICIAN_PATIENTS, headers=headers, params={"limit": 4}).json()
    newcomer = make_patient(session, app, me, name="Newcomer")
    add_alert(session, newcomer, RuleCode.RED_FLAG_EMERGENCY, Tier.EMERGENCY)
    rest = client.get(CLINICIAN_PATIENTS, headers=headers, params={"limit": 200, "cursor": first["next_cursor"]})
    seen = [r["patient_id"] for r in first["items"]] + [r["patient_id"] for r in rest.json()["items"]]
    assert seen == whole


def test_a_tampered_cursor_is_a_422_naming_it(client: TestClient, app: FastAPI, session: Session) -> None:
    me = make_clinician(session, app)
    make_patient(session, app, me)
    response = client.get(CLINICIAN_PATIENTS, headers=auth(app, me), params={"cursor": "eyJ0IjoieCJ9"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
    response = client.get(CLINICIAN_PATIENTS, headers=auth(app, me), params={"limit": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "limit"]


def test_only_the_callers_care_team_is_listed(client: TestClient, app: FastAPI, session: Session) -> None:
    clinic = make_clinic(session, app)
    me, colleague = make_clinician(session, app, clinic), make_clinician(session, app, clinic)
    mine = make_patient(session, app, me)
    theirs = [make_patient(session, app, colleague) for _ in range(3)]
    unassigned = make_patient(session, app)
    assert triage_ids(client, auth(app, me)) == [mine.id]
    assert sorted(triage_ids(client, auth(app, colleague))) == sorted(p.id or 0 for p in theirs)
    assert unassigned.id not in triage_ids(client, auth(app, colleague))
    # A clinician without patients gets an empty page, a patient is refused.
    lonely = make_clinician(session, app, clinic)
    assert client.get(CLINICIAN_PATIENTS, headers=auth(app, lonely)).json() == {"items": [], "next_cursor": None}
    assert client.get(CLINICIAN_PATIENTS, headers=patient_auth(session, app, mine)).status_code == 403


def test_each_listed_patient_is_an_audited_read(client: TestClient, app: FastAPI, session: Session) -> None:
    me = make_clinician(session, app)
    patients = [make_patient(session, app, me) for _ in range(3)]
    client.get(CLINICIAN_PATIENTS, headers=auth(app, me), params={"limit": 2})
    session.rollback()
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "list_patients")).all()
    assert len(events) == 2
    assert {e.patient_id for e in events} <= {p.id for p in patients}
    assert all(e.actor_id == me.id and e.actor_role == "clinician" and e.request_id for e in events)
    assert all(e.resource == "triage_list" for e in events)
    names = session.exec(select(User.display_name).where(col(User.id) == me.id)).all()
    assert all(str(names[0]) not in str(e.detail) for e in events)
