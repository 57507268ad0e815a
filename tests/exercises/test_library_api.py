"""The exercise library and plan templates over HTTP."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from exercise_library import get_library
from tests.factories import auth, make_clinician, make_patient, patient_auth


def all_pages(client: TestClient, path: str, headers: dict[str, str], limit: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = client.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


def test_every_exercise_is_listed_once_in_id_order(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    items = all_pages(client, "/api/v1/exercises", headers, limit=7)
    ids = [item["id"] for item in items]
    assert ids == sorted(get_library().exercises) and len(ids) >= 25
    whole = client.get("/api/v1/exercises", headers=headers).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == len(ids)


def test_an_exercise_has_its_instructions_dosage_and_safety_notes(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    headers = auth(app, make_clinician(session, app))
    body = client.get("/api/v1/exercises/bridge", headers=headers).json()
    exercise = get_library().exercise("bridge")
    assert (body["id"], body["name"], body["category"]) == ("bridge", exercise.name, "core_strength")
    assert body["instructions"] == list(exercise.instructions)
    assert body["contraindications"] and body["phases"] and "tags" in body and "equipment" in body
    assert [d["level"] for d in body["dosage"]] == sorted(exercise.dosage)
    first = exercise.dosage[min(exercise.dosage)]
    assert body["dosage"][0] | {"level": 0} == {
        "level": 0,
        "sets": first.sets,
        "reps": first.reps,
        "hold_seconds": first.hold_seconds,
        "minutes": first.minutes,
    }


def test_unknown_exercise_is_404(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    response = client.get("/api/v1/exercises/not-an-exercise", headers=headers)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_filters(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    library = get_library()
    relaxation = client.get("/api/v1/exercises", headers=headers, params={"category": "relaxation"}).json()["items"]
    assert {e["id"] for e in relaxation} == {e.id for e in library.exercises.values() if e.category == "relaxation"}
    acute = client.get("/api/v1/exercises", headers=headers, params={"phase": "acute"}).json()["items"]
    assert acute and all("acute" in e["phases"] for e in acute)
    assert len(acute) < len(library.exercises)
    tagged = client.get("/api/v1/exercises", headers=headers, params={"tag": "gentle"}).json()["items"]
    assert tagged and all("gentle" in e["tags"] for e in tagged)
    bad = client.get("/api/v1/exercises", headers=headers, params={"category": "yoga"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "category"]
    cursor = client.get("/api/v1/exercises", headers=headers, params={"cursor": "%%%"})
    assert cursor.status_code == 422 and cursor.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_plan_templates_have_levels_prescriptions_walking_and_education(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    templates = all_pages(client, "/api/v1/plan-templates", headers, limit=2)
    library = get_library()
    assert {t["risk_group"]: t["id"] for t in templates} == {
        "low": "self-management",
        "medium": "graded-exercise",
        "high": "graded-exercise-with-education",
    }
    for template in templates:
        levels = template["levels"]
        assert isinstance(levels, list) and len(levels) == template["level_count"]
        assert len(levels) >= 3
        for level in levels:
            number = level["number"]
            assert level["sessions_per_week"] >= 1 and 0 <= level["walking_minutes"] <= 30
            expected = library.prescription(str(template["id"]), number)
            assert [p["exercise_id"] for p in level["prescription"]] == [p.exercise_id for p in expected]
            flare = library.reduced_prescription(str(template["id"]), number)
            assert [(p["exercise_id"], p["sets"]) for p in level["flare_prescription"]] == [
                (p.exercise_id, p.sets) for p in flare
            ]
    high = client.get("/api/v1/plan-templates/graded-exercise-with-education", headers=headers).json()
    education = " ".join(item for level in high["levels"] for item in level["education"]).lower()
    assert "pacing" in education or "pace" in education
    missing = client.get("/api/v1/plan-templates/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_the_library_needs_a_signed_in_user(client: TestClient) -> None:
    for path in ("/api/v1/exercises", "/api/v1/exercises/bridge", "/api/v1/plan-templates"):
        assert client.get(path).status_code == 401
