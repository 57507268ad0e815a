"""Clinician alert endpoints: the triage list, acknowledge, resolve.

The list holds only alerts of the caller's own patients (care team), most urgent
first: unresolved before resolved (open before acknowledged), then by tier (emergency
first), then newest first. Filters: ``status``, ``tier`` (each repeatable) and
``patient_id``. Every read and action is audited.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from sqlalchemy import ColumnElement, and_, case, or_
from sqlmodel import col, select

from api.alerts.lifecycle import acknowledge_alert, alert_in_care, resolve_alert
from api.alerts.schemas import AlertAcknowledge, AlertPublic, AlertResolve, AlertTier
from api.audit import record_audit
from api.deps import CurrentClinician, NowDep, RowIdFilter, RowIdPath, SessionDep
from api.models import Alert, AlertStatus, CareTeamMember
from api.pagination import Keyset
from api.rules.types import Tier
from api.schemas import Limit, Page

router = APIRouter(prefix="/clinician/alerts", tags=["clinician"])

AlertId = RowIdPath
_STATUS_ORDER = {AlertStatus.OPEN: 0, AlertStatus.ACKNOWLEDGED: 1, AlertStatus.RESOLVED: 2}
_TIER_ORDER = {Tier.EMERGENCY: 0, Tier.URGENT_SAME_DAY: 1, Tier.URGENT_DAYS: 2, Tier.ROUTINE: 3}
_status_rank = case({str(k): v for k, v in _STATUS_ORDER.items()}, value=col(Alert.status), else_=3)
_tier_rank = case({str(k): v for k, v in _TIER_ORDER.items()}, value=col(Alert.tier), else_=4)
_ALERT_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such alert among the caller's patients"},
    409: {"description": "impossible transition (already acknowledged or resolved)"},
}


def _after(position: dict[str, Any]) -> ColumnElement[bool]:
    s, t, last = (position[key] for key in ("s", "t", "id"))
    return or_(
        _status_rank > s,
        and_(_status_rank == s, or_(_tier_rank > t, and_(_tier_rank == t, col(Alert.id) < last))),
    )


@router.get("", response_model=Page[AlertPublic])
def list_alerts(
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    status: Annotated[list[AlertStatus] | None, Query()] = None,
    tier: Annotated[list[AlertTier] | None, Query()] = None,
    patient_id: RowIdFilter = None,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AlertPublic]:
    """Alerts of the caller's patients, most urgent first (unresolved, tier, newest)."""
    keyset = Keyset(cursor, limit, s=int, t=int, id=int)
    query = (
        select(Alert, _status_rank, _tier_rank)
        .join(CareTeamMember, col(CareTeamMember.patient_id) == Alert.patient_id)
        .where(CareTeamMember.clinician_id == clinician.id)
        .order_by(_status_rank, _tier_rank, col(Alert.id).desc())
        .limit(keyset.fetch)
    )
    if status:
        query = query.where(col(Alert.status).in_([str(s) for s in status]))
    if tier:
        query = query.where(col(Alert.tier).in_([str(t) for t in tier]))
    if patient_id is not None:
        query = query.where(Alert.patient_id == patient_id)
    if keyset.after is not None:
        query = query.where(_after(keyset.after))
    rows, next_cursor = keyset.page(session.exec(query).all(), lambda row: {"s": row[1], "t": row[2], "id": row[0].id})
    alerts = [row[0] for row in rows]
    by_patient: dict[int, list[int]] = {}
    for alert in alerts:
        assert alert.id is not None
        by_patient.setdefault(alert.patient_id, []).append(alert.id)
    for pid, ids in by_patient.items():
        record_audit(
            session,
            at=now,
            action="list_alerts",
            resource="alert",
            actor=clinician,
            patient_id=pid,
            detail={"alert_ids": ids},
        )
    return Page[AlertPublic](items=[AlertPublic.of(a) for a in alerts], next_cursor=next_cursor)


@router.get("/{alert_id}", response_model=AlertPublic, responses=_ALERT_RESPONSES)
def get_alert(alert_id: AlertId, clinician: CurrentClinician, session: SessionDep, now: NowDep) -> AlertPublic:
    alert = alert_in_care(session, clinician, alert_id)
    record_audit(
        session,
        at=now,
        action="read_alert",
        resource=f"alert/{alert.id}",
        actor=clinician,
        patient_id=alert.patient_id,
        detail={"alert_id": alert.id},
    )
    return AlertPublic.of(alert)


@router.post("/{alert_id}/acknowledge", response_model=AlertPublic, responses=_ALERT_RESPONSES)
def acknowledge(
    alert_id: AlertId,
    clinician: CurrentClinician,
    session: SessionDep,
    now: NowDep,
    body: Annotated[AlertAcknowledge | None, Body()] = None,
) -> AlertPublic:
    """Take the alert on (stops re-notification); an optional note."""
    alert = acknowledge_alert(session, clinician, alert_id, body.note if body else None, now)
    return AlertPublic.of(alert)


@router.post("/{alert_id}/resolve", response_model=AlertPublic, responses=_ALERT_RESPONSES)
def resolve(
    alert_id: AlertId, body: AlertResolve, clinician: CurrentClinician, session: SessionDep, now: NowDep
) -> AlertPublic:
    """Close the alert with a note (required); an open alert is acknowledged and resolved at once."""
    alert = resolve_alert(session, clinician, alert_id, body.note, now)
    return AlertPublic.of(alert)
