"""Push devices: registered by any signed-in user, retired on request or when the provider
says the token is dead. A retired device gets no new deliveries and its pending ones are
cancelled; re-registering the token brings it back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from api.models import Delivery, DeliveryStatus, Device, DevicePlatform, Notification
from api.upsert import insert_for


def register_device(session: Session, user_id: int, platform: DevicePlatform, token: str, now: datetime) -> int:
    """The device id for this token, now owned by ``user_id`` (idempotent).

    A token seen before under another account moved phones' owner (sign-out, sign-in as
    someone else): the device follows the caller, and the previous owner's undelivered
    pushes to it are cancelled so they never reach the new owner's screen.
    """
    table = Device.__table__  # type: ignore[attr-defined]
    device_id: int = session.execute(
        insert_for(session, table)
        .values(user_id=user_id, platform=platform, token=token, created_at=now)
        .on_conflict_do_update(
            index_elements=[table.c.platform, table.c.token],
            set_={"user_id": user_id, "retired_at": None, "retired_reason": None},
        )
        .returning(table.c.id)
    ).scalar_one()
    someone_elses = (
        select(Notification.id)
        .where(col(Notification.id) == col(Delivery.notification_id), col(Notification.user_id) != user_id)
        .exists()
    )
    session.execute(
        update(Delivery)
        .where(col(Delivery.device_id) == device_id, col(Delivery.status) == DeliveryStatus.PENDING, someone_elses)
        .values(status=DeliveryStatus.CANCELLED, last_error="device moved to another account")
    )
    session.flush()
    return device_id


def retire_device(session: Session, device_id: int, reason: str, now: datetime) -> int:
    """Retire a device and cancel its pending deliveries; the number cancelled."""
    session.execute(
        update(Device)
        .where(col(Device.id) == device_id, col(Device.retired_at).is_(None))
        .values(retired_at=now, retired_reason=reason)
    )
    return cancel_pending(session, device_id, f"device retired: {reason}")


def cancel_pending(session: Session, device_id: int, why: str) -> int:
    result = session.execute(
        update(Delivery)
        .where(col(Delivery.device_id) == device_id, col(Delivery.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, last_error=why[:500])
    )
    return int(getattr(result, "rowcount", 0) or 0)
