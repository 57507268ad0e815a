"""Every validation ``loc`` is a path into the JSON the client sent.

Pydantic's own locations also name schema parts (a discriminated union's tag, a union
member); a client must be able to follow ``loc`` into its own request to mark the field.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.models import Patient
from tests.capture.helpers import ME, NO_SYMPTOMS, log_body, stamp

LOG = f"{ME}/pain-logs/2026-03-02"


def assert_path_into(sent: Any, error: dict[str, Any]) -> None:
    """``loc`` starts at ``body`` and follows keys and indexes of ``sent``; only a missing
    field (``Field required``) may name a key that is not there, and only at the end."""
    loc = error["loc"]
    assert loc[0] == "body", error
    value = sent
    for position, part in enumerate(loc[1:], start=1):
        last = position == len(loc) - 1
        is_key = isinstance(value, dict) and part in value
        is_index = isinstance(value, list) and type(part) is int and 0 <= part < len(value)
        if is_key or is_index:
            value = value[part]
        else:
            assert last and error["msg"] == "Field required" and isinstance(value, dict), error
            assert isinstance(part, str)


def errors_of(client: TestClient, method: str, path: str, body: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.request(method, path, json=body, headers=headers)
    assert response.status_code == 422, response.text
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert errors
    return errors


RED_FLAGS = {"instrument": "red_flags", "answers": NO_SYMPTOMS | {"saddle_numbness": 1, "surprise": True}}
START_BACK = {"instrument": "start_back", "answers": {"q1": "yes", "q9": "hugely"}}
ODI = {"instrument": "odi", "answers": {"s1": 6, "s2": True, "s11": 1}}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (RED_FLAGS, {("body", "answers", "saddle_numbness"), ("body", "answers", "surprise")}),
        (START_BACK, {("body", "answers", "q1"), ("body", "answers", "q9"), ("body", "answers", "q2")}),
        (ODI, {("body", "answers", "s1"), ("body", "answers", "s2"), ("body", "answers", "s11")}),
        ({"instrument": "red_flags"}, {("body", "answers")}),
        ({"instrument": "odx", "answers": {}}, {("body", "instrument")}),
        # An extra key spelled like the tag is still named where it is.
        ({"instrument": "odi", "answers": {}, "odi": 1}, {("body", "odi")}),
    ],
)
def test_screening_locs_follow_the_body_not_the_instrument_tag(
    client: TestClient, patient: Patient, headers: dict[str, str], body: dict[str, Any], expected: set[tuple[Any, ...]]
) -> None:
    errors = errors_of(client, "POST", f"{ME}/screenings", body, headers)
    for error in errors:
        assert_path_into(body, error)
    assert expected <= {tuple(e["loc"]) for e in errors}


def test_pain_log_locs_name_medications_by_their_json_key(
    client: TestClient, patient: Patient, headers: dict[str, str]
) -> None:
    body = log_body(
        medications=[{"class": "aspirin"}, {"class_": "nsaid"}],
        symptoms={"fever": "no", "itching": True},
        flare=0,
    )
    errors = errors_of(client, "PUT", LOG, body, headers)
    for error in errors:
        assert_path_into(body, error)
    assert {tuple(e["loc"]) for e in errors} == {
        ("body", "medications", 0, "class"),
        ("body", "medications", 1, "class"),
        ("body", "medications", 1, "class_"),
        ("body", "symptoms", "fever"),
        ("body", "symptoms", "itching"),
        ("body", "flare"),
    }


def test_profile_locs_follow_the_nested_shape(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    body = {"patient": {"timezone": "Mars/Olympus", "birth_year": "1980", "id": 3}, "display_name": ""}
    errors = errors_of(client, "PATCH", ME, body, headers)
    for error in errors:
        assert_path_into(body, error)
    assert {tuple(e["loc"]) for e in errors} == {
        ("body", "patient", "timezone"),
        ("body", "patient", "birth_year"),
        ("body", "patient", "id"),
        ("body", "display_name"),
    }


def test_sync_item_locs_are_paths_into_the_batch(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    good = log_body(4) | {"log_date": "2026-03-01"}
    bad_log = {"back_pain": 11, "medications": [{"class": "x"}], "symptoms": {"fever": 1}, "log_date": "2026-02-30"}
    bad_session = {
        "id": "not-a-uuid",
        "performed_at": stamp(),
        "duration_minutes": 20,
        "exercises": [{"exercise_id": 7, "sets_done": 2}],
        "pain_during": 3,
    }
    body = {"pain_logs": [good, bad_log], "exercise_sessions": [bad_session]}
    response = client.post(f"{ME}/sync", json=body, headers=headers)
    assert response.status_code == 200, response.text
    rejected = [r for r in response.json()["results"] if r["status"] == "rejected"]
    assert [(r["kind"], r["index"]) for r in rejected] == [("pain_log", 1), ("exercise_session", 0)]
    locs = set()
    for result in rejected:
        for error in result["error"]["errors"]:
            assert_path_into(body, error)
            locs.add(tuple(error["loc"]))
    assert {
        ("body", "pain_logs", 1, "back_pain"),
        ("body", "pain_logs", 1, "medications", 0, "class"),
        ("body", "pain_logs", 1, "symptoms", "fever"),
        ("body", "pain_logs", 1, "client_updated_at"),
        ("body", "exercise_sessions", 0, "id"),
        ("body", "exercise_sessions", 0, "exercises", 0, "exercise_id"),
        ("body", "exercise_sessions", 0, "exercises", 0, "completed"),
    } <= locs


def test_envelope_and_query_locs(client: TestClient, patient: Patient, headers: dict[str, str]) -> None:
    body = {"pain_logs": {"log_date": "2026-03-01"}, "extra": []}
    for error in errors_of(client, "POST", f"{ME}/sync", body, headers):
        assert_path_into(body, error)
    response = client.get(f"{ME}/pain-logs", params={"from": "March"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "from"]
