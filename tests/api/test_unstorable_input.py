"""Text the database cannot store (NUL, unpaired surrogates) and duplicate JSON keys: a
422 naming the field on every route, both databases, nothing written.

The route list comes from the OpenAPI document, so a route added later is covered
without touching this file.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.models import AuditEvent, Clinic, PainLog, Patient, User
from tests.capture.helpers import ME, START, day, log_body, rows, set_clock
from tests.factories import PASSWORD, assert_field_refused, make_clinician, make_patient, patient_auth

NUL = "before\x00after"
SURROGATE = "before\ud800after"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _is_string(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    schema = _resolve(schema, components)
    if schema.get("type") == "string":
        return True
    return any(_is_string(s, components) for s in schema.get("anyOf", []) + schema.get("oneOf", []))


def _body_string_fields(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, components)
    fields = {name for name, prop in schema.get("properties", {}).items() if _is_string(prop, components)}
    for variant in schema.get("oneOf", []) + schema.get("anyOf", []) + schema.get("allOf", []):
        fields |= _body_string_fields(variant, components)
    return fields


def _string_inputs(openapi: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) for every string parameter and top-level string body field."""
    components = openapi.get("components", {}).get("schemas", {})
    found: list[tuple[str, str, str, str]] = []
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("query", "path") and _is_string(parameter.get("schema", {}), components):
                    found.append((method, path, parameter["in"], parameter["name"]))
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for name in sorted(_body_string_fields(content["application/json"]["schema"], components)):
                    found.append((method, path, "body", name))
    return found


def _fill_path(path: str, operation_parameters: list[dict[str, Any]], bad: tuple[str, str] | None) -> str:
    for parameter in operation_parameters:
        if parameter["in"] != "path":
            continue
        value = "%00" if bad == ("path", parameter["name"]) else "1"
        path = path.replace("{" + parameter["name"] + "}", value)
    return path


def test_every_string_input_of_every_route_refuses_nul_and_surrogates(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    openapi = app.openapi()
    inputs = _string_inputs(openapi)
    where = {where for _, _, where, _ in inputs}
    assert {"query", "path", "body"} <= where  # the walk found every kind of input
    assert ("post", "/api/v1/auth/register", "body", "display_name") in inputs
    assert ("post", "/api/v1/auth/login", "body", "email") in inputs
    failures = []
    for method, path, kind, name in inputs:
        parameters = openapi["paths"][path][method].get("parameters", [])
        url = _fill_path(path, parameters, (kind, name))
        requests: list[dict[str, Any]] = []
        if kind == "query":
            requests.append({"url": f"{url}?{name}=a%00b"})
        elif kind == "path":
            requests.append({"url": url})
        else:
            for bad in (NUL, SURROGATE):
                # json.dumps escapes both as \u0000 and \ud800, as a client's encoder would.
                content = json.dumps({name: bad}).encode()
                requests.append({"url": url, "content": content, "headers": {"content-type": "application/json"}})
        for request in requests:
            response = client.request(method.upper(), **request)
            errors = response.json().get("errors", []) if response.status_code == 422 else []
            if [kind, name] not in [e["loc"] for e in errors]:
                failures.append((method, path, kind, name, response.status_code, response.text[:200]))
    assert failures == []
    assert rows(session, AuditEvent) == 0
    assert rows(session, User) == 0


@pytest.fixture
def patient(app: FastAPI, session: Session) -> Patient:
    set_clock(app, session, START)
    return make_patient(session, app)


@pytest.fixture
def headers(app: FastAPI, session: Session, patient: Patient) -> dict[str, str]:
    return patient_auth(session, app, patient)


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"note": NUL}, ["body", "note"]),
        ({"note": SURROGATE}, ["body", "note"]),
        ({"medications": [{"class": "nsaid"}, {"class": "\x00"}]}, ["body", "medications", 1, "class"]),
        ({"symptoms": {"fe\x00ver": True}}, ["body", "symptoms", "fe\\u0000ver"]),
        ({"not\ud800here": 1}, ["body", "not\\ud800here"]),
    ],
)
def test_an_authenticated_write_with_unstorable_text_is_refused_and_nothing_is_written(
    client: TestClient,
    session: Session,
    patient: Patient,
    headers: dict[str, str],
    change: dict[str, Any],
    loc: list[Any],
) -> None:
    content = json.dumps(log_body() | change).encode()
    response = client.put(
        f"{ME}/pain-logs/{day(0)}", content=content, headers={**headers, "content-type": "application/json"}
    )
    assert_field_refused(response, loc)
    assert rows(session, PainLog) == 0
    assert rows(session, AuditEvent) == 0


def test_register_with_unstorable_text_creates_nobody(client: TestClient, session: Session) -> None:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": "x@example.org", "password": PASSWORD, "display_name": "A\x00", "invite_code": "ab\x00cd"},
    )
    assert_field_refused(response, ["body", "display_name"])
    assert_field_refused(response, ["body", "invite_code"])
    assert rows(session, User) == 0


def test_the_dashboard_login_form_refuses_nul(app: FastAPI, session: Session) -> None:
    make_clinician(session, app)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        response = web.post("/dashboard/login", data={"email": "a\x00@example.org", "password": "x", "csrf_token": "t"})
    assert_field_refused(response, ["body", "email"])
    assert rows(session, AuditEvent) == 0


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        ('{"back_pain": 3, "back_pain": 9, "client_updated_at": "%s"}', ["body", "back_pain"]),
        (
            '{"back_pain": 3, "client_updated_at": "%s", "medications": [{"class": "nsaid", "class": "opioid"}]}',
            ["body", "medications", 0, "class"],
        ),
        ('{"back_pain": 3, "client_updated_at": "%s", "symptoms": {"fever": false, "fever": true}}', None),
    ],
)
def test_duplicate_keys_are_refused_naming_the_key(
    client: TestClient, session: Session, patient: Patient, headers: dict[str, str], raw: str, loc: list[Any] | None
) -> None:
    response = client.put(
        f"{ME}/pain-logs/{day(0)}",
        content=(raw % START.isoformat()).encode(),
        headers={**headers, "content-type": "application/json"},
    )
    expected = loc or ["body", "symptoms", "fever"]
    assert_field_refused(response, expected)
    assert {"loc": expected, "msg": "duplicate key"} in response.json()["errors"]
    assert rows(session, PainLog) == 0


def test_duplicate_keys_in_an_admin_body_are_refused(client: TestClient, session: Session, app: FastAPI) -> None:
    # No token needed to see it: the document is refused before anything reads it.
    response = client.post(
        "/api/v1/admin/clinics", content=b'{"name": "A", "name": "B"}', headers={"content-type": "application/json"}
    )
    assert_field_refused(response, ["body", "name"])
    assert rows(session, Clinic) == 0
