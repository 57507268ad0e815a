"""The in-app feed and push device registration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from api.schemas import Public, StrictInput

# Push tokens are opaque printable ASCII (FCM registration tokens are ~160 characters).
DeviceToken = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=1024, pattern=r"^[!-~]+$")]


class DeviceCreate(StrictInput):
    """A push target: an FCM registration token, or a recipient id at the webhook gateway."""

    platform: Literal["fcm", "webhook"]
    token: DeviceToken


class DevicePublic(Public):
    id: int


class NotificationPublic(Public):
    """An in-app feed item. ``safety`` messages were pushed at once, even in quiet hours."""

    id: int
    kind: Literal[
        "daily_log_reminder",
        "exercise_reminder",
        "weekly_checkin",
        "nudge",
        "safety",
        "plan_change",
        "care_team_alert",
        "message",
    ]
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None
    safety: bool
    patient_id: int | None
    alert_id: int | None
    data: dict[str, Any]
