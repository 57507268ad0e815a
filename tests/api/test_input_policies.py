"""Passwords (NIST SP 800-63B) and time zones (IANA geographic names and UTC)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.passwords import MIN_LENGTH, common_passwords, password_problem
from api.logs import mask_secrets, scrub_message
from api.models import Patient, User
from tests.capture.helpers import ME, START, set_clock
from tests.factories import PASSWORD, assert_field_refused, auth, make_admin, make_clinic, make_patient, patient_auth

REGISTER = "/api/v1/auth/register"
WEAK = [
    "aaaaaaaaaa",  # one character repeated
    "abababababab",
    "password12",  # in the list
    "PassWord12",  # the list is case-insensitive
    "qwertyuiop",
    "iloveyou2026",  # a listed password with digits added
    "!!monkey!!",
    "0123456789",  # consecutive
    "jihgfedcba",
    "short",
]


def test_the_shipped_list_is_loaded() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"password", "123456", "password12"} <= common
    assert all(entry == entry.casefold() for entry in common)


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_have_a_reason(password: str) -> None:
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", [PASSWORD, "Tr0ub4dor&3x-kettle", "demo-patient-password", "x" * 9 + "y"])
def test_good_passwords_pass(password: str) -> None:
    assert len(password) >= MIN_LENGTH
    assert password_problem(password) is None


@pytest.mark.parametrize("password", WEAK)
def test_registration_refuses_a_weak_password(client: TestClient, session: Session, password: str) -> None:
    body = {"email": "new@example.org", "password": password, "display_name": "New"}
    assert_field_refused(client.post(REGISTER, json=body), ["body", "password"])
    assert session.exec(select(User)).all() == []


def test_an_admin_cannot_give_a_clinician_a_weak_password(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = auth(app, make_admin(session, app))
    clinic = make_clinic(session, app)
    body = {"email": "physio@example.org", "password": "Password123", "display_name": "P", "clinic_id": clinic.id}
    assert_field_refused(client.post("/api/v1/admin/clinicians", json=body, headers=headers), ["body", "password"])
    session.rollback()
    assert session.exec(select(User).where(User.email == "physio@example.org")).first() is None


REFUSED_ZONES = ["localtime", "Factory", "posixrules", "right/UTC", "posix/Europe/London", "Etc/GMT+5", "EST", "GMT"]
ACCEPTED_ZONES = ["Europe/London", "America/Argentina/Buenos_Aires", "UTC", "Etc/UTC", "US/Eastern"]


@pytest.fixture
def patient(app: FastAPI, session: Session) -> Patient:
    set_clock(app, session, START)
    return make_patient(session, app)


@pytest.mark.parametrize("zone", REFUSED_ZONES)
def test_only_geographic_zones_and_utc_are_taken(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, zone: str
) -> None:
    headers = patient_auth(session, app, patient)
    assert_field_refused(client.patch(ME, json={"timezone": zone}, headers=headers), ["body", "timezone"])
    reminders = client.get(f"{ME}/reminders", headers=headers).json()
    response = client.put(f"{ME}/reminders", json={**reminders, "timezone": zone}, headers=headers)
    assert_field_refused(response, ["body", "timezone"])
    session.rollback()
    assert session.get(Patient, patient.id).timezone == "Europe/London"  # type: ignore[union-attr]


@pytest.mark.parametrize("zone", ACCEPTED_ZONES)
def test_geographic_zones_and_utc_are_accepted(
    client: TestClient, app: FastAPI, session: Session, patient: Patient, zone: str
) -> None:
    headers = patient_auth(session, app, patient)
    response = client.patch(ME, json={"timezone": zone}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["patient"]["timezone"] == zone


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "user_email_key"\n'
            "DETAIL:  Key (email)=(a@b.org) already exists.\n[SQL: INSERT INTO ...]\n[parameters: {'e': 'a@b.org'}]",
            "(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint '…'",
        ),
        (
            "(sqlite3.IntegrityError) UNIQUE constraint failed: user.email [SQL: x]",
            "(sqlite3.IntegrityError) UNIQUE constraint failed: user.email",
        ),
        ("KeyError: 'sciatica'", "KeyError: '…'"),
        (
            "user someone@example.org has hash $argon2id$v=19$m=64,t=1,p=4$abc$def",
            "user <email> has hash <password-hash>",
        ),
    ],
)
def test_exception_messages_are_scrubbed(message: str, expected: str) -> None:
    assert scrub_message(message) == expected


def test_tokens_are_masked() -> None:
    assert mask_secrets("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln") == "Bearer <token>"
