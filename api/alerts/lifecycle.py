"""Alert lifecycle: open → acknowledged → resolved, by a clinician of the patient's care team.

- ``acknowledge``: open → acknowledged (note optional). Acknowledging stops re-notification.
- ``resolve``: acknowledged → resolved, or open → resolved directly (a clinician may deal
  with an alert in one step; the resolver is then recorded as the acknowledger too, at
  the same instant). The note is required.
- Anything else (acknowledge twice, acknowledge or resolve a resolved alert) is a 409
  problem naming the current status. An alert of a patient outside the caller's care
  team is a 404, never a hint that it exists.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlmodel import Session, select

from api.audit import record_audit
from api.errors import Problem, not_found
from api.models import Alert, AlertStatus, CareTeamMember, Patient, User
from api.standing.service import save_alerts

_log = structlog.get_logger("api.alerts")


def alert_in_care(session: Session, clinician: User, alert_id: int, *, lock: bool = False) -> Alert:
    """The alert if the clinician is in its patient's care team (row-locked when ``lock``), else 404."""
    query = (
        select(Alert)
        .join(CareTeamMember, CareTeamMember.patient_id == Alert.patient_id)  # type: ignore[arg-type]
        .where(Alert.id == alert_id, CareTeamMember.clinician_id == clinician.id)
    )
    if lock:
        query = query.with_for_update(of=Alert).execution_options(populate_existing=True)
    alert = session.exec(query).first()
    if alert is None:
        raise not_found("alert")
    return alert


def _conflict(alert: Alert, action: str) -> Problem:
    return Problem(
        409,
        f"alert_{alert.status}",
        f"this alert is already {alert.status}: it cannot be {action}",
        extra={"status_now": alert.status},
    )


def acknowledge_alert(session: Session, clinician: User, alert_id: int, note: str | None, now: datetime) -> Alert:
    alert = alert_in_care(session, clinician, alert_id, lock=True)
    if alert.status != AlertStatus.OPEN:
        raise _conflict(alert, "acknowledged")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_by = clinician.id
    alert.acknowledged_at = now
    alert.acknowledge_note = note
    return _save(session, alert, clinician, "acknowledge_alert", AlertStatus.OPEN, now)


def resolve_alert(session: Session, clinician: User, alert_id: int, note: str, now: datetime) -> Alert:
    # The patient row first, as every writer of the patient's alerts and standing locks it
    # (the same order everywhere: no deadlock), then the alert.
    patient_id = alert_in_care(session, clinician, alert_id).patient_id
    session.exec(select(Patient.id).where(Patient.id == patient_id).with_for_update(key_share=True)).first()
    alert = alert_in_care(session, clinician, alert_id, lock=True)
    if alert.status == AlertStatus.RESOLVED:
        raise _conflict(alert, "resolved")
    previous = AlertStatus(alert.status)
    if previous == AlertStatus.OPEN:
        alert.acknowledged_by = clinician.id
        alert.acknowledged_at = now
    alert.status = AlertStatus.RESOLVED
    alert.resolved_by = clinician.id
    alert.resolved_at = now
    alert.resolution_note = note
    saved = _save(session, alert, clinician, "resolve_alert", previous, now)
    save_alerts(session, {alert.patient_id})  # the triage list's standing
    return saved


def _save(session: Session, alert: Alert, clinician: User, action: str, previous: str, now: datetime) -> Alert:
    session.add(alert)
    session.flush()
    record_audit(
        session,
        at=now,
        action=action,
        resource=f"alert/{alert.id}",
        actor=clinician,
        patient_id=alert.patient_id,
        detail={"alert_id": alert.id, "rule": alert.rule, "from": previous, "to": alert.status},
    )
    _log.info(action, alert_id=alert.id, clinician_id=clinician.id, status=alert.status)
    return alert
