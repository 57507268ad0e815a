"""What a push provider is given and what it answers: the ``Notifier`` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient: timeout, 5xx, 429, refused credentials
    GONE = "gone"  # the token is dead (FCM UNREGISTERED, webhook 410): retire the device
    FAILED = "failed"  # permanent for this message: dead letter at once


@dataclass(frozen=True, slots=True)
class PushMessage:
    """One push to one device. Only ids, kind, title and body leave the server.

    ``message_id`` is stable across retries of the same delivery, so a receiver that
    sees it twice (a crash between sending and recording) can drop the copy.
    """

    delivery_id: int
    notification_id: int
    token: str
    kind: str
    title: str
    body: str
    safety: bool
    created_at: datetime

    @property
    def message_id(self) -> str:
        return f"backstep-delivery-{self.delivery_id}"


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    detail: str = ""
    retry_after: float | None = None  # seconds the provider asked us to wait

    @classmethod
    def sent(cls) -> SendResult:
        return cls(Outcome.SENT)

    @classmethod
    def retry(cls, detail: str, retry_after: float | None = None) -> SendResult:
        return cls(Outcome.RETRY, detail, retry_after)

    @classmethod
    def gone(cls, detail: str) -> SendResult:
        return cls(Outcome.GONE, detail)

    @classmethod
    def failed(cls, detail: str) -> SendResult:
        return cls(Outcome.FAILED, detail)


class Notifier(Protocol):
    """A push provider. ``send`` never raises for provider or network trouble: it says
    what happened, and the dispatcher decides about retries and dead letters."""

    @property
    def platform(self) -> str: ...

    def send(self, message: PushMessage) -> SendResult: ...
