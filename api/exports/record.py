"""Everything an export needs about one patient, loaded in a few queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from api.models import (
    ActorType,
    Alert,
    AlertStatus,
    AuthorRole,
    ExerciseSession,
    Message,
    PainLog,
    Patient,
    PatientIdentifier,
    Plan,
    PlanDecision,
    Screening,
    User,
)


@dataclass(frozen=True, slots=True)
class PatientRecord:
    patient: Patient
    display_name: str
    zone: ZoneInfo
    today: date
    logs: list[PainLog]
    sessions: list[ExerciseSession]
    screenings: list[Screening]
    plan: Plan | None
    decisions: list[PlanDecision]
    alerts: list[Alert]
    identifier: PatientIdentifier | None
    # Display names of the clinicians who acknowledged or resolved an alert, decided on the
    # plan or wrote a message.
    clinicians: dict[int, str]
    messages: list[Message]

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.status != AlertStatus.RESOLVED]

    @property
    def sessions_per_day(self) -> dict[date, int]:
        return dict(Counter(s.performed_on for s in self.sessions))

    def local(self, moment: datetime) -> datetime:
        """An instant in the patient's zone, so it carries their UTC offset."""
        return moment.astimezone(self.zone)


def load_record(session: Session, patient: Patient, now: datetime) -> PatientRecord:
    assert patient.id is not None
    user = session.get(User, patient.user_id)
    assert user is not None
    zone = ZoneInfo(patient.timezone)
    decisions = list(
        session.exec(
            select(PlanDecision)
            .where(PlanDecision.patient_id == patient.id)
            .order_by(col(PlanDecision.decided_at), col(PlanDecision.id))
        ).all()
    )
    alerts = list(
        session.exec(
            select(Alert).where(Alert.patient_id == patient.id).order_by(col(Alert.opened_at), col(Alert.id))
        ).all()
    )
    people = {a.acknowledged_by for a in alerts} | {a.resolved_by for a in alerts}
    people |= {d.actor_id for d in decisions if d.actor_type == ActorType.CLINICIAN}
    messages = list(
        session.exec(select(Message).where(Message.patient_id == patient.id).order_by(col(Message.id))).all()
    )
    people |= {m.author_user_id for m in messages if m.author_role == AuthorRole.CLINICIAN}
    wanted = sorted(p for p in people if p is not None)
    clinicians = (
        {u.id: u.display_name for u in session.exec(select(User).where(col(User.id).in_(wanted))).all() if u.id}
        if wanted
        else {}
    )
    return PatientRecord(
        patient=patient,
        display_name=user.display_name,
        zone=zone,
        today=now.astimezone(zone).date(),
        logs=list(
            session.exec(select(PainLog).where(PainLog.patient_id == patient.id).order_by(col(PainLog.log_date))).all()
        ),
        sessions=list(
            session.exec(
                select(ExerciseSession)
                .where(ExerciseSession.patient_id == patient.id)
                .order_by(col(ExerciseSession.performed_at), col(ExerciseSession.id))
            ).all()
        ),
        screenings=list(
            session.exec(select(Screening).where(Screening.patient_id == patient.id).order_by(col(Screening.id))).all()
        ),
        plan=session.exec(select(Plan).where(Plan.patient_id == patient.id)).first(),
        decisions=decisions,
        alerts=alerts,
        identifier=session.get(PatientIdentifier, patient.id),
        clinicians=clinicians,
        messages=messages,
    )
