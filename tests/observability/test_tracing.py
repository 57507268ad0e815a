"""Traces: a request's server span with its database spans as children, the request id
on it, and nothing that identifies a patient in any attribute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlmodel import Session

from api.config import Settings
from api.jobs import JobContext, run_job
from api.main import create_app
from api.observability.redaction import RedactingExporter
from api.observability.tracing import (
    REQUEST_ID_ATTRIBUTE,
    instrument_app,
    instrument_engine,
    tracing_requested,
)
from tests.conftest import open_session
from tests.factories import PASSWORD, auth, make_clinician, make_patient, patient_user

ROOT = Path(__file__).resolve().parent.parent.parent
ROUTE = "/api/v1/clinician/patients/{patient_id}"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(exporter)))  # as in production
    yield tracer_provider
    tracer_provider.shutdown()


@pytest.fixture
def traced(settings: Settings, provider: TracerProvider) -> Iterator[TestClient]:
    app = create_app(settings)
    instrument_app(app, [app.state.engine], provider)
    with TestClient(app) as client:
        yield client


def statement(span: ReadableSpan) -> str | None:
    attributes = span.attributes or {}
    text = attributes.get("db.statement") or attributes.get("db.query.text")
    return str(text) if text is not None else None


def ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[int]:
    chain = []
    parent = span.parent
    while parent is not None:
        chain.append(parent.span_id)
        found = by_id.get(parent.span_id)
        parent = found.parent if found is not None else None
    return chain


def all_attribute_text(spans: tuple[ReadableSpan, ...]) -> str:
    return json.dumps([{**(s.attributes or {}), "name": s.name} for s in spans], default=str)


def test_a_traced_request_shows_its_database_spans_as_children(
    traced: TestClient, exporter: InMemorySpanExporter
) -> None:
    app = traced.app
    with open_session(app.state.engine) as session:  # type: ignore[attr-defined]
        clinician = make_clinician(session, app)  # type: ignore[arg-type]
        patient = make_patient(session, app, clinician, name="Zelda Quarrington")  # type: ignore[arg-type]
        headers = auth(app, clinician)  # type: ignore[arg-type]
    exporter.clear()

    response = traced.get(f"/api/v1/clinician/patients/{patient.id}?note=sciatica", headers=headers)
    assert response.status_code == 200

    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    attributes = server.attributes or {}
    assert attributes["http.route"] == ROUTE
    assert attributes[REQUEST_ID_ATTRIBUTE] == response.headers["x-request-id"]
    by_id = {s.context.span_id: s for s in spans}
    queries = [s for s in spans if statement(s) is not None]
    assert len(queries) >= 3  # the caller, the care-team check, the summary's reads
    for query in queries:
        assert query.context.trace_id == server.context.trace_id
        assert server.context.span_id in ancestors(query, by_id)
    # The raw path (a patient id) and the query string are not kept: the template is.
    for name in ("http.url", "url.full", "http.target", "url.path"):
        if name in attributes:
            assert attributes[name] == ROUTE
    text = all_attribute_text(spans)
    assert "sciatica" not in text and "Zelda" not in text
    assert f"/patients/{patient.id}" not in text


def test_sql_spans_carry_placeholders_never_the_values(
    traced: TestClient, exporter: InMemorySpanExporter, settings: Settings
) -> None:
    app = traced.app
    with open_session(app.state.engine) as session:  # type: ignore[attr-defined]
        user = patient_user(session, make_patient(session, app, name="Zelda Quarrington"))  # type: ignore[arg-type]
    exporter.clear()
    response = traced.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    statements = [text for s in spans if (text := statement(s)) is not None]
    assert any("email" in text.lower() for text in statements)  # the account was looked up by e-mail...
    text = all_attribute_text(spans)
    assert user.email not in text and PASSWORD not in text  # ...without the address or the password
    placeholder = "?" if settings.is_sqlite else "%("
    assert all(placeholder in text for text in statements if " WHERE " in text.upper())


def test_unmatched_routes_and_health_probes(traced: TestClient, exporter: InMemorySpanExporter) -> None:
    traced.get("/healthz")
    traced.get("/readyz")
    assert [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER] == []  # probes are not traced
    traced.get("/api/v1/no/such/route/12345?email=someone@example.org")
    [server] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    text = all_attribute_text((server,))
    assert "12345" not in text and "someone" not in text


def test_a_job_run_is_a_span_with_its_statements_inside(
    settings: Settings, provider: TracerProvider, exporter: InMemorySpanExporter, session: Session, app: object
) -> None:
    from opentelemetry import trace

    engine = app.state.engine  # type: ignore[attr-defined]
    instrument_engine([engine], provider)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("scheduler tick") as tick:
        run_job("reminders", JobContext(engine, settings, app.state.clock))  # type: ignore[attr-defined]
    spans = exporter.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    queries = [s for s in spans if statement(s) is not None]
    assert queries
    assert all(tick.get_span_context().span_id in ancestors(q, by_id) for q in queries)
    assert trace.get_current_span() is trace.INVALID_SPAN


def test_httpx2_push_calls_are_client_spans(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    # opentelemetry-instrumentation-httpx ships an instrumentor for httpx2 itself.
    client = httpx2.Client(transport=httpx2.MockTransport(lambda _request: httpx2.Response(204)))
    # Typed for httpx's Client, works on httpx2's (the instrumentor's own httpx2 support).
    HTTPX2ClientInstrumentor.instrument_client(client, tracer_provider=provider)  # type: ignore[arg-type]
    with provider.get_tracer("test").start_as_current_span("deliveries") as parent:
        assert client.post("https://push.example/hook", json={"title": "How is your back?"}).status_code == 204
    client.close()
    [call] = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.CLIENT]
    assert call.parent is not None and call.parent.span_id == parent.get_span_context().span_id
    attributes = call.attributes or {}
    assert (attributes.get("http.request.method") or attributes.get("http.method")) == "POST"
    assert "How is your back" not in all_attribute_text((call,))


def test_error_text_that_can_quote_a_row_is_not_exported(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with provider.get_tracer("test").start_as_current_span("INSERT") as span:
        span.set_status(StatusCode.ERROR, "duplicate key: Key (email)=(zelda@example.org) already exists")
        span.record_exception(ValueError("zelda@example.org is taken"))
    [exported] = exporter.get_finished_spans()
    assert exported.status.status_code is StatusCode.ERROR and not exported.status.description
    [event] = exported.events
    assert dict(event.attributes or {}) == {"exception.type": "ValueError"}
    assert "zelda" not in all_attribute_text((exported,))


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console,otlp"}, ["console", "otlp"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_tracing_is_opt_in_through_the_otel_variables(environ: dict[str, str], exporters: list[str]) -> None:
    assert tracing_requested(environ) == exporters


_SCRIPT = """
import json, sys
import httpx2
from fastapi.testclient import TestClient
from opentelemetry import trace
from api.main import create_app
from api.migrations import upgrade
from tests.conftest import test_settings

settings = test_settings(sys.argv[1])
upgrade(settings)
app = create_app(settings)
with TestClient(app) as client:
    client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
with httpx2.Client(transport=httpx2.HTTPTransport()) as push:
    try:
        push.get("http://127.0.0.1:9/unreachable")
    except httpx2.HTTPError:
        pass
print("PROVIDER", type(trace.get_tracer_provider()).__name__, flush=True)
"""


def run_script(tmp_path: Path, **environ: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(environ, PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-c", _SCRIPT, f"sqlite:///{tmp_path / 'traced.db'}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.slow
def test_the_environment_turns_tracing_on_for_requests_sql_and_httpx2(tmp_path: Path) -> None:
    assert "PROVIDER ProxyTracerProvider" in run_script(tmp_path)  # unset: off, nothing exported
    output = run_script(tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="backstep-test")
    assert "PROVIDER TracerProvider" in output
    assert '"kind": "SpanKind.SERVER"' in output  # the request
    assert '"db.system' in output  # its statements
    assert '"kind": "SpanKind.CLIENT"' in output  # the httpx2 call
    assert '"service.name": "backstep-test"' in output
