"""Pure ASGI middleware: request id + access log, and the request body size cap.

Written as raw ASGI rather than ``BaseHTTPMiddleware`` because it sits on every
request of the ingestion hot path.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import anyio
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BodyTooLarge, Problem, problem_response
from api.observability.metrics import observe_request, route_label
from api.observability.tracing import annotate_request, annotate_route
from api.request_context import reset_request_id, set_request_id

_access_log = structlog.get_logger("api.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestContextMiddleware:
    """Assigns a request id (or keeps a sane incoming one) and logs one line per request.

    The log line has method, route template, status and duration: never bodies,
    query strings or anything that could identify a patient. The same go to the request
    metrics, and the request id onto the trace's server span.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = set_request_id(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        annotate_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                annotate_route(scope)  # routed by now; the server span ends with the body
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            _access_log.info(
                "request",
                method=scope.get("method"),
                route=route_label(scope),
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )
            observe_request(scope, status, seconds)
            annotate_route(scope)  # a crash skipped the response start; the span is still open
            structlog.contextvars.unbind_contextvars("request_id")
            reset_request_id(token)


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not response_started:
                await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(BodyTooLarge(self.max_bytes))(scope, receive, send)


class ConcurrencyLimitMiddleware:
    """Serves at most ``limit`` requests at once; the others wait on the event loop, for
    at most ``queue_seconds``, then get 503 ``server_busy`` with ``Retry-After``.

    Why: a sync dependency and a sync handler each take a hop onto anyio's worker
    threads (40 by default). A request that already holds a transaction (row locks, a
    pooled connection, SQLite's write lock) needs further hops to finish and commit; if
    every thread is taken by requests blocked on those same locks or waiting for a
    connection, nothing moves until a timeout (50 concurrent writes of one pain log did
    exactly that). Admitting fewer requests than there are threads, and no more than
    the database pool has connections, always leaves a thread and a connection for
    every admitted request. A waiting request holds neither.

    The wait is bounded because the client's is: an app that gives up after 30 s should
    hear "busy, retry" before that, not a dropped connection. The probes (``exempt``,
    ``/healthz`` and ``/readyz``) never queue: an orchestrator must see a process that is
    alive but saturated as alive, and ``/readyz`` bounds its own database check.
    """

    def __init__(self, app: ASGIApp, limit: int, queue_seconds: float, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.limit = limit
        self.queue_seconds = queue_seconds
        self.exempt = exempt
        self._semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.exempt:
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            self._semaphore = anyio.Semaphore(self.limit)
        admitted = False
        with anyio.move_on_after(self.queue_seconds):  # bounds the wait for a slot, not the request
            await self._semaphore.acquire()
            admitted = True
        if not admitted:
            await self._busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._semaphore.release()

    async def _busy(self, scope: Scope, receive: Receive, send: Send) -> None:
        _access_log.warning("request_queue_full", limit=self.limit, waited_seconds=self.queue_seconds)
        problem = Problem(
            503,
            "server_busy",
            "The service is busy; nothing was saved. Please retry.",
            headers={"Retry-After": "5"},
        )
        await problem_response(problem)(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope.get("headers") or []
    for key, value in headers:
        if key == name:
            return str(value.decode("latin-1"))
    return None
