"""A fake push provider on 127.0.0.1 speaking FCM HTTP v1 (with its OAuth2 token endpoint)
and the signed webhook, scripted to fail the first attempts per device token.

It checks what a real provider would: the service-account JWT on the token endpoint,
the bearer token on every FCM send, the HMAC signature and its freshness on every
webhook. It counts successful deliveries per message id, so tests can prove "nothing
lost, nothing sent twice". It binds an ephemeral port and shuts itself down after
``lifetime`` seconds if a test forgets to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

import jwt

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client killed mid-request (the crash tests do it on purpose) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Reply:
    """A scripted failure: HTTP status, optional Retry-After, optional FCM errorCode."""

    status: int
    retry_after: str | None = None
    fcm_error: str | None = None


@dataclass
class Received:
    channel: str  # fcm | webhook
    token: str
    message_id: str
    status: int


@dataclass
class FakePush:
    webhook_secret: str
    public_key_pem: bytes | None = None
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    lifetime: float = 120.0
    # "always": the token answers this forever (e.g. a dead token, a broken gateway).
    always: dict[str, Reply] = field(default_factory=dict)
    # Set: every push (FCM and webhook) is answered with this: a provider-wide outage.
    outage: Reply | None = None
    # Each push is answered after this long, so a test can stop the sender mid-batch.
    answer_delay: float = 0.0
    # Set once this many pushes were accepted in total (see ``delivered_event``).
    notify_after: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queues = {token: deque(replies) for token, replies in self.scripts.items()}
        self.delivered: Counter[str] = Counter()  # message id -> successful deliveries
        self.received: list[Received] = []
        self.token_fetches = 0
        self.rejected: list[str] = []
        self.delivered_event = threading.Event()
        self._issued: set[str] = set()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-push", daemon=True)
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/webhook"

    def start(self) -> FakePush:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakePush:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def script(self, token: str, *replies: Reply) -> None:
        """The next answers to pushes for ``token``; success once they are used up."""
        with self._lock:
            self._queues.setdefault(token, deque()).extend(replies)

    def always_answer(self, token: str, reply: Reply) -> None:
        with self._lock:
            self.always[token] = reply

    def attempts_for(self, token: str) -> int:
        with self._lock:
            return sum(1 for r in self.received if r.token == token)

    # --- behaviour -----------------------------------------------------------------

    def _next_reply(self, token: str) -> Reply | None:
        if self.answer_delay:
            time.sleep(self.answer_delay)
        with self._lock:
            if self.outage is not None:
                return self.outage
            if token in self.always:
                return self.always[token]
            queue = self._queues.get(token)
            return queue.popleft() if queue else None

    def _record(self, channel: str, token: str, message_id: str, status: int) -> None:
        with self._lock:
            self.received.append(Received(channel, token, message_id, status))
            if 200 <= status < 300:
                self.delivered[message_id] += 1
                if self.notify_after is not None and sum(self.delivered.values()) >= self.notify_after:
                    self.delivered_event.set()

    def _issue_token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        assertion = (form.get("assertion") or [""])[0]
        try:
            assert self.public_key_pem is not None
            # google-auth always addresses the assertion to Google's token endpoint.
            claims = jwt.decode(assertion, self.public_key_pem, algorithms=["RS256"], audience=GOOGLE_TOKEN_AUDIENCE)
            assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
        except (jwt.PyJWTError, AssertionError):
            return 400, {"error": "invalid_grant"}
        with self._lock:
            self.token_fetches += 1
            token = f"fake-access-{self.token_fetches}"
            self._issued.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def _fcm(self, headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        bearer = str(headers.get("Authorization", "")).removeprefix("Bearer ")
        if bearer not in self._issued:
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, {}
        message = body["message"]
        token, message_id = message["token"], message["data"]["message_id"]
        reply = self._next_reply(token)
        if reply is None:
            self._record("fcm", token, message_id, 200)
            return 200, {"name": f"projects/demo/messages/{message_id}"}, {}
        self._record("fcm", token, message_id, reply.status)
        error: dict[str, Any] = {"code": reply.status, "status": "UNAVAILABLE", "message": "scripted"}
        if reply.fcm_error:
            error["details"] = [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": reply.fcm_error}
            ]
        extra = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        return reply.status, {"error": error}, extra

    def _webhook(self, headers: Any, raw: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        if not self._signed(str(headers.get("X-Backstep-Signature", "")), raw):
            with self._lock:
                self.rejected.append(str(headers.get("Idempotency-Key")))
            return 401, {"error": "bad signature"}, {}
        body = json.loads(raw)
        token, message_id = body["token"], body["id"]
        assert headers.get("Idempotency-Key") == message_id
        reply = self._next_reply(token)
        if reply is None:
            self._record("webhook", token, message_id, 202)
            return 202, {"accepted": True}, {}
        self._record("webhook", token, message_id, reply.status)
        extra = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        return reply.status, {"error": "scripted"}, extra

    def _signed(self, header: str, raw: bytes) -> bool:
        """Verify independently of the code under test: HMAC-SHA256 over "<t>.<body>", fresh."""
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        if "t" not in parts or "v1" not in parts or abs(time.time() - int(parts["t"])) > 300:
            return False
        mac = hmac.new(self.webhook_secret.encode(), parts["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(mac, parts["v1"])

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out together, no 40 ms stall

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                if len(raw) < length:
                    # The client died mid-request (a killed dispatcher): like any real server,
                    # never act on half a body; the connection is simply gone.
                    self.close_connection = True
                    return
                extra: dict[str, str] = {}
                if self.path == "/token":
                    status, payload = fake._issue_token(parse_qs(raw.decode()))
                elif self.path.endswith("/messages:send"):
                    status, payload, extra = fake._fcm(self.headers, json.loads(raw))
                elif self.path == "/webhook":
                    status, payload, extra = fake._webhook(self.headers, raw)
                else:
                    status, payload = 404, {"error": "no such path"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler
