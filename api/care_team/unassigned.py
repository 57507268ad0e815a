"""The unassigned-patients queue: patients no active clinician follows, most urgent first.

A patient who registered without an invite code has no clinic and no care team; one
whose physiotherapist's account was deactivated has a clinic but nobody to act. Their
alerts still have to reach a person: every active admin is told (``api.alerts.notify``)
and re-notified like any urgent alert, and sees them here, on the API
(``/api/v1/admin/unassigned-patients``) and the dashboard (``/dashboard/unassigned``),
until they assign a clinician (``api.care_team.service.assign_clinician``).

Admins are the owners because such a patient may belong to no clinic at all: no
clinic's clinicians could own them, and admins are the accounts that create clinics
and clinicians. Admins see the rule and tier of each alert, not its evidence: routing
needs no symptoms, and access to the record stays with the care team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, exists, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from api.models import Alert, AlertStatus, CareTeamMember, ClinicMember, Patient, Role, User
from api.pagination import Keyset
from api.rules.types import RuleCode, Tier
from api.schemas import Public

_RANK = {Tier.EMERGENCY: 4, Tier.URGENT_SAME_DAY: 3, Tier.URGENT_DAYS: 2, Tier.ROUTINE: 1}
_TIER_OF_RANK = {rank: tier for tier, rank in _RANK.items()} | {0: Tier.NONE}


class QueuedAlertPublic(Public):
    """An unresolved alert of an unassigned patient, as much as routing needs (no evidence)."""

    id: int
    rule: RuleCode
    tier: Tier
    status: AlertStatus
    opened_at: datetime
    last_notified_at: datetime | None
    notify_count: int


class UnassignedPatientPublic(Public):
    patient_id: int
    display_name: str
    clinic_id: int | None
    timezone: str
    registered_at: datetime
    priority: Tier
    alerts: list[QueuedAlertPublic]


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[UnassignedPatientPublic]
    next_cursor: str | None


def unassigned_condition() -> ColumnElement[bool]:
    """True for a patient without an active clinician in their care team."""
    clinician = aliased(User)
    followed = exists().where(
        col(CareTeamMember.patient_id) == Patient.id,
        col(clinician.id) == CareTeamMember.clinician_id,
        col(clinician.is_active).is_(True),
        col(clinician.role) == Role.CLINICIAN,
    )
    return ~followed


def _priority() -> ColumnElement[int]:
    rank = case(*((col(Alert.tier) == str(tier), value) for tier, value in _RANK.items()), else_=0)
    highest = (
        select(func.max(rank))
        .where(col(Alert.patient_id) == Patient.id, col(Alert.status) != AlertStatus.RESOLVED)
        .scalar_subquery()
    )
    return func.coalesce(highest, 0)


def unassigned_page(session: Session, *, limit: int, cursor: str | None) -> QueuePage:
    """One page of the queue: highest unresolved tier first (none last), then the oldest patient."""
    priority = _priority()
    keyset = Keyset(cursor, limit, rank=int, id=int)
    query = (
        select(Patient, User.display_name, priority.label("rank"))
        .join(User, col(User.id) == Patient.user_id)
        .where(unassigned_condition())
        .order_by(priority.desc(), col(Patient.id))
        .limit(keyset.fetch)
    )
    if keyset.after is not None:
        rank, after = keyset.after["rank"], keyset.after["id"]
        query = query.where(or_(priority < rank, and_(priority == rank, col(Patient.id) > after)))
    page, next_cursor = keyset.page(session.exec(query).all(), lambda row: {"rank": int(row[2]), "id": row[0].id})
    ids = [p.id for p, _, _ in page if p.id is not None]
    alerts: dict[int, list[Alert]] = {i: [] for i in ids}
    if ids:
        for alert in session.exec(
            select(Alert)
            .where(col(Alert.patient_id).in_(ids), col(Alert.status) != AlertStatus.RESOLVED)
            .order_by(col(Alert.opened_at), col(Alert.id))
        ).all():
            alerts[alert.patient_id].append(alert)
    rows = []
    for patient, name, rank in page:
        assert patient.id is not None
        queued = sorted(alerts[patient.id], key=lambda a: -_RANK.get(Tier(a.tier), 0))
        rows.append(
            UnassignedPatientPublic(
                patient_id=patient.id,
                display_name=name,
                clinic_id=patient.clinic_id,
                timezone=patient.timezone,
                registered_at=patient.created_at,
                priority=_TIER_OF_RANK[int(rank)],
                alerts=[QueuedAlertPublic.model_validate(a) for a in queued],
            )
        )
    return QueuePage(rows=rows, next_cursor=next_cursor)


def active_clinicians_by_clinic(session: Session) -> list[tuple[int, str, int | None]]:
    """Every active clinician (id, name, clinic id) an admin can assign, by name."""
    rows = session.exec(
        select(User.id, User.display_name, ClinicMember.clinic_id)
        .join(ClinicMember, col(ClinicMember.user_id) == User.id, isouter=True)
        .where(User.role == Role.CLINICIAN, col(User.is_active).is_(True))
        .order_by(col(User.display_name), col(User.id))
    ).all()
    return [(int(i), name, clinic) for i, name, clinic in rows if i is not None]
