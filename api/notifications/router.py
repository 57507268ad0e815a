"""``/me/notifications`` (the in-app feed) and ``/me/devices`` (push targets), for every role:
patients get reminders and nudges, clinicians their care-team alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, select

from api.audit import record_audit
from api.deps import CurrentUser, NowDep, RowIdPath, SessionDep
from api.errors import not_found
from api.models import Delivery, DeliveryStatus, Device, DevicePlatform, Notification, Patient, User
from api.notifications.devices import register_device, retire_device
from api.notifications.schemas import DeviceCreate, DevicePublic, NotificationPublic
from api.pagination import Keyset
from api.schemas import Limit, Page

router = APIRouter(tags=["notifications"])


def _patient_id(session: Session, user: User) -> int | None:
    """The caller's patient id, so the audit trail of a patient shows their own writes."""
    return session.exec(select(Patient.id).where(Patient.user_id == user.id)).first()


@router.get("/me/notifications", response_model=Page[NotificationPublic])
def list_notifications(
    user: CurrentUser,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    unread: Annotated[bool, Query(description="only notifications not yet read")] = False,
) -> Page[NotificationPublic]:
    """The caller's in-app feed, newest first."""
    keyset = Keyset(cursor, limit, at=datetime, id=int)
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(col(Notification.created_at).desc(), col(Notification.id).desc())
        .limit(keyset.fetch)
    )
    if unread:
        query = query.where(col(Notification.read_at).is_(None))
    if keyset.after is not None:
        at, last_id = keyset.after["at"], keyset.after["id"]
        query = query.where(
            or_(
                col(Notification.created_at) < at,
                and_(col(Notification.created_at) == at, col(Notification.id) < last_id),
            )
        )
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda r: {"at": r.created_at.isoformat(), "id": r.id})
    return Page[NotificationPublic](items=[NotificationPublic.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("/me/notifications/{notification_id}/read", response_model=NotificationPublic)
def mark_read(notification_id: RowIdPath, user: CurrentUser, session: SessionDep, now: NowDep) -> Notification:
    """Mark one of the caller's notifications read (idempotent: the first read time stays).

    A push not yet sent for it (e.g. held by quiet hours) is cancelled: it was seen.
    """
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        raise not_found("notification")
    if notification.read_at is None:
        notification.read_at = now
        session.add(notification)
        session.execute(
            update(Delivery)
            .where(col(Delivery.notification_id) == notification_id, col(Delivery.status) == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.CANCELLED, last_error="read in the app before it was pushed")
        )
        record_audit(
            session,
            at=now,
            action="read",
            resource=f"notification/{notification_id}",
            actor=user,
            patient_id=_patient_id(session, user),
        )
        session.flush()
    return notification


@router.post("/me/devices", status_code=status.HTTP_201_CREATED, response_model=DevicePublic)
def create_device(body: DeviceCreate, user: CurrentUser, session: SessionDep, now: NowDep) -> DevicePublic:
    """Register a push target for the caller (any role).

    Idempotent: the same token answers with the same id. A token registered under
    another account moves to the caller.
    """
    assert user.id is not None
    device_id = register_device(session, user.id, DevicePlatform(body.platform), body.token, now)
    record_audit(
        session,
        at=now,
        action="register",
        resource=f"device/{device_id}",
        actor=user,
        patient_id=_patient_id(session, user),
        detail={"platform": body.platform},
    )
    return DevicePublic(id=device_id)


@router.delete("/me/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(device_id: RowIdPath, user: CurrentUser, session: SessionDep, now: NowDep) -> Response:
    """Stop pushing to one of the caller's devices; its undelivered pushes are cancelled."""
    device = session.get(Device, device_id)
    if device is None or device.user_id != user.id:
        raise not_found("device")
    if device.retired_at is None:
        cancelled = retire_device(session, device_id, "removed by its owner", now)
        record_audit(
            session,
            at=now,
            action="retire",
            resource=f"device/{device_id}",
            actor=user,
            patient_id=_patient_id(session, user),
            detail={"cancelled_deliveries": cancelled},
        )
        session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
