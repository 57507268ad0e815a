"""Who follows a patient, said plainly to the patient, and the admins' way to assign someone.

A patient is *followed* when an active clinician is in their care team. A patient who
registered without an invite code (no clinic, no care team), or whose physiotherapist's
account was deactivated, is not: their alerts go to the unassigned-patients queue
(``api.care_team.unassigned``), which the admins own, until an admin assigns a clinician.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.lists import format_list
from sqlmodel import Session, col, select

from api.alerts.notify import NOTIFIED_TIERS, notify_alerts
from api.audit import record_audit
from api.care_team.schemas import CareTeamClinician, CareTeamPublic
from api.errors import field_error
from api.i18n import DEFAULT_LOCALE, render
from api.models import Alert, AlertStatus, CareTeamMember, ClinicMember, Patient, Role, User
from api.rules.text import Msg, Text


def active_clinicians(session: Session, patient_id: int) -> list[User]:
    """The active clinicians of the patient's care team, by name."""
    return list(
        session.exec(
            select(User)
            .join(CareTeamMember, col(CareTeamMember.clinician_id) == User.id)
            .where(CareTeamMember.patient_id == patient_id, col(User.is_active).is_(True), User.role == Role.CLINICIAN)
            .order_by(col(User.display_name), col(User.id))
        ).all()
    )


def _any_active_admin(session: Session) -> bool:
    found = session.exec(select(User.id).where(User.role == Role.ADMIN, col(User.is_active).is_(True)).limit(1))
    return found.first() is not None


def care_team_status(session: Session, patient: Patient) -> CareTeamPublic:
    """What the patient is told about who follows them: true at the time it is read."""
    assert patient.id is not None
    clinicians = active_clinicians(session, patient.id)
    listed = [CareTeamClinician(id=c.id, display_name=c.display_name) for c in clinicians if c.id is not None]
    locale = patient.locale or DEFAULT_LOCALE
    if listed:
        people = [c.display_name for c in listed]
        names = (
            " and ".join(people) if locale == DEFAULT_LOCALE else format_list(people, locale=locale.replace("-", "_"))
        )
        follows = (
            Msg(
                "{names} follows your progress in Backstep: they see your logs and are told at once if you report "
                "a symptom that needs urgent attention.",
                names=names,
            )
            if len(listed) == 1
            else Msg(
                "{names} follow your progress in Backstep: they see your logs and are told at once if you report "
                "a symptom that needs urgent attention.",
                names=names,
            )
        )
        return CareTeamPublic(followed_by_clinician=True, clinicians=listed, message=render(follows, locale))
    if _any_active_admin(session):
        told = Msg(
            "If you report a symptom that needs urgent attention, Backstep tells you what to do at once and "
            "tells the Backstep team, who can arrange a physiotherapist for you."
        )
    else:
        told = Msg(
            "If you report a symptom that needs urgent attention, Backstep tells you what to do: follow that advice."
        )
    nobody = Msg(
        "No physiotherapist follows you in Backstep yet, so nobody reviews your pain logs for now. "
        "Your exercise plan and safety advice work as usual."
    )
    message = render(Text([nobody, told]), locale)
    return CareTeamPublic(followed_by_clinician=False, clinicians=[], message=message)


@dataclass(frozen=True, slots=True)
class Assigned:
    added: bool  # False: the clinician was already in the care team
    care_team: CareTeamPublic
    alerts_notified: int


def assign_clinician(session: Session, admin: User, patient: Patient, clinician_id: int, now: datetime) -> Assigned:
    """Add an active clinician to the patient's care team (audited); they are told of urgent alerts at once.

    A patient without a clinic joins the clinician's; a patient of another clinic is
    refused (422 naming ``clinician_id``): an admin must not move a patient between
    clinics by accident. The unresolved emergency and urgent alerts then go to the new
    care team as the next round of messages, so nothing waits for the re-notification.
    """
    assert patient.id is not None
    clinician = session.get(User, clinician_id)
    if clinician is None or clinician.role != Role.CLINICIAN or not clinician.is_active:
        raise field_error(["body", "clinician_id"], "not an active clinician")
    clinic_id = session.exec(select(ClinicMember.clinic_id).where(ClinicMember.user_id == clinician_id)).first()
    if patient.clinic_id is not None and clinic_id != patient.clinic_id:
        raise field_error(["body", "clinician_id"], "the clinician works in another clinic than the patient's")
    member = session.get(CareTeamMember, (patient.id, clinician_id))
    notified = 0
    if member is None:
        session.add(CareTeamMember(patient_id=patient.id, clinician_id=clinician_id, created_at=now))
        if patient.clinic_id is None:
            patient.clinic_id = clinic_id
            patient.updated_at = now
            session.add(patient)
        session.flush()
        record_audit(
            session,
            at=now,
            action="assign_care_team",
            resource=f"patient/{patient.id}/care-team",
            actor=admin,
            patient_id=patient.id,
            detail={"clinician_id": clinician_id, "clinic_id": patient.clinic_id},
        )
        alerts = session.exec(
            select(Alert)
            .where(
                Alert.patient_id == patient.id,
                col(Alert.status) != AlertStatus.RESOLVED,
                col(Alert.tier).in_([str(t) for t in NOTIFIED_TIERS]),
            )
            .order_by(col(Alert.id))
            .with_for_update()
        ).all()
        if alerts:
            notify_alerts(session, alerts, now)
            notified = len(alerts)
    return Assigned(added=member is None, care_team=care_team_status(session, patient), alerts_notified=notified)
