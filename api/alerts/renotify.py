"""Re-notification: unacknowledged emergency and urgent-same-day alerts are not let go.

Called at the start of every delivery tick. An alert still ``open`` (nobody has
acknowledged it) ``BACKSTEP_RENOTIFY_EMERGENCY_MINUTES`` (30) or
``BACKSTEP_RENOTIFY_URGENT_MINUTES`` (240) after its last notification gets another
round: the care team again and every other clinician of the patient's clinic, as
safety messages. Rounds repeat at the same interval until someone acknowledges (or
resolves) the alert. Due alerts are claimed in batches with ``FOR UPDATE SKIP LOCKED``
(``api.batches.run_batches``, the shape of every scheduled job) and every
message has an occurrence key per alert, round and clinician, so racing schedulers
send each round once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine, and_, func, or_
from sqlmodel import Session, col, select

from api.alerts.notify import notify_alerts
from api.batches import run_batches
from api.config import Settings
from api.models import Alert, AlertStatus
from api.rules.types import Tier

_log = structlog.get_logger("api.alerts")


def renotify_unacknowledged(
    engine: Engine, now: datetime, *, emergency_minutes: int, urgent_minutes: int, batch_size: int = 200
) -> int:
    """Send the next round for every due unacknowledged urgent alert; the number of alerts re-notified."""
    work = _RenotifyWork(now, emergency_minutes, urgent_minutes)
    return run_batches(engine, work, batch_size)["alerts"]


@dataclass(frozen=True, slots=True)
class _RenotifyWork:
    """Open emergency and urgent-same-day alerts whose last round is older than its interval."""

    now: datetime
    emergency_minutes: int
    urgent_minutes: int
    name: str = "renotify"

    def claim(self, session: Session, limit: int) -> Sequence[Alert]:
        last = func.coalesce(col(Alert.last_notified_at), col(Alert.opened_at))
        due = or_(
            and_(col(Alert.tier) == Tier.EMERGENCY, last <= self.now - timedelta(minutes=self.emergency_minutes)),
            and_(col(Alert.tier) == Tier.URGENT_SAME_DAY, last <= self.now - timedelta(minutes=self.urgent_minutes)),
        )
        return session.exec(
            select(Alert)
            .where(Alert.status == AlertStatus.OPEN, due)
            .order_by(col(Alert.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()

    def key(self, item: Alert) -> int | None:
        return item.id

    def process(self, session: Session, batch: Sequence[Alert]) -> Counter[str]:
        messages = notify_alerts(session, batch, self.now, include_clinic=True)
        for alert in batch:
            _log.info("alert_renotified", alert_id=alert.id, tier=alert.tier, round=alert.notify_count - 1)
        _log.info("alerts_renotified", alerts=len(batch), messages=messages)
        return Counter(alerts=len(batch))

    def give_up(self, session: Session, item: Alert) -> None:
        """Left due: the next delivery tick tries this round again."""


def renotify_due_alerts(engine: Engine, settings: Settings, now: datetime) -> dict[str, int]:
    """The delivery tick's first step, with the configured delays."""
    renotified = renotify_unacknowledged(
        engine,
        now,
        emergency_minutes=settings.renotify_emergency_minutes,
        urgent_minutes=settings.renotify_urgent_minutes,
        batch_size=settings.delivery_batch_size,
    )
    return {"alerts_renotified": renotified}
