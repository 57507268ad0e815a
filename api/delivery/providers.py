"""The push providers of one process, sharing one ``httpx2.Client`` (timeouts always set).

Build one ``Providers`` per process (the scheduler does) and close it at shutdown; a
platform whose settings are unset has no notifier, and its deliveries are dead-lettered
with a message saying which setting is missing.
"""

from __future__ import annotations

from types import TracebackType

import httpx2

from api.config import Settings
from api.delivery.fcm import FcmNotifier
from api.delivery.messages import Notifier
from api.delivery.webhook import WebhookNotifier

UNCONFIGURED = {
    "fcm": "FCM push is not configured (set BACKSTEP_FCM_PROJECT_ID and BACKSTEP_FCM_CREDENTIALS_FILE)",
    "webhook": "webhook push is not configured (set BACKSTEP_WEBHOOK_URL and BACKSTEP_WEBHOOK_SECRET)",
}


class Providers:
    def __init__(self, settings: Settings, transport: httpx2.BaseTransport | None = None) -> None:
        self.client = httpx2.Client(
            timeout=httpx2.Timeout(settings.delivery_timeout_seconds),
            limits=httpx2.Limits(max_connections=settings.delivery_concurrency * 2),
            headers={"User-Agent": "backstep-delivery"},
            transport=transport,
        )
        self.notifiers: dict[str, Notifier] = {}
        try:
            if settings.fcm_project_id and settings.fcm_credentials_file is not None:
                self.notifiers["fcm"] = FcmNotifier(
                    self.client, settings.fcm_project_id, settings.fcm_credentials_file, settings.fcm_endpoint
                )
            if settings.webhook_url and settings.webhook_secret:
                self.notifiers["webhook"] = WebhookNotifier(self.client, settings.webhook_url, settings.webhook_secret)
        except BaseException:
            self.client.close()
            raise

    def notifier(self, platform: str) -> Notifier | None:
        return self.notifiers.get(platform)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Providers:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
