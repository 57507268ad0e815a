"""Firebase Cloud Messaging HTTP v1: one authenticated POST per message.

The OAuth2 access token comes from a service account (google-auth, scope
``firebase.messaging``) and is cached until shortly before it expires; google-auth
talks to the token endpoint through the same shared ``httpx2`` client as the pushes.
The payload carries the title and body only, plus ids for de-duplication and the
kind for the app's routing: nothing else about the patient leaves the server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.oauth2 import service_account

from api.clock import system_now
from api.delivery.backoff import parse_retry_after
from api.delivery.messages import PushMessage, SendResult

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
_FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# Tokens that will never work again for this project: retire the device.
_DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
_TRANSIENT_CODES = frozenset({"QUOTA_EXCEEDED", "UNAVAILABLE", "INTERNAL"})


class _GoogleResponse(google_transport.Response):
    def __init__(self, response: httpx2.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return dict(self._response.headers)

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxGoogleRequest(google_transport.Request):
    """google-auth's transport interface over the process's shared httpx2 client."""

    def __init__(self, client: httpx2.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **_kwargs: Any,
    ) -> _GoogleResponse:
        try:
            response = self._client.request(
                method, url, content=body, headers=dict(headers or {}), timeout=timeout or self._client.timeout
            )
        except httpx2.HTTPError as exc:
            message = f"{type(exc).__name__} calling the token endpoint"
            raise google_exceptions.TransportError(message) from exc  # type: ignore[no-untyped-call]
        return _GoogleResponse(response)


class FcmNotifier:
    def __init__(self, client: httpx2.Client, project_id: str, credentials_file: Path, endpoint: str) -> None:
        self._client = client
        # Read at start-up: a missing or malformed key file stops the dispatcher loudly.
        self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
            str(credentials_file), scopes=[FCM_SCOPE]
        )
        self._url = f"{endpoint.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self._lock = threading.Lock()
        self._stale = False

    @property
    def platform(self) -> str:
        return "fcm"

    def access_token(self) -> str:
        """A valid access token, fetched only when missing, expiring or refused."""
        with self._lock:
            if self._stale or not self._credentials.valid:
                self._credentials.refresh(HttpxGoogleRequest(self._client))
                self._stale = False
            token: str = self._credentials.token
            return token

    def send(self, message: PushMessage) -> SendResult:
        try:
            token = self.access_token()
        except google_exceptions.GoogleAuthError as exc:
            return SendResult.retry(f"FCM access token unavailable: {type(exc).__name__}")
        try:
            response = self._client.post(
                self._url,
                content=json.dumps(fcm_payload(message), separators=(",", ":")).encode(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        except httpx2.HTTPError as exc:
            return SendResult.retry(f"FCM unreachable: {type(exc).__name__}")
        if response.status_code == 401:
            with self._lock:
                self._stale = True
        return classify_fcm(response)


def fcm_payload(message: PushMessage) -> dict[str, Any]:
    return {
        "message": {
            "token": message.token,
            "notification": {"title": message.title, "body": message.body},
            "data": {
                "message_id": message.message_id,
                "notification_id": str(message.notification_id),
                "delivery_id": str(message.delivery_id),
                "kind": message.kind,
            },
            # Safety messages wake the device; reminders may wait for its next window.
            "android": {"priority": "HIGH" if message.safety else "NORMAL"},
            "apns": {"headers": {"apns-priority": "10" if message.safety else "5"}},
        }
    }


def fcm_error_code(response: httpx2.Response) -> str | None:
    """The FCM error code (UNREGISTERED, QUOTA_EXCEEDED, …) or the canonical status."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("@type") == _FCM_ERROR_TYPE and detail.get("errorCode"):
            return str(detail["errorCode"])
    status = error.get("status")
    return str(status) if status else None


def classify_fcm(response: httpx2.Response) -> SendResult:
    code = response.status_code
    if code == 200:
        return SendResult.sent()
    error = fcm_error_code(response)
    if error in _DEAD_TOKEN_CODES or code == 404:
        return SendResult.gone(f"FCM {error or 'NOT_FOUND'}: token no longer valid")
    if code in (401, 403, 429) or code >= 500 or error in _TRANSIENT_CODES:
        wait = parse_retry_after(response.headers.get("Retry-After"), response.headers.get("Date"), system_now())
        return SendResult.retry(f"FCM HTTP {code} {error or ''}".strip(), wait)
    return SendResult.failed(f"FCM refused the message: HTTP {code} {error or ''}".strip())
