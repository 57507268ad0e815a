"""Telling clinicians about alerts: the care team at once, the clinic when nobody answers.

Every message goes through ``enqueue_notifications`` with an occurrence key per
(alert, round, clinician), so a retried request or racing schedulers send each round
once. Emergency and urgent-same-day messages are safety messages (pushed whatever the
hour); urgent-within-days ones are ordinary messages. Messages name the rule, never
the patient (pushes leave the building).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog
from sqlmodel import Session, col, select

from api.models import Alert, CareTeamMember, ClinicMember, NotificationKind, Patient, Role, User
from api.notifications.service import NotificationDraft, enqueue_notifications
from api.rules.catalogue import CATALOGUE
from api.rules.types import Tier

# Tiers that must reach a clinician now, whatever the hour (CLINICAL_RULES.md §2).
URGENT_TIERS = frozenset({Tier.EMERGENCY, Tier.URGENT_SAME_DAY})
# Tiers the care team is told about when the alert opens; routine alerts wait on the dashboard.
NOTIFIED_TIERS = URGENT_TIERS | {Tier.URGENT_DAYS}

_TRIGGERS: Mapping[str, str] = {str(entry.code): entry.trigger for entry in CATALOGUE}
_TIER_TITLES: Mapping[Tier, str] = {
    Tier.EMERGENCY: "Emergency: a patient in your care needs attention now",
    Tier.URGENT_SAME_DAY: "Urgent: a patient in your care needs to be seen today",
    Tier.URGENT_DAYS: "Urgent: a patient in your care needs a GP review within days",
}
_log = structlog.get_logger("api.alerts")


class Audience(StrEnum):
    """Why someone hears about an alert."""

    CARE_TEAM = "care_team"  # in the patient's care team: opens the record and acts
    CLINIC = "clinic"  # a colleague in the patient's clinic, who cannot open the record
    UNASSIGNED_QUEUE = "unassigned_queue"  # an admin: the patient has no active care-team clinician


@dataclass(frozen=True, slots=True)
class Recipient:
    user_id: int
    audience: Audience
    patient_unassigned: bool = False  # the patient has no active clinician in their care team

    @property
    def in_care_team(self) -> bool:
        return self.audience is Audience.CARE_TEAM


def recipients_by_patient(
    session: Session, patient_ids: Iterable[int], *, include_clinic: bool
) -> dict[int, list[Recipient]]:
    """Active people to tell per patient: the care team (plus the clinic's other clinicians).

    A patient without an active clinician in their care team (registered without an
    invite, or whose physiotherapist left) is in the unassigned-patients queue: every
    active admin hears about their alerts, and so do the clinicians of their clinic if
    they have one, from the first message on. Nobody is left out silently.
    """
    ids = set(patient_ids)
    if not ids:
        return {}
    care: dict[int, set[int]] = {pid: set() for pid in ids}
    clinic: dict[int, set[int]] = {pid: set() for pid in ids}
    active = col(User.is_active).is_(True) & (User.role == Role.CLINICIAN)
    care_team = (
        select(CareTeamMember.patient_id, CareTeamMember.clinician_id)
        .join(User, col(User.id) == CareTeamMember.clinician_id)
        .where(col(CareTeamMember.patient_id).in_(ids), active)
    )
    for patient_id, clinician_id in session.exec(care_team).all():
        care[patient_id].add(clinician_id)
    unassigned = {pid for pid in ids if not care[pid]}
    clinic_of = ids if include_clinic else unassigned
    if clinic_of:
        members = (
            select(Patient.id, ClinicMember.user_id)
            .join(ClinicMember, col(ClinicMember.clinic_id) == Patient.clinic_id)
            .join(User, col(User.id) == ClinicMember.user_id)
            .where(col(Patient.id).in_(clinic_of), active)
        )
        for member_of, user_id in session.exec(members).all():
            clinic[int(member_of or 0)].add(user_id)
    admins: list[int] = []
    if unassigned:
        found = session.exec(select(User.id).where(User.role == Role.ADMIN, col(User.is_active).is_(True))).all()
        admins = sorted(i for i in found if i is not None)
    return {
        pid: [Recipient(u, Audience.CARE_TEAM) for u in sorted(care[pid])]
        + [Recipient(u, Audience.CLINIC, pid in unassigned) for u in sorted(clinic[pid] - care[pid])]
        + ([Recipient(u, Audience.UNASSIGNED_QUEUE, True) for u in admins] if pid in unassigned else [])
        for pid in ids
    }


def _draft(alert: Alert, recipient: Recipient, round_number: int) -> NotificationDraft:
    tier = Tier(alert.tier)
    trigger = _TRIGGERS.get(alert.rule, alert.rule)
    words = tier.value.replace("_", " ")
    if recipient.audience is Audience.CARE_TEAM:
        reminder = " (reminder: not yet acknowledged)" if round_number > 0 else ""
        title = _TIER_TITLES.get(tier, "A patient in your care has a new alert") + reminder
        body = f"Alert {alert.rule}: {trigger}. Open it to review and acknowledge."
    elif recipient.audience is Audience.UNASSIGNED_QUEUE:
        title = f"Unassigned patient: {words} alert, no physiotherapist follows them"
        body = (
            f"Alert {alert.rule} ({trigger}) for a patient with no care team. Open the unassigned-patients "
            "queue and assign a physiotherapist now, so that someone clinical acts on it."
        )
    elif recipient.patient_unassigned:
        title = f"{words.capitalize()} alert for a patient of your clinic with no physiotherapist"
        body = (
            f"Alert {alert.rule} ({trigger}) for a patient of your clinic who has no care team in Backstep. "
            "An administrator assigns a physiotherapist from the unassigned-patients queue; please make sure "
            "someone in your clinic acts on it now."
        )
    else:
        title = f"Unacknowledged {words} alert in your clinic"
        body = (
            f"Alert {alert.rule} ({trigger}) for a patient of your clinic has not been acknowledged by "
            "their care team. Please make sure someone in the care team acts on it now."
        )
    return NotificationDraft(
        user_id=recipient.user_id,
        kind=NotificationKind.CARE_TEAM_ALERT,
        title=title,
        body=body,
        patient_id=alert.patient_id,
        alert_id=alert.id,
        safety=tier in URGENT_TIERS,
        occurrence_key=f"alert:{alert.id}:round:{round_number}:user:{recipient.user_id}",
        data={
            "alert_id": alert.id,
            "patient_id": alert.patient_id,
            "rule": alert.rule,
            "tier": alert.tier,
            "round": round_number,
            "care_team": recipient.in_care_team,
            "audience": recipient.audience.value,
        },
    )


def queue_messages(
    session: Session, rounds: Sequence[tuple[Alert, int]], now: datetime, *, include_clinic: bool = False
) -> int:
    """Queue the messages of the given (alert, round) pairs; the number queued. Counters untouched."""
    if not rounds:
        return 0
    recipients = recipients_by_patient(session, {a.patient_id for a, _ in rounds}, include_clinic=include_clinic)
    return len(enqueue_notifications(session, messages_for(rounds, recipients), now))


def messages_for(
    rounds: Sequence[tuple[Alert, int]], recipients: Mapping[int, Sequence[Recipient]]
) -> list[NotificationDraft]:
    """The messages of the given (alert, round) pairs to each patient's ``recipients``."""
    drafts = []
    for alert, round_number in rounds:
        assert alert.id is not None
        users = recipients.get(alert.patient_id, [])
        if not users:
            # Nobody at all (no care team, no clinic colleague, no active admin): the patient's
            # advice says so (api.escalation.evaluation reads what was queued), and this is an
            # operational emergency for whoever runs the service.
            _log.error("alert_has_no_recipients", alert_id=alert.id, patient_id=alert.patient_id)
        drafts += [_draft(alert, recipient, round_number) for recipient in users]
    return drafts


def notify_alerts(session: Session, alerts: Sequence[Alert], now: datetime, *, include_clinic: bool = False) -> int:
    """Queue the next round of messages for each alert; the number of messages queued.

    The round is the alert's ``notify_count``; afterwards ``notify_count`` is one more and
    ``last_notified_at`` is ``now`` (the re-notification delay counts from here).
    """
    rounds = [(alert, alert.notify_count) for alert in alerts]
    for alert in alerts:
        alert.last_notified_at = now
        alert.notify_count += 1
        session.add(alert)
    queued = queue_messages(session, rounds, now, include_clinic=include_clinic)
    session.flush()
    return queued


def notify_care_team(
    session: Session, alert: Alert, now: datetime, round_number: int, *, include_clinic: bool = False
) -> int:
    """Queue round ``round_number`` of messages about ``alert``; the number queued."""
    alert.notify_count = round_number
    return notify_alerts(session, [alert], now, include_clinic=include_clinic)


def notify_if_due(session: Session, alerts: Sequence[Alert], now: datetime) -> int:
    """Tell the care team about escalated or reopened alerts of a notified tier."""
    return notify_alerts(session, [a for a in alerts if Tier(a.tier) in NOTIFIED_TIERS], now)


def notify_opened(session: Session, alerts: Sequence[Alert], now: datetime) -> int:
    """Round 0 for alerts inserted with their counters already set (``notify_count`` 1)."""
    return queue_messages(session, opened_rounds(alerts), now)


def opened_rounds(alerts: Sequence[Alert]) -> list[tuple[Alert, int]]:
    """The (alert, round 0) pairs ``notify_opened`` queues: alerts of a notified tier."""
    return [(a, 0) for a in alerts if Tier(a.tier) in NOTIFIED_TIERS]
