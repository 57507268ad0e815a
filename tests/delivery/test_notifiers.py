"""The FCM and webhook notifiers against httpx2.MockTransport: payloads, signatures, the
access-token cache, and how every provider answer is classified."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from api.delivery.fcm import FcmNotifier
from api.delivery.messages import Outcome, PushMessage
from api.delivery.webhook import SIGNATURE_HEADER, WebhookNotifier, sign, verify_signature
from tests.delivery.conftest import WEBHOOK_SECRET, ServiceAccountKey, write_service_account

MESSAGE = PushMessage(
    delivery_id=41,
    notification_id=7,
    token="device-token",
    kind="daily_log_reminder",
    title="How is your back today?",
    body="Take a minute to log today's pain.",
    safety=False,
    created_at=datetime(2026, 6, 8, 19, 0, tzinfo=UTC),
)
Handler = Callable[[httpx2.Request], httpx2.Response]


def client_for(handler: Handler) -> httpx2.Client:
    return httpx2.Client(transport=httpx2.MockTransport(handler), timeout=5.0)


# --- webhook -----------------------------------------------------------------------------


def test_webhook_posts_signed_json_with_a_stable_idempotency_key() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(202)

    result = WebhookNotifier(client_for(handler), "https://gw.test/push", WEBHOOK_SECRET).send(MESSAGE)
    assert result.outcome is Outcome.SENT
    [request] = seen
    body = request.content
    assert verify_signature(WEBHOOK_SECRET, request.headers[SIGNATURE_HEADER], body, int(time.time()))
    assert not verify_signature("other-secret", request.headers[SIGNATURE_HEADER], body, int(time.time()))
    assert not verify_signature(WEBHOOK_SECRET, request.headers[SIGNATURE_HEADER], body + b" ", int(time.time()))
    assert request.headers["Idempotency-Key"] == "backstep-delivery-41"
    payload = json.loads(body)
    assert payload == {
        "id": "backstep-delivery-41",
        "delivery_id": 41,
        "notification_id": 7,
        "token": "device-token",
        "kind": "daily_log_reminder",
        "title": MESSAGE.title,
        "body": MESSAGE.body,
        "safety": False,
        "created_at": "2026-06-08T19:00:00+00:00",
    }


def test_a_replayed_old_signature_is_refused() -> None:
    header = sign(WEBHOOK_SECRET, 1_000_000, b"{}")
    assert verify_signature(WEBHOOK_SECRET, header, b"{}", 1_000_100)
    assert not verify_signature(WEBHOOK_SECRET, header, b"{}", 1_000_000 + 301)
    assert not verify_signature(WEBHOOK_SECRET, "garbage", b"{}", 1_000_000)
    assert not verify_signature(WEBHOOK_SECRET, None, b"{}", 1_000_000)


@pytest.mark.parametrize(
    ("response", "outcome", "retry_after"),
    [
        (httpx2.Response(200), Outcome.SENT, None),
        (httpx2.Response(410), Outcome.GONE, None),
        (httpx2.Response(500), Outcome.RETRY, None),
        (httpx2.Response(503, headers={"Retry-After": "30"}), Outcome.RETRY, 30.0),
        (
            httpx2.Response(
                429,
                headers={"Retry-After": "Mon, 08 Jun 2026 12:02:00 GMT", "Date": "Mon, 08 Jun 2026 12:00:00 GMT"},
            ),
            Outcome.RETRY,
            120.0,
        ),
        (httpx2.Response(400), Outcome.FAILED, None),
        (httpx2.Response(401), Outcome.FAILED, None),
    ],
)
def test_webhook_answers_are_classified(response: httpx2.Response, outcome: Outcome, retry_after: float | None) -> None:
    result = WebhookNotifier(client_for(lambda _r: response), "https://gw.test/push", WEBHOOK_SECRET).send(MESSAGE)
    assert (result.outcome, result.retry_after) == (outcome, retry_after)


def test_webhook_network_trouble_is_retried() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectTimeout("timed out", request=request)

    result = WebhookNotifier(client_for(handler), "https://gw.test/push", WEBHOOK_SECRET).send(MESSAGE)
    assert result.outcome is Outcome.RETRY and "ConnectTimeout" in result.detail


# --- FCM --------------------------------------------------------------------------------------


class FakeGoogle:
    """The token endpoint and FCM, in memory."""

    def __init__(self, send: Handler) -> None:
        self.token_fetches = 0
        self.sent: list[httpx2.Request] = []
        self._send = send

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/token":
            self.token_fetches += 1
            assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in request.content
            return httpx2.Response(200, json={"access_token": f"at-{self.token_fetches}", "expires_in": 3600})
        assert request.url.path == "/v1/projects/demo/messages:send"
        self.sent.append(request)
        return self._send(request)


def fcm(tmp_path: Path, key: ServiceAccountKey, google: FakeGoogle) -> FcmNotifier:
    credentials = write_service_account(tmp_path, key, "https://oauth2.test/token")
    return FcmNotifier(client_for(google), "demo", credentials, "https://fcm.test")


def fcm_error(status: int, code: str | None, **headers: str) -> httpx2.Response:
    error: dict[str, object] = {"code": status, "status": "X"}
    if code:
        error["details"] = [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}]
    return httpx2.Response(status, json={"error": error}, headers=headers)


def test_fcm_sends_one_request_per_message_with_a_cached_token(
    tmp_path: Path, service_account_key: ServiceAccountKey
) -> None:
    google = FakeGoogle(lambda _r: httpx2.Response(200, json={"name": "projects/demo/messages/1"}))
    notifier = fcm(tmp_path, service_account_key, google)
    for _ in range(3):
        assert notifier.send(MESSAGE).outcome is Outcome.SENT
    assert google.token_fetches == 1 and len(google.sent) == 3
    request = google.sent[0]
    assert request.headers["Authorization"] == "Bearer at-1"
    assert json.loads(request.content) == {
        "message": {
            "token": "device-token",
            "notification": {"title": MESSAGE.title, "body": MESSAGE.body},
            "data": {
                "message_id": "backstep-delivery-41",
                "notification_id": "7",
                "delivery_id": "41",
                "kind": "daily_log_reminder",
            },
            "android": {"priority": "NORMAL"},
            "apns": {"headers": {"apns-priority": "5"}},
        }
    }


def test_a_refused_access_token_is_fetched_again(tmp_path: Path, service_account_key: ServiceAccountKey) -> None:
    answers = iter([httpx2.Response(401, json={"error": {"status": "UNAUTHENTICATED"}}), httpx2.Response(200)])
    google = FakeGoogle(lambda _r: next(answers))
    notifier = fcm(tmp_path, service_account_key, google)
    assert notifier.send(MESSAGE).outcome is Outcome.RETRY
    assert notifier.send(MESSAGE).outcome is Outcome.SENT
    assert google.token_fetches == 2
    assert google.sent[1].headers["Authorization"] == "Bearer at-2"


@pytest.mark.parametrize(
    ("response", "outcome", "retry_after"),
    [
        (fcm_error(404, "UNREGISTERED"), Outcome.GONE, None),
        (fcm_error(403, "SENDER_ID_MISMATCH"), Outcome.GONE, None),
        (fcm_error(400, "INVALID_ARGUMENT"), Outcome.FAILED, None),
        (fcm_error(429, "QUOTA_EXCEEDED", **{"Retry-After": "60"}), Outcome.RETRY, 60.0),
        (fcm_error(503, "UNAVAILABLE"), Outcome.RETRY, None),
        (fcm_error(500, "INTERNAL"), Outcome.RETRY, None),
        (httpx2.Response(502, text="<html>bad gateway</html>"), Outcome.RETRY, None),
    ],
)
def test_fcm_answers_are_classified(
    tmp_path: Path,
    service_account_key: ServiceAccountKey,
    response: httpx2.Response,
    outcome: Outcome,
    retry_after: float | None,
) -> None:
    result = fcm(tmp_path, service_account_key, FakeGoogle(lambda _r: response)).send(MESSAGE)
    assert (result.outcome, result.retry_after) == (outcome, retry_after)


def test_safety_messages_are_high_priority(tmp_path: Path, service_account_key: ServiceAccountKey) -> None:
    google = FakeGoogle(lambda _r: httpx2.Response(200))
    fcm(tmp_path, service_account_key, google).send(dataclasses.replace(MESSAGE, safety=True))
    message = json.loads(google.sent[0].content)["message"]
    assert message["android"] == {"priority": "HIGH"} and message["apns"]["headers"]["apns-priority"] == "10"


def test_an_unreachable_token_endpoint_is_retried(tmp_path: Path, service_account_key: ServiceAccountKey) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/token":
            return httpx2.Response(400, json={"error": "invalid_grant"})
        raise AssertionError("no send without a token")

    credentials = write_service_account(tmp_path, service_account_key, "https://oauth2.test/token")
    notifier = FcmNotifier(client_for(handler), "demo", credentials, "https://fcm.test")
    result = notifier.send(MESSAGE)
    assert result.outcome is Outcome.RETRY and "access token" in result.detail
