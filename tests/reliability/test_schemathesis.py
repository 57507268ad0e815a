"""Schemathesis over the whole OpenAPI document, every check on, two patients and two clinicians.

Every operation gets generated valid and invalid requests (Schemathesis 4, through the
ASGI app in-process), sent with the token of the role the route is for (patient A on
``/me`` and public routes, A's clinician on ``/clinician``, an admin on ``/admin``).
All built-in checks run: no 5xx, status codes / content types / headers / bodies as the
OpenAPI document declares them, invalid data rejected and valid data accepted, missing
auth refused, unsupported methods answered 405, and the rest.

Object-level authorisation: Schemathesis's own ``object_level_authorization`` check
compares identities of an ``[auth.wfc]`` provider, which an in-process pytest run does
not configure, so it is on but has nothing to compare. ``peers_cannot_reach`` below does
that job for this API: half the cases address A's real objects (their ids are put in
the path), and every request of A's that touched one of them is replayed as patient B
and as clinician 2 (outside A's care team): both must get 404, never the object, and a
replayed write must change nothing.

Runs on both backends. Examples are bounded (``MAX_EXAMPLES`` per operation) to keep it
around a minute per backend on the 2-core CI machine.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)
from sqlmodel import Session

from api.auth.passwords import password_problem
from api.inputs import storable
from api.main import create_app
from tests.conftest import test_settings
from tests.reliability.world import World, build_world

MAX_EXAMPLES = 12


@pytest.fixture
def world(app: FastAPI, session: Session) -> World:
    # Schemathesis runs the app's lifespan itself; a second one (a TestClient context)
    # would dispose the engine under it and strand a pooled connection.
    return build_world(app, TestClient(app), session)


# The document is the same whatever the database; requests go to each test's own app
# (``app=`` below). Schemathesis's lazy ``from_fixture`` loader does not run on pytest 9.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(test_settings("sqlite:///:memory:")))
# Query strings are open, as in most HTTP APIs (proxies and caches add their own
# parameters); request bodies are closed (unknown fields are 422). So no made-up
# query parameters are sent as "invalid" requests.
schema.config.generation.update(allow_extra_parameters=False)

# Why each excluded operation is left out (nothing else is):
EXCLUDED = {
    # Moving the application clock would expire every token of the run (tokens are
    # checked against it); tests/api covers the endpoint.
    ("PUT", "/api/v1/admin/test-clock"),
}

# Path parameters that name an object of patient A's, and where that id comes from.
OBJECT_IDS = {
    "patient_id": lambda w: w.patient_a_id,
    "alert_id": lambda w: w.alert_id,
    "session_id": lambda w: w.session_id,
    "notification_id": lambda w: w.notification_id,
    "device_id": lambda w: w.device_id,
}


def headers_for(path: str, world: World) -> dict[str, str]:
    if path.startswith("/api/v1/clinician/"):
        return world.c1
    if path.startswith("/api/v1/admin/"):
        return world.admin_headers
    return world.a


def _valid_but_refused_on_purpose(case: Any) -> str | None:
    """Why a schema-valid request may rightly be a 422: what the schema cannot say."""
    body = case.body if isinstance(case.body, dict) else {}
    patient = body.get("patient")
    nested: dict[str, Any] = patient if isinstance(patient, dict) else {}
    if set(body) & set(nested):
        return "a profile field given both flat and inside `patient` is refused: which one wins would be a guess"
    body = {**body, **nested}  # PATCH /me: the nested patient fields are checked like the flat ones
    if "cursor" in (case.query or {}):
        return "a cursor is opaque and minted by the server; a made-up one is refused"
    if "timezone" in body:
        return "a zone name is checked against the IANA database, which a JSON schema cannot list"
    if "locale" in body or "country" in body:
        return "a locale or clinic country must be one Backstep ships (its texts, its emergency numbers)"
    if case.path in NEW_PASSWORD and password_problem(str(body.get("password", ""))) is not None:
        return "a new password must not be a common one (NIST SP 800-63B), which a JSON schema cannot list"
    if not _storable(case.body) or not _storable(case.query) or not _storable(case.path_parameters):
        return "text the database cannot store (NUL, an unpaired surrogate) is refused on every route"
    if {"invite_code", "clinic_id", "clinician_id"} & set(body):
        return "invite codes, clinic and clinician ids must exist in the database"
    if {"episode_started_on", "birth_year"} & set(body):
        return "an episode cannot start in the future or before the patient's birth year"
    if any(k.lower() == "idempotency-key" for k in (case.headers or {})):
        return "reusing an Idempotency-Key for another body is refused by design"
    if case.path in ONE_FACTOR and (body.get("code") is None) == (body.get("recovery_code") is None):
        return "exactly one of `code` and `recovery_code` is given, which the schema does not state"
    if case.path in CLOCK_BOUND:
        return CLOCK_BOUND[case.path]
    if case.path in MESSAGE_PATHS and isinstance(body.get("body"), str) and not body["body"].strip():
        return "a message of only spaces or line breaks is refused: it says nothing"
    if case.path in MESSAGE_PATHS and "up_to_id" in body:
        return "up_to_id must name a message of this conversation"
    query = case.query or {}
    if case.path in OUTCOMES and ("clinic_id" in query or str(query.get("from")) > str(query.get("to"))):
        return "a period runs forward (`from` <= `to`), and a clinician's report is of their own patients (no clinic)"
    if _integral_float(case.body):
        return "integers are strict on purpose (1.0 is refused), where JSON Schema counts 1.0 as an integer"
    return None


NEW_PASSWORD = {"/api/v1/auth/register", "/api/v1/admin/clinicians"}
MESSAGE_PATHS = {
    "/api/v1/me/messages",
    "/api/v1/me/messages/read",
    "/api/v1/clinician/patients/{patient_id}/messages",
    "/api/v1/clinician/patients/{patient_id}/messages/read",
}
OUTCOMES = {"/api/v1/clinician/outcomes", "/api/v1/clinician/outcomes.csv"}
# A second factor is a TOTP code or a recovery code (api/auth/mfa.py), never both or neither.
ONE_FACTOR = {"/api/v1/auth/login/mfa", "/api/v1/me/mfa/totp"}


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _integral_float(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_integral_float(v) for v in value)
    return False


# Requests whose validity depends on the application clock (SPEC §2.3 date windows).
CLOCK_BOUND = {
    "/api/v1/me/pain-logs/{log_date}": "logs may be dated today or up to 30 days back; edit times at most 24 h ahead",
    "/api/v1/me/exercise-sessions": "sessions may be performed today or up to 30 days back, not in the future",
    "/api/v1/me/sync": "its items follow the same date windows as their own endpoints",
    "/api/v1/clinician/patients/{patient_id}/plan": "a level must exist in the patient's template",
}


def _coin(case: Any) -> bool:
    """Deterministic per generated case: address A's real objects in about half of them."""
    digest = hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).digest()
    return digest[0] % 2 == 0


