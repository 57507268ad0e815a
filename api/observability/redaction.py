"""The exporter wrapper that keeps free text that can quote patient data out of traces."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

_FREE_TEXT_EVENT_ATTRIBUTES = frozenset({"exception.message", "exception.stacktrace", "exception.escaped"})


class RedactingExporter(SpanExporter):
    """Exports spans without the free text that can quote patient data: a status
    description (a database error's message quotes the offending row, e.g. ``Key
    (email)=(…) already exists``) and an exception's message and stack trace (its last
    line is the message). The status code and the exception type stay."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self._inner.export([_redacted(span) for span in spans])

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _redacted(span: ReadableSpan) -> ReadableSpan:
    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k not in _FREE_TEXT_EVENT_ATTRIBUTES},
            event.timestamp,
        )
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
