"""The OpenAPI document generates clean clients, and a generated client works.

openapi-python-client (a pinned dev dependency) generates a client once per session
with ``--fail-on-warning``; the client then registers, logs in, answers STarT Back,
logs pain and reads the plan through an httpx transport that hands each request to
the app (the generated code imports ``httpx``; the app's TestClient speaks ``httpx2``).
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.exports.router import FhirBundle
from api.main import create_app
from tests.conftest import test_settings
from tests.factories import PASSWORD, auth, make_clinician, make_patient

CAMEL_CASE = re.compile(r"[a-z][a-zA-Z0-9]*")
PACKAGE = "backstep_generated_client"


@pytest.fixture(scope="session")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The document as served (no database is touched to build it)."""
    folder = tmp_path_factory.mktemp("openapi")
    app = create_app(test_settings(f"sqlite:///{folder / 'unused.db'}"))
    served: dict[str, Any] = app.openapi()
    app.state.engine.dispose()
    return served


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_operation_has_a_unique_camel_case_id(document: dict[str, Any]) -> None:
    ids = [operation.get("operationId", "") for _method, _path, operation in operations(document)]
    assert all(CAMEL_CASE.fullmatch(i) for i in ids), ids
    assert len(ids) == len(set(ids))
    assert document["paths"]["/api/v1/me/pain-logs/{log_date}"]["put"]["operationId"] == "putPainLog"


def test_every_schema_is_used_and_titles_are_unique(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    text = json.dumps(document["paths"]) + json.dumps(schemas)
    for name in schemas:
        assert f'"#/components/schemas/{name}"' in text, f"{name} is never referenced"
    titles = [schema.get("title", name) for name, schema in schemas.items()]
    assert len(titles) == len(set(titles))


def _reachable(document: dict[str, Any], roots: list[Any]) -> set[str]:
    schemas = document["components"]["schemas"]
    seen: set[str] = set()
    pending = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(roots))
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    return seen


def test_request_defaults_are_optional_and_response_fields_are_all_present(document: dict[str, Any]) -> None:
    ops = [operation for _m, _p, operation in operations(document)]
    sent = _reachable(document, [[o.get("requestBody"), o.get("parameters")] for o in ops])
    received = _reachable(document, [o["responses"] for o in ops])
    schemas = document["components"]["schemas"]
    assert {"PainLogWrite", "SymptomChecklist", "MeUpdate"} <= sent
    for name in sent:
        properties = schemas[name].get("properties", {})
        # openapi-typescript makes a property with a `default` required; a client may omit these.
        assert not [p for p, s in properties.items() if "default" in s], name
    write = schemas["PainLogWrite"]
    assert set(write["required"]) == {"back_pain", "client_updated_at"}
    assert "flare" in write["properties"]
    assert "required" not in schemas["SymptomChecklist"]
    for name in received - sent:
        schema = schemas[name]
        if schema.get("type") == "object" and "properties" in schema and not schema.get("additionalProperties"):
            assert set(schema.get("required", [])) == set(schema["properties"]), name


def test_the_fhir_export_is_a_typed_bundle(document: dict[str, Any]) -> None:
    response = document["paths"]["/api/v1/clinician/patients/{patient_id}/export.fhir"]["get"]["responses"]["200"]
    schema = response["content"]["application/fhir+json; fhirVersion=4.3"]["schema"]
    assert schema == {"$ref": "#/components/schemas/FhirBundle"}
    entry = document["components"]["schemas"]["FhirBundle"]["properties"]["entry"]
    assert entry["items"] == {"$ref": "#/components/schemas/FhirBundleEntry"}


def test_a_real_export_matches_the_bundle_schema(client: TestClient, app: FastAPI, session: Session) -> None:
    clinician = make_clinician(session, app)
    patient = make_patient(session, app, clinician)
    response = client.get(f"/api/v1/clinician/patients/{patient.id}/export.fhir", headers=auth(app, clinician))
    assert response.status_code == 200
    bundle = FhirBundle.model_validate_json(response.content)
    assert bundle.entry[0].resource.resourceType == "Patient"


@pytest.fixture(scope="session")
def generated(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate the client once; any warning of the generator fails the session's tests."""
    folder = tmp_path_factory.mktemp("client")
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(document))
    config = folder / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: nothing to fetch or find
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(folder / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    return folder


class AppTransport(httpx.BaseTransport):
    """Hands each request of the generated (httpx) client to the app through its TestClient."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reply = self.client.request(
            request.method, str(request.url), content=request.read(), headers=dict(request.headers)
        )
        return httpx.Response(reply.status_code, headers=list(reply.headers.multi_items()), content=reply.content)


@pytest.fixture
def api(generated: Path) -> Iterator[Any]:
    sys.path.insert(0, str(generated))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(generated))


def _module(package: Any, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_registers_logs_pain_and_reads_the_plan(api: Any, client: TestClient, now: datetime) -> None:
    models = _module(api, "models")
    transport = AppTransport(client)
    anonymous = api.Client(base_url="http://testserver", httpx_args={"transport": transport})
    email = "generated@example.org"
    registered = _module(api, "api.auth.register").sync_detailed(
        client=anonymous, body=models.RegisterRequest(email=email, password=PASSWORD, display_name="Gen")
    )
    assert registered.status_code == 201, registered.content
    tokens = _module(api, "api.auth.login").sync(
        client=anonymous, body=models.LoginRequest(email=email, password=PASSWORD)
    )
    assert isinstance(tokens, models.TokenPair)
    me = api.AuthenticatedClient(
        base_url="http://testserver", token=tokens.access_token, httpx_args={"transport": transport}
    )

    profile = _module(api, "api.me.update_me").sync(
        client=me, body=models.MeUpdate(patient=models.PatientUpdate(timezone="America/New_York"))
    )
    assert isinstance(profile, models.MePublic)
    assert profile.patient.timezone == "America/New_York"

    answers = {f"q{i}": i <= 5 for i in range(1, 9)} | {"q9": models.Bothersome("very_much")}
    screening = _module(api, "api.screenings.create_screening").sync(
        client=me,
        body=models.StartBackCreate(instrument="start_back", answers=models.StartBackAnswers(**answers)),
    )
    assert isinstance(screening, models.StartBackResultPublic), screening

    today = now.astimezone(ZoneInfo("America/New_York")).date()
    body = models.PainLogWrite(
        back_pain=6,
        client_updated_at=now - timedelta(minutes=1),
        medications=[models.Medication(class_=models.MedicationClass("nsaid"))],
    )
    put = _module(api, "api.pain_logs.put_pain_log")
    created = put.sync_detailed(today, client=me, body=body)
    assert created.status_code == 201, created.content
    assert isinstance(created.parsed, models.PainLogResponse)
    assert created.parsed.log.back_pain == 6
    assert created.parsed.log.flare is False  # the server's default, for a field the client left out
    assert created.parsed.log.medications[0].class_ == models.MedicationClass("nsaid")

    older = models.PainLogWrite(back_pain=2, client_updated_at=now - timedelta(minutes=5))
    stale = put.sync_detailed(today, client=me, body=older)
    assert stale.status_code == 409
    assert stale.parsed.additional_properties["log"]["medications"] == [{"class": "nsaid"}]

    plan = _module(api, "api.plan.get_my_plan").sync(client=me)
    assert isinstance(plan, models.PlanPublic), plan
    assert plan.level == 1
