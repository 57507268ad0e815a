"""PUT /me/pain-logs/{log_date}: local dates, replays, stale writes, triage and the plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Alert, AuditEvent, Notification, PainLog, Patient, Plan
from tests.capture.helpers import ME, day, log_body, rows, set_clock
from tests.factories import make_clinician, make_patient, patient_auth

LOGS = f"{ME}/pain-logs"


def put(client: TestClient, headers: dict[str, str], on: Any, body: dict[str, Any]) -> Any:
    return client.put(f"{LOGS}/{on}", json=body, headers=headers)


def test_a_log_is_created_then_updated(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = log_body(
        6,
        leg_pain=3,
        interference=4,
        sleep_quality=7,
        activity_minutes=25,
        steps=4000,
        medications=[{"class": "nsaid"}, {"class": "paracetamol"}, {"class": "nsaid"}],
        symptoms={"night_pain": False},
        note="stiff in the morning",
    )
    created = put(client, headers, day(0), body)
    assert created.status_code == 201, created.text
    data = created.json()
    log = data["log"]
    assert log["log_date"] == "2026-03-02"
    assert (log["back_pain"], log["leg_pain"], log["steps"], log["note"]) == (6, 3, 4000, "stiff in the morning")
    assert log["medications"] == [{"class": "nsaid"}, {"class": "paracetamol"}]
    assert log["symptoms"]["night_pain"] is False and len(log["symptoms"]) == 16
    assert data["triage"]["tier"] == "none"
    assert data["triage"]["alert_ids"] == []
    assert "staying active helps" in data["triage"]["advice"]
    assert data["plan"] is None  # no STarT Back yet

    updated = put(client, headers, day(0), log_body(4, at=60))
    assert updated.status_code == 200
    assert updated.json()["log"]["back_pain"] == 4
    assert updated.json()["log"]["leg_pain"] is None  # a PUT replaces the whole log
    assert rows(session, PainLog) == 1
    session.rollback()
    stored = session.get(Patient, patient.id)
    assert stored is not None
    assert (stored.programme_started_on, stored.last_log_on) == (day(0), day(0))
    assert stored.last_activity_at is not None


def test_a_replay_is_unchanged_and_writes_nothing(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    body = log_body(5, symptoms={"fever": True})
    first = put(client, headers, day(0), body)
    assert first.status_code == 201
    audits, notes, alerts = rows(session, AuditEvent), rows(session, Notification), rows(session, Alert)
    session.rollback()
    before = session.exec(select(PainLog)).one()

    replay = put(client, headers, day(0), body)
    assert replay.status_code == 200
    # The replay carries the same safety answer the lost first response had.
    assert replay.json()["triage"] == first.json()["triage"]
    assert replay.json()["triage"]["tier"] == "urgent_same_day"
    assert (rows(session, AuditEvent), rows(session, Notification), rows(session, Alert)) == (audits, notes, alerts)
    session.rollback()
    after = session.exec(select(PainLog)).one()
    assert (after.updated_at, after.client_updated_at) == (before.updated_at, before.client_updated_at)


def test_the_same_content_with_a_newer_edit_time_is_unchanged(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    put(client, headers, day(0), log_body(5, at=0))
    again = put(client, headers, day(0), log_body(5, at=30))
    assert again.status_code == 200
    assert again.json()["log"]["client_updated_at"].startswith("2026-03-02T12:00:30")
    # An older write of other content now loses against the moved edit time.
    stale = put(client, headers, day(0), log_body(8, at=10))
    assert stale.status_code == 409


def test_a_stale_write_is_409_with_the_stored_log_and_changes_nothing(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    put(client, headers, day(0), log_body(3, at=100))
    audits = rows(session, AuditEvent)
    stale = put(client, headers, day(0), log_body(9, at=50))
    assert stale.status_code == 409
    problem = stale.json()
    assert problem["code"] == "stale_write"
    assert problem["log"]["back_pain"] == 3
    assert problem["log"]["client_updated_at"].startswith("2026-03-02T12:01:40")
    # Same edit time, different content: the stored one stays (first come wins the tie).
    assert put(client, headers, day(0), log_body(9, at=100)).status_code == 409
    # An older write of the very same content is simply unchanged.
    assert put(client, headers, day(0), log_body(3, at=50)).status_code == 200
    assert rows(session, AuditEvent) == audits
    session.rollback()
    assert session.exec(select(PainLog.back_pain)).one() == 3


def test_the_stale_log_is_spelled_like_every_other_log(
    client: TestClient, patient: Patient, headers: dict[str, str]
) -> None:
    """The 409's stored log has the shape of the 200/201 and the sync's: `class`, never `class_`."""
    stored = put(client, headers, day(0), log_body(3, at=100, medications=[{"class": "nsaid"}]))
    stale = put(client, headers, day(0), log_body(9, at=50))
    assert stale.status_code == 409
    assert stale.json()["log"] == stored.json()["log"]
    assert stale.json()["log"]["medications"] == [{"class": "nsaid"}]
    synced = client.post(
        f"{ME}/sync", json={"pain_logs": [log_body(9, at=50) | {"log_date": day(0).isoformat()}]}, headers=headers
    )
    assert synced.json()["results"][0]["log"] == stored.json()["log"]


@pytest.mark.parametrize(("offset", "accepted"), [(0, True), (-30, True), (-31, False), (1, False)])
def test_back_dating_window_in_the_patients_zone(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], offset: int, accepted: bool
) -> None:
    response = put(client, headers, day(offset), log_body())
    if accepted:
        assert response.status_code == 201
    else:
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["path", "log_date"]
        assert rows(session, PainLog) == 0


def test_today_is_the_patients_local_date(client: TestClient, app: FastAPI, session: Session) -> None:
    # 02:00 UTC on 2 March is still 1 March in New York and already 2 March in Sydney... and in Auckland.
    set_clock(app, session, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    new_york = patient_auth(session, app, make_patient(session, app, timezone="America/New_York"))
    auckland = patient_auth(session, app, make_patient(session, app, timezone="Pacific/Auckland"))
    assert put(client, new_york, "2026-03-02", log_body()).status_code == 422
    assert put(client, new_york, "2026-03-01", log_body()).status_code == 201
    assert put(client, auckland, "2026-03-02", log_body()).status_code == 201


def test_the_programme_dates_widen_with_back_dated_logs(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    for offset in (-3, -10, -1, -5):
        assert put(client, headers, day(offset), log_body()).status_code == 201
    session.rollback()
    stored = session.get(Patient, patient.id)
    assert stored is not None
    assert (stored.programme_started_on, stored.last_log_on) == (day(-10), day(-1))


def test_an_emergency_log_carries_the_advice_and_pauses_the_plan(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    headers = patient_auth(session, app, patient)
    start_back = {f"q{i}": i <= 4 for i in range(1, 9)} | {"q9": "moderately"}  # medium
    assert (
        client.post(
            f"{ME}/screenings", json={"instrument": "start_back", "answers": start_back}, headers=headers
        ).status_code
        == 201
    )

    response = put(client, headers, day(0), log_body(7, symptoms={"bladder_change": True}))
    assert response.status_code == 201
    data = response.json()
    assert data["triage"]["tier"] == "emergency"
    assert "999" in data["triage"]["advice"]
    assert len(data["triage"]["alert_ids"]) == 1
    assert data["plan"]["status"] == "paused"
    session.rollback()
    alert = session.get(Alert, data["triage"]["alert_ids"][0])
    assert alert is not None and alert.rule == "red_flag_emergency" and alert.patient_id == patient.id
    plan = session.exec(select(Plan).where(Plan.patient_id == patient.id)).one()
    assert plan.status == "paused"
    kinds = session.exec(
        select(Notification.kind, Notification.safety).where(Notification.patient_id == patient.id)
    ).all()
    assert ("safety", True) in kinds  # the patient's own safety message
    assert ("care_team_alert", True) in kinds  # the physiotherapist, whatever the hour


def test_a_back_dated_log_completing_day_14_raises_no_improvement_at_once(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    patient = make_patient(session, app)
    headers = patient_auth(session, app, patient)
    first = day(-20)  # programme day 1
    for i in range(7):  # baseline 6 on days 1-7
        put(client, headers, first + timedelta(days=i), log_body(6, at=i))
    for i in range(7, 13):  # 6 again on days 8-13 (day 14 still missing)
        put(client, headers, first + timedelta(days=i), log_body(6, at=i))
    for i in range(15, 21):  # days 16-21 logged later
        put(client, headers, first + timedelta(days=i), log_body(6, at=i))
    assert rows(session, Alert, Alert.rule == "no_improvement_2w") == 1  # window 8-14 valid with 6 days

    other = make_patient(session, app)
    headers = patient_auth(session, app, other)
    for i in range(7):
        put(client, headers, first + timedelta(days=i), log_body(6, at=i))
    for i in (7, 8, 9):
        put(client, headers, first + timedelta(days=i), log_body(6, at=i))
    assert rows(session, Alert, Alert.patient_id == other.id) == 0
    # Three logs in days 8-14: invalid window. A back-dated fourth completes it.
    response = put(client, headers, first + timedelta(days=13), log_body(6, at=99))
    assert response.status_code == 201
    session.rollback()
    raised = session.exec(select(Alert).where(Alert.patient_id == other.id)).all()
    assert [a.rule for a in raised] == ["no_improvement_2w"]
    assert raised[0].id in response.json()["triage"]["alert_ids"]
    assert response.json()["triage"]["tier"] == "routine"


def test_a_flare_log_reduces_the_plan_and_re_asks_the_red_flags(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    start_back = {f"q{i}": False for i in range(1, 9)} | {"q9": "slightly"}  # low
    client.post(f"{ME}/screenings", json={"instrument": "start_back", "answers": start_back}, headers=headers)
    response = put(client, headers, day(0), log_body(8, flare=True))
    data = response.json()
    assert data["plan"]["status"] == "reduced"
    assert data["flare"] is not None
    assert len(data["flare"]["red_flag_questions"]) == 16
    assert data["triage"]["tier"] == "none"


def test_logs_are_listed_by_date_within_a_range(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    for offset in range(-6, 1):
        put(client, headers, day(offset), log_body(5 + offset % 3))
    page = client.get(LOGS, params={"from": str(day(-4)), "to": str(day(-1)), "limit": 3}, headers=headers).json()
    assert [i["log_date"] for i in page["items"]] == [str(day(-1)), str(day(-2)), str(day(-3))]
    rest = client.get(
        LOGS, params={"from": str(day(-4)), "to": str(day(-1)), "cursor": page["next_cursor"]}, headers=headers
    ).json()
    assert [i["log_date"] for i in rest["items"]] == [str(day(-4))]
    assert rest["next_cursor"] is None
    assert len(client.get(LOGS, headers=headers).json()["items"]) == 7


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, ["query", "from"]),
        ({"from": "2025-01-01", "to": "2026-03-01"}, ["query", "from"]),
        ({"from": "2026-02-30"}, ["query", "from"]),
        ({"to": "yesterday"}, ["query", "to"]),
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 201}, ["query", "limit"]),
        ({"cursor": "bm9wZQ"}, ["query", "cursor"]),
    ],
)
def test_bad_list_queries_are_named(
    client: TestClient, patient: Patient, headers: dict[str, str], params: dict[str, Any], loc: list[str]
) -> None:
    response = client.get(LOGS, params=params, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == loc


def test_another_patient_never_sees_or_changes_my_logs(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    put(client, headers, day(0), log_body(7, at=500, note="mine"))
    session.rollback()
    other_headers = patient_auth(session, app, make_patient(session, app))
    assert client.get(LOGS, headers=other_headers).json()["items"] == []
    # The same date is the other patient's own log, never mine (even with an older stamp).
    response = put(client, other_headers, day(0), log_body(2, at=1))
    assert response.status_code == 201
    assert "mine" not in response.text
    assert client.get(LOGS, headers=headers).json()["items"][0]["back_pain"] == 7


def test_a_clinician_cannot_write_a_patient_log(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    from tests.factories import auth

    clinician_headers = auth(app, make_clinician(session, app))
    assert put(client, clinician_headers, day(0), log_body()).status_code == 403
    assert rows(session, PainLog) == 0