def peers_cannot_reach(app: FastAPI, world: World) -> Any:
    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        names = set(case.path_parameters or {}) & set(OBJECT_IDS)
        if not names or not 200 <= response.status_code < 300:
            return None
        if any(str(case.path_parameters[n]) != str(OBJECT_IDS[n](world)) for n in names):
            return None
        path = case.formatted_path
        if path.startswith("/api/v1/admin/"):
            return None  # admin routes are refused by role (403) to every patient and clinician: test_access
        peer = world.c2 if path.startswith("/api/v1/clinician/") else world.b
        replay = case.call(headers=peer, app=app)
        assert replay.status_code == 404, (
            f"{case.method} {path} answered {replay.status_code} to someone outside patient A's care"
        )
        return True

    check.__name__ = "peers_cannot_reach"
    return check


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, app: FastAPI, world: World) -> None:
    if (case.method, case.path) in EXCLUDED:
        return
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive:  # an invalid request keeps its invalid ids
        for name in set(case.path_parameters or {}) & set(OBJECT_IDS):
            if _coin(case):
                case.path_parameters[name] = OBJECT_IDS[name](world)
    excluded = []
    if positive and _valid_but_refused_on_purpose(case):
        excluded.append(positive_data_acceptance)
    if case.path == "/api/v1/me/sync":
        # One bad item never rejects the batch (SPEC §2.3): it is answered `rejected`
        # inside a 200, with the same errors its own endpoint gives (tests/capture).
        excluded.append(negative_data_rejection)
    case.call_and_validate(
        headers=headers_for(case.path, world),
        app=app,
        additional_checks=[peers_cannot_reach(app, world)],
        excluded_checks=excluded,
    )
