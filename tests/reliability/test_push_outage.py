"""The push gateway down for a while: everything is delivered once it is back (SPEC §4).

A signed-webhook gateway on a fixed 127.0.0.1 port is down (connection refused) for
several delivery ticks, then answers 503 for a while, then comes back. Every message is
retried with backoff, none is dead-lettered, and once the gateway is up each one
arrives exactly once (the receiver counts message ids), every delivery row ``sent``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.config import Settings
from api.delivery.dispatcher import deliver_due
from api.delivery.webhook import SIGNATURE_HEADER, verify_signature
from api.models import Delivery, DevicePlatform, NotificationKind
from api.notifications.devices import register_device
from api.notifications.service import NotificationDraft, enqueue_notifications
from tests.factories import make_patient, patient_user
from tests.reminders.helpers import fresh, set_clock, utc

T0 = utc(2026, 6, 8, 12, 0)  # 13:00 in London: outside quiet hours
SECRET = "outage-test-webhook-secret-0123456789"
MESSAGES = 24


@contextmanager
def gateway(port: int, status: int, received: Counter[str]) -> Iterator[None]:
    """A webhook receiver on ``port`` answering ``status``; 2xx answers count the message id."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify_signature(SECRET, self.headers.get(SIGNATURE_HEADER), raw, int(time.time()))
            code = status if signed else 401
            if code < 300:
                received[json.loads(raw)["id"]] += 1
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def test_messages_queued_while_the_gateway_is_down_are_all_delivered_once_it_returns(
    app: FastAPI, session: Session, engine: Engine, database_url: str, settings: Settings
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    push = settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/webhook",
            "webhook_secret": SECRET,
            "delivery_backoff_base_seconds": 30.0,
            "delivery_backoff_max_seconds": 600.0,
            "delivery_timeout_seconds": 2.0,
        }
    )
    set_clock(app, session, T0)
    drafts = []
    for n in range(MESSAGES // 4):
        user = patient_user(session, make_patient(session, app))
        assert user.id is not None
        register_device(session, user.id, DevicePlatform.WEBHOOK, f"device-{n}", T0)
        drafts += [
            NotificationDraft(user_id=user.id, kind=NotificationKind.NUDGE, title="Hello", body=f"message {k}")
            for k in range(4)
        ]
    enqueue_notifications(session, drafts, T0)
    session.commit()

    received: Counter[str] = Counter()
    at = T0
    for _ in range(3):  # down: nothing listens on the port
        result = deliver_due(engine, push, at)
        assert result["sent"] == 0 and result["dead"] == 0
        at += timedelta(hours=1)  # past any backoff, so every row is due again
    with gateway(port, 503, received):  # up but failing
        result = deliver_due(engine, push, at)
        assert result["sent"] == 0 and result["retry"] == MESSAGES
        at += timedelta(hours=1)
    assert sum(received.values()) == 0
    with gateway(port, 202, received):  # back
        result = deliver_due(engine, push, at)
        assert deliver_due(engine, push, at + timedelta(hours=1))["sent"] == 0
    assert result["sent"] == MESSAGES and result["dead"] == 0
    assert len(received) == MESSAGES and set(received.values()) == {1}
    rows = fresh(session).exec(select(Delivery)).all()
    assert {row.status for row in rows} == {"sent"}
    assert {row.attempts for row in rows} == {5}  # three refused, one 503, one accepted
    assert {f"backstep-delivery-{row.id}" for row in rows} == set(received)
