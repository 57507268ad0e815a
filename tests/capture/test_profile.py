"""GET / PATCH /me: partial, strict, validated against the application clock, audited."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import AuditEvent, Patient, ReminderSchedule, User
from tests.capture.helpers import ME, rows
from tests.factories import assert_field_refused, auth, make_clinician


def test_only_the_given_fields_change(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    before = client.get(ME, headers=headers).json()
    response = client.patch(
        ME, json={"birth_year": 1961, "cancer_history": True, "display_name": " Ann "}, headers=headers
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["display_name"] == "Ann"
    assert after["patient"] == before["patient"] | {"birth_year": 1961, "cancer_history": True}
    assert client.get(ME, headers=headers).json() == after
    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert event.detail == {"fields": ["display_name", "birth_year", "cancer_history"]}
    assert "Ann" not in str(event.detail)


def test_null_clears_the_optional_facts(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    client.patch(ME, json={"episode_started_on": "2026-02-01"}, headers=headers)
    cleared = client.patch(ME, json={"birth_year": None, "episode_started_on": None}, headers=headers).json()
    assert (cleared["patient"]["birth_year"], cleared["patient"]["episode_started_on"]) == (None, None)


def test_an_empty_patch_changes_nothing(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    assert client.patch(ME, json={}, headers=headers).status_code == 200
    assert rows(session, AuditEvent) == 0


def test_a_new_time_zone_moves_the_reminders(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    response = client.patch(ME, json={"timezone": "Asia/Kolkata"}, headers=headers)
    assert response.json()["patient"]["timezone"] == "Asia/Kolkata"
    session.rollback()
    due = session.exec(
        select(ReminderSchedule).where(
            ReminderSchedule.patient_id == patient.id, ReminderSchedule.kind == "daily_log_reminder"
        )
    ).one()
    # 20:00 in Kolkata is 14:30 UTC.
    assert (due.next_due_at.hour, due.next_due_at.minute) == (14, 30)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
        ({"timezone": "utc+1"}, ["body", "timezone"]),
        ({"timezone": None}, ["body", "timezone"]),
        ({"timezone": 1}, ["body", "timezone"]),
        ({"birth_year": 2027}, ["body", "birth_year"]),  # the application clock is in 2026
        ({"birth_year": 1899}, ["body", "birth_year"]),
        ({"birth_year": "1980"}, ["body", "birth_year"]),
        ({"birth_year": True}, ["body", "birth_year"]),
        ({"birth_year": 1980.0}, ["body", "birth_year"]),
        ({"episode_started_on": "2026-03-03"}, ["body", "episode_started_on"]),  # tomorrow
        ({"episode_started_on": "2026-02-30"}, ["body", "episode_started_on"]),
        ({"episode_started_on": "1979-12-31"}, ["body", "episode_started_on"]),  # before birth (1980)
        ({"episode_started_on": 20260301}, ["body", "episode_started_on"]),
        ({"cancer_history": "yes"}, ["body", "cancer_history"]),
        ({"cancer_history": 0}, ["body", "cancer_history"]),
        ({"cancer_history": None}, ["body", "cancer_history"]),
        ({"osteoporosis_or_steroids": None}, ["body", "osteoporosis_or_steroids"]),
        ({"display_name": ""}, ["body", "display_name"]),
        ({"display_name": None}, ["body", "display_name"]),
        ({"display_name": "x" * 101}, ["body", "display_name"]),
        ({"email": "new@example.org"}, ["body", "email"]),
        ({"risk_group": "low"}, ["body", "risk_group"]),
    ],
)
def test_bad_profile_input(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    body: dict[str, Any],
    loc: list[str],
) -> None:
    before = client.get(ME, headers=headers).json()
    response = client.patch(ME, json={"display_name": "Changed", **body}, headers=headers)
    assert_field_refused(response, loc)
    assert client.get(ME, headers=headers).json() == before
    assert rows(session, AuditEvent) == 0


def test_staff_change_their_name_only(client: TestClient, app: FastAPI, session: Session, clock_at_start: None) -> None:
    clinician = make_clinician(session, app)
    headers = auth(app, clinician)
    assert client.patch(ME, json={"display_name": "Dr Who"}, headers=headers).json()["display_name"] == "Dr Who"
    response = client.patch(ME, json={"timezone": "Europe/Paris"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"loc": ["body", "timezone"], "msg": "only patients have this profile field"}]
    session.expire_all()
    assert session.get(User, clinician.id).display_name == "Dr Who"  # type: ignore[union-attr]


def test_the_nested_shape_of_get_me_is_accepted(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str]
) -> None:
    """SPEC §3: GET and PATCH /me share the shape `{display_name, patient: {...}}`."""
    before = client.get(ME, headers=headers).json()
    body = {"display_name": "Ann", "patient": {"timezone": "Europe/Paris", "birth_year": 1961, "cancer_history": True}}
    response = client.patch(ME, json=body, headers=headers)
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["display_name"] == "Ann"
    assert after["patient"] == before["patient"] | body["patient"]
    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "update")).one()
    assert event.detail == {"fields": ["display_name", "birth_year", "cancer_history", "timezone"]}
    cleared = client.patch(ME, json={"patient": {"birth_year": None}}, headers=headers).json()
    assert cleared["patient"]["birth_year"] is None


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"patient": {"birth_year": 2027}}, [["body", "patient", "birth_year"]]),
        ({"patient": {"episode_started_on": "2026-03-03"}}, [["body", "patient", "episode_started_on"]]),
        ({"patient": {"timezone": None}}, [["body", "patient", "timezone"]]),
        ({"patient": {"risk_group": "low"}}, [["body", "patient", "risk_group"]]),
        ({"patient": None}, [["body", "patient"]]),
        ({"patient": {"display_name": "Ann"}}, [["body", "patient", "display_name"]]),
        (
            {"timezone": "Europe/Paris", "patient": {"timezone": "Europe/Rome"}},
            [["body", "timezone"], ["body", "patient", "timezone"]],
        ),
    ],
)
def test_bad_nested_profile_input(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    body: dict[str, Any],
    locs: list[list[str]],
) -> None:
    before = client.get(ME, headers=headers).json()
    response = client.patch(ME, json={"display_name": "Changed", **body}, headers=headers)
    assert response.status_code == 422, response.text
    assert [e["loc"] for e in response.json()["errors"]] == locs
    assert client.get(ME, headers=headers).json() == before
    assert rows(session, AuditEvent) == 0


def test_staff_cannot_set_nested_patient_fields(
    client: TestClient, app: FastAPI, session: Session, clock_at_start: None
) -> None:
    headers = auth(app, make_clinician(session, app))
    response = client.patch(ME, json={"patient": {"timezone": "Europe/Paris"}}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"loc": ["body", "patient", "timezone"], "msg": "only patients have this profile field"}
    ]
