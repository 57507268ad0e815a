"""The generic webhook provider: a signed JSON POST to the clinic's push gateway.

Signature (Stripe-style, so receivers can verify and refuse replays)::

    X-Backstep-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

Receivers recompute the HMAC over the raw body, compare in constant time and refuse a
timestamp older than a few minutes (``verify_signature`` does all three).
``Idempotency-Key`` and the body's ``id`` are the same on every retry of a delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx2

from api.clock import system_now
from api.delivery.backoff import parse_retry_after
from api.delivery.messages import PushMessage, SendResult

SIGNATURE_HEADER = "X-Backstep-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(
    secret: str, header: str | None, body: bytes, now_ts: int, tolerance: int = DEFAULT_TOLERANCE_SECONDS
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is fresh (for receivers and tests)."""
    if not header:
        return False
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now_ts - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhook_body(message: PushMessage) -> bytes:
    return json.dumps(
        {
            "id": message.message_id,
            "delivery_id": message.delivery_id,
            "notification_id": message.notification_id,
            "token": message.token,
            "kind": message.kind,
            "title": message.title,
            "body": message.body,
            "safety": message.safety,
            "created_at": message.created_at.isoformat(),
        },
        separators=(",", ":"),
    ).encode()


class WebhookNotifier:
    def __init__(self, client: httpx2.Client, url: str, secret: str) -> None:
        self._client = client
        self._url = url
        self._secret = secret

    @property
    def platform(self) -> str:
        return "webhook"

    def send(self, message: PushMessage) -> SendResult:
        body = webhook_body(message)
        # Real wall-clock seconds: receivers check freshness against their own clock.
        timestamp = int(system_now().timestamp())
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            "Idempotency-Key": message.message_id,
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            return SendResult.retry(f"webhook unreachable: {type(exc).__name__}")
        return classify_webhook(response)


def classify_webhook(response: httpx2.Response) -> SendResult:
    code = response.status_code
    if 200 <= code < 300:
        return SendResult.sent()
    if code == 410:
        return SendResult.gone("webhook 410 Gone: recipient no longer exists")
    if code in (408, 425, 429) or code >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After"), response.headers.get("Date"), system_now())
        return SendResult.retry(f"webhook HTTP {code}", wait)
    return SendResult.failed(f"webhook refused the message: HTTP {code}")
