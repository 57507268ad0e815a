"""Issue 19: a Spanish patient's reminders, plan reasons, plan messages and exercise
instructions are Spanish, on both databases; what the clinician reads stays English."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.config import Settings
from api.models import Notification, NotificationKind, Patient
from tests.factories import auth, make_clinician, make_patient, patient_auth
from tests.plans.helpers import START, assign, at_local, log_days, sweep, week
from tests.reminders.helpers import reminders, set_clock, tick, utc

WEEK = timedelta(days=7)


def _spanish(session: Session, patient: Patient) -> Patient:
    patient.locale = "es-ES"
    session.add(patient)
    session.commit()
    return patient


def test_a_spanish_patient_gets_spanish_reminders(
    client: TestClient, app: FastAPI, session: Session, engine: Engine, settings: Settings
) -> None:
    set_clock(app, session, utc(2026, 6, 8, 9, 0))
    patient = _spanish(session, make_patient(session, app))
    assert patient.id is not None
    assert tick(engine, settings, utc(2026, 6, 8, 19, 0, 20))["created"] == 1
    [sent] = reminders(session, patient.id)
    assert sent.title == "¿Qué tal su espalda hoy?"
    assert sent.body.startswith("Dedique un minuto a registrar el dolor de hoy.")
    feed = client.get("/api/v1/me/notifications", headers=patient_auth(session, app, patient)).json()
    assert feed["items"][0]["title"] == "¿Qué tal su espalda hoy?"


def test_a_spanish_patient_reads_plan_reasons_messages_and_exercises_in_spanish(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician = make_clinician(session, app)
    patient = _spanish(session, make_patient(session, app, clinician))
    log_days(session, patient, START - WEEK, [3] * 7, activity_minutes=20)
    assign(app, patient, "medium")
    week(session, patient, START)
    sweep(app, at_local(START + WEEK, hour=1))  # progress
    week(session, patient, START + WEEK, sessions=(2, 2))
    sweep(app, at_local(START + 2 * WEEK, hour=1))  # hold: two of three sessions
    headers = patient_auth(session, app, patient)

    history = client.get("/api/v1/me/plan/history", headers=headers).json()["items"]
    hold, progress, assigned = history[0], history[1], history[-1]
    assert hold["action"] == "hold" and hold["reasons"] == ["cumplimiento 67 % (por debajo del 80 %)"]
    assert "3 sesiones verdes" in progress["reasons"]
    assert "objetivo diario de caminar 10 min → 22 min" in progress["reasons"]
    assert assigned["reasons"] == [
        "grupo de riesgo STarT Back: medio",
        "plan: Ejercicio gradual, empezando en el nivel 1 (En marcha)",
    ]
    plan = client.get("/api/v1/me/plan", headers=headers).json()
    assert plan["template_name"] == "Ejercicio gradual" and plan["level_name"] == "Ganar control"
    assert plan["last_decision"]["reasons"] == ["cumplimiento 67 % (por debajo del 80 %)"]
    assert plan["education"][0].startswith("Dolor no significa daño.")

    # The clinician reads the same decisions in English, as stored.
    assert patient.id is not None
    clinician_history = client.get(
        f"/api/v1/clinician/patients/{patient.id}/plan/history", headers=auth(app, clinician)
    ).json()["items"]
    assert clinician_history[0]["reasons"] == ["adherence 67 % (below 80 %)"]

    session.rollback()
    moved = session.exec(
        select(Notification).where(
            Notification.user_id == patient.user_id, Notification.kind == NotificationKind.PLAN_CHANGE
        )
    ).all()
    titles = {n.title for n in moved}
    assert {"Su plan de ejercicios está listo", "Sube un nivel"} <= titles
    assert any(
        n.body == "Ha llevado bien el plan de la semana pasada, así que sube al nivel 2 (Ganar control)." for n in moved
    )

    today = client.get("/api/v1/me/plan/today", headers=headers).json()
    names = [e["name"] for e in today["exercises"]]
    assert "Gato\u2013camello" in names and "Puente" in names
    bridge = client.get("/api/v1/exercises/bridge", headers=headers).json()
    assert bridge["name"] == "Puente"
    assert bridge["instructions"][0].startswith("Túmbese boca arriba con las rodillas dobladas")
    assert bridge["dosage"] == client.get("/api/v1/exercises/bridge", headers=auth(app, clinician)).json()["dosage"]
    assert client.get("/api/v1/exercises/bridge", headers=auth(app, clinician)).json()["name"] == "Bridge"
    templates = client.get("/api/v1/plan-templates/graded-exercise", headers=headers).json()
    assert templates["name"] == "Ejercicio gradual" and templates["levels"][0]["prescription"][0]["name"]


def test_the_questionnaires_for_a_spanish_patient(client: TestClient, app: FastAPI, session: Session) -> None:
    patient = _spanish(session, make_patient(session, app))
    listed = client.get("/api/v1/screening-instruments", headers=patient_auth(session, app, patient)).json()
    by_id = {i["id"]: i for i in listed}
    assert by_id["red_flags"]["locale"] == "es-ES" and by_id["red_flags"]["note"] is None
    assert by_id["red_flags"]["items"][0]["text"].startswith("¿Nota adormecimiento u hormigueo")
    for instrument in ("start_back", "odi"):  # no validated translation shipped: English, with a note
        assert by_id[instrument]["locale"] == "en-GB"
        assert by_id[instrument]["note"].startswith("Este cuestionario se muestra en inglés")


def test_a_spanish_patient_logging_a_flare_reads_the_flare_advice_in_spanish(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    patient = _spanish(session, make_patient(session, app, make_clinician(session, app)))
    log_days(session, patient, START - WEEK, [3] * 7)
    assign(app, patient, "medium")
    on = START + timedelta(days=1)
    now = at_local(on, hour=12)
    set_clock(app, session, now)
    body = {"back_pain": 7, "flare": True, "client_updated_at": now.isoformat()}
    response = client.put(f"/api/v1/me/pain-logs/{on}", json=body, headers=patient_auth(session, app, patient))
    assert response.status_code in (200, 201), response.text
    flare = response.json()["flare"]
    assert flare["message"] == "crisis de dolor: plan más suave hasta el 4 de marzo de 2026"
    assert flare["red_flag_questions"][0]["text"].startswith("¿Nota adormecimiento u hormigueo")
    today = client.get("/api/v1/me/plan/today", headers=patient_auth(session, app, patient)).json()
    assert today["message"] == (
        "Crisis de dolor: un plan más suave hasta el 4 de marzo de 2026. "
        "No lo deje: siga caminando y moviéndose con suavidad."
    )
