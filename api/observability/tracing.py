"""OpenTelemetry tracing, opt-in through the standard ``OTEL_*`` variables.

Off unless ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or an
OTLP endpoint is set (``OTEL_EXPORTER_OTLP_ENDPOINT``/``…_TRACES_ENDPOINT``, which then
implies ``otlp``); ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it
off whatever else is set. Everything else (sampler, batch sizes, headers, resource
attributes) is the SDK's own reading of its variables. OTLP goes over HTTP/protobuf.

Spans: the FastAPI server span of each request (not the health probes), a child span
per SQL statement, one per push provider call (httpx2, through the instrumentation's
own ``HTTPX2ClientInstrumentor``), and one per scheduled job run.

No PHI in attributes: SQL spans carry the statement text with its placeholders and
never the parameters (the SQLAlchemy instrumentation does not record them and the
SQL commenter stays off); a request's span gets the request id and the route template,
and its URL, target and query attributes are rewritten to the template, because a raw
path holds patient ids and a query string may hold anything a client typed. Every
exporter is wrapped in ``redaction.RedactingExporter``, which drops status descriptions and
exception messages (free text that can quote a row).
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from api.observability.metrics import route_label

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from sqlalchemy import Engine

# The SDK and the instrumentations are imported only when tracing is on (over a second
# of start-up otherwise spent on every process, the CLI's included).

TRACER_NAME = "backstep"
REQUEST_ID_ATTRIBUTE = "backstep.request_id"
_EXCLUDED_URLS = "/healthz,/readyz"
# Attributes of the server span that hold the raw path or query (old and new semantic conventions).
_URL_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.path")
_QUERY_ATTRIBUTES = ("url.query",)


def tracing_requested(environ: dict[str, str] | None = None) -> list[str]:
    """The span exporters the ``OTEL_*`` variables ask for; empty: tracing is off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",") if name.strip()]
    if not named and (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        named = ["otlp"]
    return [] if "none" in named else named


def _exporter(name: str) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    if name == "otlp":
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol != "http/protobuf":
            raise ValueError(f"OTLP protocol {protocol!r} is not installed: use http/protobuf")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # only when asked

        return OTLPSpanExporter()
    if name == "console":
        return ConsoleSpanExporter()
    raise ValueError(f"unknown OTEL_TRACES_EXPORTER {name!r}: use otlp, console or none")


@cache
def provider_from_env() -> TracerProvider | None:
    """The process's tracer provider (made global, flushed at exit), or None when tracing is off."""
    exporters = tracing_requested()
    if not exporters:
        return None
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from api.observability.redaction import RedactingExporter

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or TRACER_NAME})
    provider = TracerProvider(resource=resource)
    for name in exporters:
        provider.add_span_processor(BatchSpanProcessor(RedactingExporter(_exporter(name))))
    trace.set_tracer_provider(provider)
    HTTPX2ClientInstrumentor().instrument(tracer_provider=provider)  # the push providers' client
    atexit.register(provider.shutdown)
    return provider


def instrument_app(app: FastAPI, engines: list[Engine], provider: TracerProvider) -> None:
    """Server spans for ``app``'s requests and child spans for the statements on ``engines``."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, excluded_urls=_EXCLUDED_URLS, exclude_spans=["receive", "send"]
    )
    instrument_engine(engines, provider)


def instrument_engine(engines: list[Engine], provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy", tracer_provider=provider)
    usage = metrics.get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
        "db.client.connections.usage", unit="connections", description="connections by state"
    )  # the SDK's meter is not set up (metrics are Prometheus'), so this is a no-op
    for engine in engines:
        # The instrumentor's own engine tracer, per engine (its singleton instrument() is
        # once per process); no SQL commenter, so statements keep their text and caching.
        EngineTracer(tracer, engine, connections_usage=usage, enable_commenter=False)  # type: ignore[no-untyped-call]


def annotate_request(request_id: str) -> None:
    """The request id on the current server span (a no-op when tracing is off)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def annotate_route(scope: Mapping[str, Any]) -> None:
    """The route template in place of the raw URL, path and query on the current server span."""
    span = trace.get_current_span()
    if not span.is_recording():
        return
    template = route_label(scope)
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, template)
    for name in _QUERY_ATTRIBUTES:
        span.set_attribute(name, "")


def job_tracer() -> trace.Tracer:
    """Spans of scheduled job runs (a no-op tracer when tracing is off)."""
    return trace.get_tracer(TRACER_NAME)
