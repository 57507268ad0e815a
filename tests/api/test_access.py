"""Access control over every route the app has, found by walking the router.

New routes are covered automatically: a protected route without a token is 401, a
patient on clinician/admin routes is 403, and a clinician outside the care team is
404 on every patient-scoped route.
"""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import auth, make_admin, make_clinician, make_patient, patient_auth

PUBLIC = {
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
    # The login's second step: the body's mfa_token proves the password (api/auth/mfa.py).
    "/api/v1/auth/login/mfa",
    "/api/v1/auth/login/mfa/enrol",
    "/api/v1/auth/login/mfa/confirm",
}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) of the v1 API, from the OpenAPI document the app serves."""
    paths = app.openapi()["paths"]
    return [
        (method.upper(), path)
        for path, item in sorted(paths.items())
        if path.startswith("/api/v1/")
        for method in sorted(item)
    ]


def concrete(path: str, patient_id: int = 1) -> str:
    path = path.replace("{patient_id}", str(patient_id))
    path = path.replace("{log_date}", "2026-01-01")
    return re.sub(r"\{[^}]+\}", "1", path)


def call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    response = client.request(method, path, headers=headers or {}, json={})
    return response.status_code


def test_the_router_has_routes_to_check(app: FastAPI) -> None:
    assert len(api_routes(app)) > 8


def test_every_protected_route_answers_401_without_a_token(client: TestClient, app: FastAPI) -> None:
    for method, path in api_routes(app):
        if path in PUBLIC:
            continue
        response = client.request(method, concrete(path), json={})
        assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
        assert response.headers["content-type"] == "application/problem+json"


def test_a_patient_gets_403_on_clinician_and_admin_routes(client: TestClient, app: FastAPI, session: Session) -> None:
    headers = patient_auth(session, app, make_patient(session, app))
    checked = 0
    for method, path in api_routes(app):
        if path.startswith(("/api/v1/clinician/", "/api/v1/admin/")):
            assert call(client, method, concrete(path), headers) == 403, f"{method} {path}"
            checked += 1
    assert checked >= 3


# The outcomes report is for clinicians (their patients) and admins (a clinic they name);
# its own access rules are tested in tests/outcomes/test_api.py.
STAFF_ROUTES = {"/api/v1/clinician/outcomes", "/api/v1/clinician/outcomes.csv"}


def test_a_clinician_gets_403_on_admin_routes_and_an_admin_on_clinician_routes(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    clinician_headers = auth(app, make_clinician(session, app))
    admin_headers = auth(app, make_admin(session, app))
    for method, path in api_routes(app):
        if path.startswith("/api/v1/admin/"):
            assert call(client, method, concrete(path), clinician_headers) == 403, f"{method} {path}"
        if path.startswith("/api/v1/clinician/") and path not in STAFF_ROUTES:
            assert call(client, method, concrete(path), admin_headers) == 403, f"{method} {path}"


def test_a_clinician_outside_the_care_team_gets_404_on_every_patient_route(
    client: TestClient, app: FastAPI, session: Session
) -> None:
    own = make_clinician(session, app, name="Own")
    outsider = make_clinician(session, app, name="Outsider")
    patient = make_patient(session, app, own)
    assert patient.id is not None
    # Admin routes naming a patient are not care-team scoped: every clinician gets 403 there (above).
    scoped = [(m, p) for m, p in api_routes(app) if "{patient_id}" in p and not p.startswith("/api/v1/admin/")]
    assert len(scoped) >= 3
    for method, path in scoped:
        status = call(client, method, concrete(path, patient.id), auth(app, outsider))
        assert status == 404, f"{method} {path} answered {status} to an outsider"
        missing = call(client, method, concrete(path, patient.id + 1000), auth(app, own))
        assert missing == 404, f"{method} {path} answered {missing} for an unknown patient"
