"""Issue 16: what patients are told about who was informed is what happened.

Both scenarios of the issue, over HTTP with the test clock, on both databases: an
emergency from a patient no physiotherapist follows, and an urgent red flag reported
again the same evening after the physiotherapist resolved the morning's alert.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.alerts.lifecycle import resolve_alert
from api.models import Alert, AlertStatus, Notification, NotificationKind, Patient, User
from api.rules.types import RuleCode, Symptom, Tier
from tests.alerts.helpers import alerts_of, at_local, day, give_plan, notifications, report, screen_red_flags
from tests.capture.helpers import NO_SYMPTOMS, log_body
from tests.factories import PASSWORD, auth, make_admin, make_clinician, make_patient, patient_auth, unique_email

API = "/api/v1"
TOLD = "physiotherapy team has been told"


def _clock(client: TestClient, app: FastAPI, admin: User, at: datetime) -> None:
    response = client.put(f"{API}/admin/test-clock", json={"now": at.isoformat()}, headers=auth(app, admin))
    assert response.status_code == 200, response.text


def _log(back_pain: int, at: datetime, **symptoms: bool) -> dict[str, Any]:
    return log_body(back_pain, symptoms=symptoms) | {"client_updated_at": at.isoformat()}


def _register(client: TestClient, invite_code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"email": unique_email("self"), "password": PASSWORD, "display_name": "Sam Self"}
    if invite_code is not None:
        body["invite_code"] = invite_code
    response = client.post(f"{API}/auth/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _patient_of(session: Session, user_id: int) -> Patient:
    session.rollback()
    return session.exec(select(Patient).where(Patient.user_id == user_id)).one()


# --- scenario 1: no care team -----------------------------------------------------------


def test_registering_without_an_invite_says_no_physiotherapist_follows_you(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    make_admin(session, app)
    registered = _register(client)
    assert {"id", "email", "role"} <= set(registered) and registered["role"] == "patient"
    assert registered["care_team"]["followed_by_clinician"] is False
    assert registered["care_team"]["clinicians"] == []
    assert "No physiotherapist follows you" in registered["care_team"]["message"]

    user = session.get(User, registered["id"])
    assert user is not None
    me = client.get(f"{API}/me", headers=auth(app, user)).json()
    assert me["patient"]["care_team"] == registered["care_team"]


def test_registering_with_an_invite_names_the_physiotherapist(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app, name="Priya Shah")
    code = client.post(f"{API}/clinician/invites", headers=auth(app, clinician)).json()["code"]
    registered = _register(client, code)
    care_team = registered["care_team"]
    assert care_team["followed_by_clinician"] is True
    assert care_team["clinicians"] == [{"id": clinician.id, "display_name": "Priya Shah"}]
    assert care_team["message"].startswith("Priya Shah follows your progress")


def test_an_emergency_without_a_care_team_is_not_told_the_team_knows_and_reaches_the_admins(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    _clock(client, app, admin, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    registered = _register(client)
    patient = _patient_of(session, registered["id"])
    headers = patient_auth(session, app, patient)

    response = client.put(
        f"{API}/me/pain-logs/2026-03-02",
        json=_log(6, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), bladder_change=True),
        headers=headers,
    )
    assert response.status_code == 201, response.text
    triage = response.json()["triage"]
    assert triage["tier"] == "emergency"
    assert "call 999" in triage["advice"]
    assert TOLD not in triage["advice"]
    assert "the Backstep team has been told" in triage["advice"]
    assert "paused" not in triage["advice"]  # no plan yet (no STarT Back): nothing was paused
    [alert] = alerts_of(session, patient)
    assert triage["alert_ids"] == [alert.id] and alert.status == AlertStatus.OPEN
    [message] = notifications(session, user_id=admin.id, kind=NotificationKind.CARE_TEAM_ALERT)
    assert message.alert_id == alert.id and message.safety
    assert message.data["audience"] == "unassigned_queue"
    [safety] = notifications(session, user_id=registered["id"], kind=NotificationKind.SAFETY)
    assert safety.body == triage["advice"]


def test_with_nobody_to_tell_the_patient_is_told_so(client: TestClient, app: FastAPI, session: Session) -> None:
    registered = _register(client)  # no admin exists, no care team, no clinic
    patient = _patient_of(session, registered["id"])
    assert "tells the Backstep team" not in registered["care_team"]["message"]
    response = client.put(
        f"{API}/me/pain-logs/{datetime.now(UTC).date().isoformat()}",
        json=_log(6, datetime.now(UTC), saddle_numbness=True),
        headers=patient_auth(session, app, patient),
    )
    triage = response.json()["triage"]
    assert triage["tier"] == "emergency" and len(triage["alert_ids"]) == 1
    assert "has been told" not in triage["advice"]
    assert "nobody could be told" in triage["advice"]


def test_sync_and_screening_answers_are_as_true_as_the_put(client: TestClient, app: FastAPI, session: Session) -> None:
    admin = make_admin(session, app)
    _clock(client, app, admin, datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    patient = _patient_of(session, _register(client)["id"])
    headers = patient_auth(session, app, patient)
    screened = client.post(
        f"{API}/me/screenings",
        json={"instrument": "red_flags", "answers": NO_SYMPTOMS | {"fever": True}},
        headers=headers,
    ).json()
    assert screened["tier"] == "urgent_same_day" and len(screened["alert_ids"]) == 1
    assert TOLD not in screened["advice"] and "the Backstep team has been told" in screened["advice"]

    item = _log(5, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), chest_pain=True) | {"log_date": "2026-03-02"}
    synced = client.post(f"{API}/me/sync", json={"pain_logs": [item]}, headers=headers).json()
    assert synced["triage"]["tier"] == "emergency" and len(synced["triage"]["alert_ids"]) == 1
    assert TOLD not in synced["triage"]["advice"]
    assert "the Backstep team has been told" in synced["triage"]["advice"]


# --- scenario 2: resolved in the morning, reported again in the evening -------------------


def test_night_pain_again_after_a_resolved_alert_opens_a_new_alert_and_the_advice_is_true(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = make_admin(session, app)
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)  # Europe/London, GMT in early March
    _clock(client, app, admin, datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    screened = client.post(
        f"{API}/me/screenings",
        json={"instrument": "red_flags", "answers": NO_SYMPTOMS | {"night_pain": True}},
        headers=patient_auth(session, app, patient),
    )
    assert screened.status_code == 201, screened.text
    assert screened.json()["tier"] == "urgent_same_day"
    [first_id] = screened.json()["alert_ids"]
    assert TOLD in screened.json()["advice"]

    _clock(client, app, admin, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    physio = auth(app, clinician)
    acked = client.post(f"{API}/clinician/alerts/{first_id}/acknowledge", json={"note": "phoning"}, headers=physio)
    assert acked.status_code == 200, acked.text
    resolved = client.post(f"{API}/clinician/alerts/{first_id}/resolve", json={"note": "GP saw her"}, headers=physio)
    assert resolved.status_code == 200, resolved.text

    _clock(client, app, admin, datetime(2026, 3, 2, 11, 0, tzinfo=UTC))
    clean = client.post(
        f"{API}/me/screenings",
        json={"instrument": "red_flags", "answers": NO_SYMPTOMS},
        headers=patient_auth(session, app, patient),
    )
    assert clean.json()["tier"] == "none" and clean.json()["alert_ids"] == []

    _clock(client, app, admin, datetime(2026, 3, 2, 20, 0, tzinfo=UTC))
    evening = client.put(
        f"{API}/me/pain-logs/2026-03-02",
        json=_log(6, datetime(2026, 3, 2, 20, 0, tzinfo=UTC), night_pain=True),
        headers=patient_auth(session, app, patient),
    )
    assert evening.status_code == 201, evening.text
    triage = evening.json()["triage"]
    assert triage["tier"] == "urgent_same_day"
    [new_id] = triage["alert_ids"]
    assert new_id != first_id
    alert = client.get(f"{API}/clinician/alerts/{new_id}", headers=auth(app, clinician)).json()
    assert alert["status"] == "open" and alert["rule"] == "red_flag_urgent_same_day"
    earlier = client.get(f"{API}/clinician/alerts/{first_id}", headers=auth(app, clinician)).json()
    assert earlier["status"] == "resolved"
    # "your physiotherapy team has been told" is true: a message about the new alert was queued for them
    assert TOLD in triage["advice"]
    session.rollback()
    told = session.exec(
        select(Notification).where(Notification.user_id == clinician.id, Notification.alert_id == new_id)
    ).all()
    assert len(told) == 1 and told[0].safety
    # a replay of the evening log answers the same, without a third alert
    replay = client.put(
        f"{API}/me/pain-logs/2026-03-02",
        json=_log(6, datetime(2026, 3, 2, 20, 0, tzinfo=UTC), night_pain=True),
        headers=patient_auth(session, app, patient),
    )
    assert replay.status_code == 200 and replay.json()["triage"]["alert_ids"] == [new_id]
    assert TOLD in replay.json()["triage"]["advice"]
    assert len(alerts_of(session, patient)) == 2


def test_a_replay_after_the_clinician_resolved_the_alert_still_returns_an_open_alert(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    today = datetime.now(UTC)
    body = _log(6, today, both_legs_weakness=True)
    url = f"{API}/me/pain-logs/{today.date().isoformat()}"
    first = client.put(url, json=body, headers=patient_auth(session, app, patient)).json()["triage"]
    [first_id] = first["alert_ids"]
    physio = auth(app, clinician)
    client.post(f"{API}/clinician/alerts/{first_id}/resolve", json={"note": "seen"}, headers=physio)

    replay = client.put(url, json=body, headers=patient_auth(session, app, patient))
    assert replay.status_code == 200
    triage = replay.json()["triage"]
    assert triage["tier"] == Tier.EMERGENCY
    [new_id] = triage["alert_ids"]
    assert new_id != first_id
    session.rollback()
    statuses = session.exec(select(Alert.status).where(Alert.patient_id == patient.id).order_by(col(Alert.id))).all()
    assert statuses == [AlertStatus.RESOLVED, AlertStatus.OPEN]
    assert TOLD in triage["advice"]


# --- routine reviews and paused plans: said only when true ------------------------------


def test_a_routine_review_is_promised_only_while_a_physiotherapist_has_it_on_their_list(
    app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    screen_red_flags(session, patient, at_local(day(1), 10), Symptom.FEVER)
    known = report(session, patient, day(3), Symptom.FEVER)
    assert known.tier is Tier.ROUTINE
    assert "We have asked your physiotherapist to arrange a routine review" in known.advice
    [alert] = alerts_of(session, patient, RuleCode.KNOWN_SYMPTOM)
    assert alert.id is not None
    resolve_alert(session, clinician, alert.id, "known, stable", at_local(day(3), 22))
    session.commit()

    again = report(session, patient, day(4), Symptom.FEVER)
    assert again.tier is Tier.ROUTINE and again.alert_ids == ()
    assert "We have asked" not in again.advice
    assert "A physiotherapist has already reviewed what you told us" in again.advice


def test_a_routine_review_without_a_care_team_says_who_has_it(app: FastAPI, session: Session) -> None:
    make_admin(session, app)
    patient = make_patient(session, app)
    screen_red_flags(session, patient, at_local(day(1), 10), Symptom.NIGHT_PAIN)
    known = report(session, patient, day(3), Symptom.NIGHT_PAIN)
    assert known.tier is Tier.ROUTINE and len(known.alert_ids) == 1
    assert "We have asked your physiotherapist" not in known.advice
    assert "No physiotherapist follows you in Backstep yet" in known.advice


def test_the_advice_says_the_plan_is_paused_only_when_a_plan_was_paused(app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    without_plan = make_patient(session, app, clinician)
    with_plan = make_patient(session, app, clinician)
    give_plan(session, with_plan, at_local(day(1), 9))
    assert "paused" not in report(session, without_plan, day(2), Symptom.ONE_LEG_WEAKNESS).advice
    paused = report(session, with_plan, day(2), Symptom.ONE_LEG_WEAKNESS)
    assert "Your exercise plan is paused for now." in paused.advice and TOLD in paused.advice
