"""Issue 19 over HTTP, on both databases: a patient's locale, a clinic's country, and the
safety advice a German patient in a German clinic gets (in German, with 112)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.models import Clinic, Notification, NotificationKind, Patient, User
from tests.capture.helpers import START, log_body, set_clock
from tests.factories import PASSWORD, assert_field_refused, auth, make_admin, unique_email

API = "/api/v1"


def _clinic(client: TestClient, admin_headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = client.post(f"{API}/admin/clinics", json={"name": "Praxis", **body}, headers=admin_headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _clinician_invite(client: TestClient, admin_headers: dict[str, str], app: FastAPI, clinic_id: int) -> str:
    body = {"email": unique_email("physio"), "password": PASSWORD, "display_name": "Anna", "clinic_id": clinic_id}
    created = client.post(f"{API}/admin/clinicians", json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    login = client.post(f"{API}/auth/login", json={"email": body["email"], "password": PASSWORD})
    token = login.json()["access_token"]
    invite = client.post(f"{API}/clinician/invites", headers={"Authorization": f"Bearer {token}"})
    assert invite.status_code == 201, invite.text
    return str(invite.json()["code"])


def _register(client: TestClient, *, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    body = {"email": unique_email("pat"), "password": PASSWORD, "display_name": "Pat", **extra}
    return client.post(f"{API}/auth/register", json=body, headers=headers or {})


def _patient_headers(app: FastAPI, session: Session, user_id: int) -> dict[str, str]:
    session.rollback()
    user = session.get(User, user_id)
    assert user is not None
    return auth(app, user)


def test_a_german_patient_in_a_german_clinic_reporting_bladder_change_is_told_in_german_to_call_112(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    set_clock(app, session, START)
    admin = auth(app, make_admin(session, app))
    clinic = _clinic(client, admin, country="DE")
    assert (clinic["country"], clinic["default_locale"]) == ("DE", "de-DE")
    code = _clinician_invite(client, admin, app, clinic["id"])
    registered = _register(client, invite_code=code, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert registered.status_code == 201, registered.text
    assert registered.json()["care_team"]["message"].startswith("Anna begleitet Ihren Fortschritt in Backstep")
    headers = _patient_headers(app, session, registered.json()["id"])
    assert client.get(f"{API}/me", headers=headers).json()["patient"]["locale"] == "de-DE"

    body = log_body(6, symptoms={"bladder_change": True})
    response = client.put(f"{API}/me/pain-logs/{START.date()}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    triage = response.json()["triage"]
    assert triage["tier"] == "emergency"
    advice = triage["advice"]
    assert advice.startswith("Bitte rufen Sie jetzt den Notruf 112 an oder gehen Sie sofort in die Notaufnahme.")
    assert "Ihr Übungsplan" not in advice or "pausiert" in advice
    assert "Ihr Physiotherapie-Team wurde informiert." in advice
    assert "999" not in advice and "A&E" not in advice and "call" not in advice

    session.rollback()
    safety = session.exec(
        select(Notification).where(
            Notification.user_id == registered.json()["id"], Notification.kind == NotificationKind.SAFETY
        )
    ).one()
    assert safety.title == "Bitte holen Sie sich jetzt ärztliche Hilfe"
    assert safety.body == advice


def test_an_english_patient_in_a_default_clinic_keeps_the_english_advice_and_999(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    set_clock(app, session, START)
    admin = auth(app, make_admin(session, app))
    clinic = _clinic(client, admin)
    assert (clinic["country"], clinic["default_locale"]) == ("GB", "en-GB")
    registered = _register(client, invite_code=_clinician_invite(client, admin, app, clinic["id"]))
    headers = _patient_headers(app, session, registered.json()["id"])
    body = log_body(6, symptoms={"bladder_change": True})
    advice = client.put(f"{API}/me/pain-logs/{START.date()}", json=body, headers=headers).json()["triage"]["advice"]
    assert advice.startswith("Please call 999 now, or go to A&E straight away.")


def test_a_spanish_patient_without_a_clinic_gets_the_numbers_of_spain(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    set_clock(app, session, START)
    registered = _register(client, locale="es-ES")
    assert registered.status_code == 201, registered.text
    headers = _patient_headers(app, session, registered.json()["id"])
    body = log_body(6, symptoms={"fever": True})
    advice = client.put(f"{API}/me/pain-logs/{START.date()}", json=body, headers=headers).json()["triage"]["advice"]
    # Spain has no national urgent line: the advice names none, and the safety net says 112.
    assert advice.startswith("Contacte hoy con su médico. Si hoy no consigue hablar con un médico, acuda a urgencias.")
    assert "llame al 112 o acuda a urgencias de inmediato" in advice
    assert "111" not in advice and "999" not in advice


def test_a_french_clinic_gives_15_or_112(client: TestClient, app: FastAPI, session: Session) -> None:
    set_clock(app, session, START)
    admin = auth(app, make_admin(session, app))
    clinic = _clinic(client, admin, country="FR")
    registered = _register(client, invite_code=_clinician_invite(client, admin, app, clinic["id"]))
    headers = _patient_headers(app, session, registered.json()["id"])
    assert client.get(f"{API}/me", headers=headers).json()["patient"]["locale"] == "fr-FR"  # the clinic's default
    body = log_body(6, symptoms={"saddle_numbness": True})
    advice = client.put(f"{API}/me/pain-logs/{START.date()}", json=body, headers=headers).json()["triage"]["advice"]
    assert advice.startswith("Appelez le 15 ou 112 maintenant, ou allez aux urgences immédiatement.")


def test_locale_choice_at_registration_body_then_accept_language_then_clinic_then_english(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    admin = auth(app, make_admin(session, app))
    clinic = _clinic(client, admin, country="ES")
    cases = [
        ({"locale": "fr-fr"}, {"Accept-Language": "de"}, None, "fr-FR"),
        ({}, {"Accept-Language": "ja, de-AT;q=0.8"}, None, "de-DE"),
        ({}, {"Accept-Language": "ja"}, clinic["id"], "es-ES"),
        ({}, {}, clinic["id"], "es-ES"),
        ({}, {"Accept-Language": "ja"}, None, "en-GB"),
    ]
    for body, headers, clinic_id, expected in cases:
        extra = dict(body)
        if clinic_id is not None:
            extra["invite_code"] = _clinician_invite(client, admin, app, clinic_id)
        registered = _register(client, headers=headers, **extra)
        assert registered.status_code == 201, registered.text
        me = client.get(f"{API}/me", headers=_patient_headers(app, session, registered.json()["id"])).json()
        assert me["patient"]["locale"] == expected, (body, headers)


def test_an_unsupported_locale_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    assert_field_refused(_register(client, locale="ja-JP"), ["body", "locale"])
    session.rollback()
    assert session.exec(select(Patient)).first() is None

    registered = _register(client, locale="de-DE")
    headers = _patient_headers(app, session, registered.json()["id"])
    assert_field_refused(client.patch(f"{API}/me", json={"locale": "xx"}, headers=headers), ["body", "locale"])
    assert_field_refused(
        client.patch(f"{API}/me", json={"patient": {"locale": None}}, headers=headers), ["body", "patient", "locale"]
    )
    assert client.get(f"{API}/me", headers=headers).json()["patient"]["locale"] == "de-DE"


def test_patch_me_changes_the_locale(client: TestClient, app: FastAPI, session: Session) -> None:
    registered = _register(client)
    headers = _patient_headers(app, session, registered.json()["id"])
    changed = client.patch(f"{API}/me", json={"patient": {"locale": "es-ES"}}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["patient"]["locale"] == "es-ES"
    assert client.patch(f"{API}/me", json={"locale": "fr-FR"}, headers=headers).json()["patient"]["locale"] == "fr-FR"


def test_a_clinic_country_must_have_known_emergency_numbers(client: TestClient, app: FastAPI, session: Session) -> None:
    admin = auth(app, make_admin(session, app))
    for country in ("ZZ", "de", "DEU", 49):
        response = client.post(f"{API}/admin/clinics", json={"name": "X", "country": country}, headers=admin)
        assert_field_refused(response, ["body", "country"], country)
    assert_field_refused(
        client.post(f"{API}/admin/clinics", json={"name": "X", "locale": "it-IT"}, headers=admin), ["body", "locale"]
    )
    session.rollback()
    assert session.exec(select(Clinic)).first() is None
    us = _clinic(client, admin, country="US")
    assert (us["country"], us["default_locale"]) == ("US", "en-GB")


def test_a_refusal_says_which_fields_in_the_language_asked_for(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    registered = _register(client, locale="es-ES")
    headers = _patient_headers(app, session, registered.json()["id"])
    spanish = client.patch(f"{API}/me", json={"locale": "xx"}, headers={**headers, "Accept-Language": "es-ES"})
    assert_field_refused(spanish, ["body", "locale"])
    assert spanish.json()["detail"] == "campos no válidos: body.locale"
    # A refusal raised by a service (not by request parsing) is worded the same way.
    future = client.patch(f"{API}/me", json={"birth_year": 2100}, headers={**headers, "Accept-Language": "fr"})
    assert future.json()["detail"] == "champs non valides : body.birth_year"
    english = client.patch(f"{API}/me", json={"locale": "xx"}, headers=headers)
    assert english.json()["detail"] == "invalid fields: body.locale"


def test_a_german_patient_messaging_the_care_team_reads_the_safety_statement_in_german_with_112(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    """Issues 18 and 19: the conversation's emergency statement and the push are the patient's own language."""
    set_clock(app, session, START)
    admin = auth(app, make_admin(session, app))
    clinic = _clinic(client, admin, country="DE")
    code = _clinician_invite(client, admin, app, clinic["id"])
    registered = _register(client, invite_code=code, locale="de-DE")
    assert registered.status_code == 201, registered.text
    headers = _patient_headers(app, session, registered.json()["id"])

    sent = client.post(
        f"{API}/me/messages",
        json={"body": "Frage zur Übung", "client_id": "0b5f6c1e-3d5a-4d43-9b8e-1f2a3b4c5d6e"},
        headers=headers,
    )
    assert sent.status_code == 201, sent.text
    for safety in (sent.json()["safety"], client.get(f"{API}/me/messages", headers=headers).json()["safety"]):
        assert safety["emergency_number"] == "112"
        assert safety["statement"].startswith("Nachrichten werden nicht auf Notfälle überwacht")
        assert "die 112 an" in safety["statement"] and "999" not in safety["statement"]

    # The physiotherapist's answer reaches the patient as a German push without its text.
    session.rollback()
    clinician = session.exec(select(User).where(User.role == "clinician", User.display_name == "Anna")).all()[-1]
    patient_id = session.exec(select(Patient.id).where(Patient.user_id == registered.json()["id"])).one()
    reply = client.post(
        f"{API}/clinician/patients/{patient_id}/messages",
        json={"body": "Gern, morgen um 10 Uhr.", "client_id": "6a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
        headers=auth(app, clinician),
    )
    assert reply.status_code == 201, reply.text
    session.rollback()
    push = session.exec(
        select(Notification).where(
            Notification.user_id == registered.json()["id"], Notification.kind == NotificationKind.MESSAGE
        )
    ).one()
    assert (push.title, push.body) == (
        "Neue Nachricht",
        "Sie haben eine neue Nachricht von Ihrer Physiotherapeutin oder Ihrem Physiotherapeuten.",
    )
    assert "morgen" not in push.body
