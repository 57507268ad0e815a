from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import StringConstraints

from api.models import Alert, AlertStatus
from api.rules.types import RuleCode, Tier
from api.schemas import Public, StrictInput

# A resolution note must say something: blank or whitespace-only is refused.
RequiredNote = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=2000, pattern=r"\S")]
OptionalNote = Annotated[str, StringConstraints(strict=True, max_length=2000)]


class AlertTier(StrEnum):
    """The tiers an alert can have (``none`` never opens one)."""

    EMERGENCY = Tier.EMERGENCY.value
    URGENT_SAME_DAY = Tier.URGENT_SAME_DAY.value
    URGENT_DAYS = Tier.URGENT_DAYS.value
    ROUTINE = Tier.ROUTINE.value


class AlertAcknowledge(StrictInput):
    note: OptionalNote | None = None


class AlertResolve(StrictInput):
    note: RequiredNote


class AlertPublic(Public):
    """An alert (SPEC §3). ``note`` is the latest note: the resolution's, else the acknowledgement's."""

    id: int
    patient_id: int
    rule: RuleCode
    tier: AlertTier
    status: AlertStatus
    opened_at: datetime
    evidence: dict[str, Any]
    ruleset_version: str
    acknowledged_by: int | None = None
    acknowledged_at: datetime | None = None
    resolved_by: int | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    acknowledge_note: str | None = None
    resolution_note: str | None = None
    last_notified_at: datetime | None = None
    notify_count: int = 0

    @classmethod
    def of(cls, alert: Alert) -> AlertPublic:
        public = cls.model_validate(alert)
        public.note = alert.resolution_note if alert.resolution_note is not None else alert.acknowledge_note
        return public
