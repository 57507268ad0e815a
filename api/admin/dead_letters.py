"""Dead letters: pushes that were given up on, for admins to see and requeue.

A delivery is dead when its provider refused it for good, its device's token died, no
provider is configured for its platform, or it kept failing for the whole retry window.
The list shows why (``last_error``: provider status codes, never the message) and what
it was about (``kind``), not the title or body: admins need to fix the delivery path,
not read patients' messages.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query
from sqlmodel import col, select

from api.admin.schemas import DeadLetterPublic
from api.audit import record_audit
from api.deps import CurrentAdmin, NowDep, RowIdPath, SessionDep
from api.errors import Problem
from api.models import Delivery, DeliveryStatus, Device, Notification, NotificationKind
from api.pagination import Keyset
from api.schemas import Limit, Page

router = APIRouter(prefix="/admin/dead-letters", tags=["admin"])


def _query() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(
            col(Delivery.id),
            col(Delivery.notification_id),
            col(Delivery.device_id),
            col(Delivery.status),
            col(Delivery.safety),
            col(Delivery.attempts),
            col(Delivery.created_at),
            col(Delivery.intended_at),
            col(Delivery.failed_at),
            col(Delivery.give_up_at),
            col(Delivery.next_attempt_at),
            col(Delivery.last_error),
            col(Notification.kind),
            col(Notification.user_id),
            col(Device.platform),
            col(Device.retired_at).label("device_retired_at"),
        )
        .join(Notification, col(Notification.id) == col(Delivery.notification_id))
        .outerjoin(Device, col(Device.id) == col(Delivery.device_id))
    )


@router.get("", response_model=Page[DeadLetterPublic])
def list_dead_letters(
    admin: CurrentAdmin,
    session: SessionDep,
    kind: Annotated[NotificationKind | None, Query(description="only this notification kind")] = None,
    safety: Annotated[bool | None, Query(description="only safety (true) or other (false) messages")] = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DeadLetterPublic]:
    """Dead-lettered deliveries, newest first, with why they were given up (no message text)."""
    # The literal keeps the partial index ix_delivery_dead usable whatever the bind style.
    keyset = Keyset(cursor, limit, id=int)
    query = _query().where(col(Delivery.status) == sa.literal_column("'dead'"))
    if kind is not None:
        query = query.where(col(Notification.kind) == kind)
    if safety is not None:
        query = query.where(col(Delivery.safety) == safety)
    if keyset.after is not None:
        query = query.where(col(Delivery.id) < keyset.after["id"])
    found = session.execute(query.order_by(col(Delivery.id).desc()).limit(keyset.fetch)).mappings().all()
    rows, next_cursor = keyset.page(found, lambda r: {"id": r["id"]})
    items = [DeadLetterPublic.model_validate(dict(r)) for r in rows]
    return Page[DeadLetterPublic](items=items, next_cursor=next_cursor)


@router.post(
    "/{delivery_id}/retry",
    response_model=DeadLetterPublic,
    responses={
        404: {"description": "not_found: no such delivery"},
        409: {"description": "not_dead_letter: the delivery is not dead; device_retired: its device is gone"},
    },
)
def retry_dead_letter(
    delivery_id: RowIdPath, admin: CurrentAdmin, session: SessionDep, now: NowDep
) -> DeadLetterPublic:
    """Put a dead letter back in the outbox, due now, with a fresh retry window (audited).

    Requeueing is idempotent in effect: a second call finds the delivery pending and is
    refused with 409, so nothing is sent twice because of it.
    """
    delivery = session.exec(select(Delivery).where(col(Delivery.id) == delivery_id).with_for_update()).first()
    if delivery is None:
        raise Problem(404, "not_found", "no such delivery")
    if delivery.status != DeliveryStatus.DEAD:
        raise Problem(409, "not_dead_letter", f"the delivery is {delivery.status}, not dead: nothing to retry")
    device = session.get(Device, delivery.device_id) if delivery.device_id is not None else None
    if device is None or device.retired_at is not None:
        raise Problem(409, "device_retired", "the delivery's device was removed or retired: it cannot be retried")
    previous_error = delivery.last_error
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.give_up_at = None  # the next failure opens a full retry window
    session.add(delivery)
    session.flush()
    record_audit(
        session,
        at=now,
        action="retry_dead_letter",
        resource=f"delivery/{delivery_id}",
        actor=admin,
        detail={"attempts": delivery.attempts, "last_error": previous_error},
    )
    row = session.execute(_query().where(col(Delivery.id) == delivery_id)).mappings().one()
    return DeadLetterPublic.model_validate(dict(row))
