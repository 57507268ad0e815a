"""Everything an export needs about one patient, loaded in a few queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from api.models import Alert, AlertStatus, ExerciseSession, PainLog, Patient, Plan, PlanDecision, Screening, User


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    display_name: str
    zone: ZoneInfo
    today: date
    logs: list[PainLog]
    sessions_per_day: dict[date, int]
    screenings: list[Screening]
    plan: Plan | None
    decisions: list[PlanDecision]
    alerts: list[Alert]

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status != AlertStatus.RESOLVED]

    def local(self, moment: datetime) -> datetime:
        """An instant in the patient's zone, so it carries their UTC offset."""
        return moment.astimezone(self.zone)


def load_record(session: Session, patient: Patient, now: datetime) -> PatientRecord:
    assert patient.id is not None
    user = session.get(User, patient.user_id)
    assert user is not None
    zone = ZoneInfo(patient.timezone)
    sessions = session.exec(
        select(col(ExerciseSession.performed_on), func.count())
        .where(ExerciseSession.patient_id == patient.id)
        .group_by(col(ExerciseSession.performed_on))
    ).all()
    return PatientRecord(
        patient=patient,
        display_name=user.display_name,
        zone=zone,
        today=now.astimezone(zone).date(),
        logs=list(
            session.exec(select(PainLog).where(PainLog.patient_id == patient.id).order_by(col(PainLog.log_date))).all()
        ),
        sessions_per_day={on: int(n) for on, n in sessions},
        screenings=list(
            session.exec(select(Screening).where(Screening.patient_id == patient.id).order_by(col(Screening.id))).all()
        ),
        plan=session.exec(select(Plan).where(Plan.patient_id == patient.id)).first(),
        decisions=list(
            session.exec(
                select(PlanDecision)
                .where(PlanDecision.patient_id == patient.id)
                .order_by(col(PlanDecision.decided_at), col(PlanDecision.id))
            ).all()
        ),
        alerts=list(
            session.exec(select(Alert).where(Alert.patient_id == patient.id).order_by(col(Alert.opened_at))).all()
        ),
    )
